"""Gifting rings: users gifting each other in a cycle above the policy's coins per edge."""

from __future__ import annotations

from datetime import timedelta

from tests.operations.fraud.conftest import FraudApi, OpenFraud, rules


def streamer(api: FraudApi, user_id: str, coins: int) -> str:
    """A creator who also gifts: coins to spend and a live of their own; the live's id."""
    api.creator(user_id)
    api.grant(f"user:{user_id}:coins", coins, f"grant-{user_id}")
    return api.start(user_id)


def roses(api: FraudApi, sender: str, live: str, count: int, idem: str) -> str:
    """``count`` roses (1 coin each) in one send; the gift's transaction id."""
    r = api.gift(sender, live, "rose", count, idem=idem)
    assert r.status_code == 201, r.text
    txn: str = r.json()["transaction_id"]
    return txn


def test_a_two_way_ring_is_flagged_once_and_not_below_the_threshold(
    open_fraud: OpenFraud,
) -> None:
    with open_fraud(rules(rings={"min_coins": 100, "window_hours": 24})) as api:
        live = {u: streamer(api, u, 1000) for u in ("ann", "ben", "cat", "dan")}
        # ann ⇄ ben: 60 + 40 coins one way, 100 the other — every edge reaches 100
        a1 = roses(api, "ann", live["ben"], 60, "a1")
        a2 = roses(api, "ann", live["ben"], 40, "a2")
        b1 = roses(api, "ben", live["ann"], 100, "b1")
        # cat ⇄ dan: one edge a coin short
        roses(api, "cat", live["dan"], 100, "c1")
        roses(api, "dan", live["cat"], 99, "d1")

        assert api.flags.scan_moving_nothing() == 1
        [flag] = api.flags.list(kind="gifting_ring")
        assert flag["object"] == "flag" and flag["state"] == "open"
        assert flag["users"] == ["ann", "ben"] and flag["subject"] == "ann → ben → ann"
        d = flag["details"]
        assert d["cycle"] == ["ann", "ben"] and d["length"] == 2
        assert d["users"] == ["ann", "ben"] and d["policy_version"] == "seed-002@2"
        ann_ben, ben_ann = d["edges"]
        assert (ann_ben["from"], ann_ben["to"]) == ("ann", "ben")
        assert ann_ben["coins"] == {"asset": "COIN", "amount": 100, "display": "100"}
        assert ann_ben["gifts"] == 2 and ann_ben["transactions"] == sorted([a1, a2], key=int)
        assert (ben_ann["from"], ben_ann["to"], ben_ann["transactions"]) == ("ben", "ann", [b1])
        assert ben_ann["coins"]["amount"] == 100
        assert d["total_coins"]["amount"] == 200
        assert d["thresholds"]["min_coins_per_edge"]["amount"] == 100
        assert d["window"] == {"from": "2025-12-31T00:00:00Z", "to": "2026-01-01T00:00:00Z"}

        # scanning again, or from scratch, raises nothing new
        assert api.flags.scan_moving_nothing() == 0
        api.flags.forget_checkpoint()
        assert api.flags.scan_moving_nothing() == 0
        assert len(api.flags.list()) == 1


def test_a_three_way_ring_within_the_window(open_fraud: OpenFraud) -> None:
    with open_fraud(rules(rings={"min_coins": 50, "window_hours": 2, "max_length": 3})) as api:
        live = {u: streamer(api, u, 500) for u in ("xia", "yan", "zoe", "old")}
        x = roses(api, "xia", live["yan"], 50, "x")
        y = roses(api, "yan", live["zoe"], 50, "y")
        # the closing edge: zoe → xia, an hour later (still within two hours)
        api.clock.advance(timedelta(hours=1))
        z = roses(api, "zoe", live["xia"], 50, "z")
        # a three-way cycle whose first edge is older than the window does not count
        roses(api, "old", live["xia"], 50, "o1")
        api.clock.advance(timedelta(hours=2, minutes=1))
        roses(api, "xia", live["zoe"], 50, "o2")  # xia → zoe → … needs zoe → old → xia …
        roses(api, "zoe", live["old"], 50, "o3")  # … and old → xia is 3 h 1 min old now

        assert api.flags.scan_moving_nothing() == 1
        [flag] = api.flags.list()
        assert flag["kind"] == "gifting_ring"
        assert flag["details"]["cycle"] == ["xia", "yan", "zoe"]
        assert flag["subject"] == "xia → yan → zoe → xia"
        assert [(e["from"], e["to"], e["transactions"]) for e in flag["details"]["edges"]] == [
            ("xia", "yan", [x]),
            ("yan", "zoe", [y]),
            ("zoe", "xia", [z]),
        ]
        assert api.flags.scan_moving_nothing() == 0


def test_cycles_longer_than_the_policy_allows_are_not_rings(open_fraud: OpenFraud) -> None:
    with open_fraud(rules(rings={"min_coins": 10, "max_length": 2})) as api:
        live = {u: streamer(api, u, 100) for u in ("p", "q", "r")}
        roses(api, "p", live["q"], 10, "pq")
        roses(api, "q", live["r"], 10, "qr")
        roses(api, "r", live["p"], 10, "rp")
        assert api.flags.scan_moving_nothing() == 0
        assert api.flags.list() == []
