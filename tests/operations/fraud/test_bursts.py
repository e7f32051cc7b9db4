"""Bursts from new accounts: a young account gifting more than the policy allows in a window."""

from __future__ import annotations

from datetime import timedelta

from tests.operations.fraud.conftest import FraudApi, OpenFraud, rules

BURSTS = {"account_age_hours": 24, "window_minutes": 60, "max_coins": 500, "max_gifts": 5}


def send(api: FraudApi, sender: str, live: str, count: int, idem: str, gift: str = "rose") -> str:
    r = api.gift(sender, live, gift, count, idem=idem)
    assert r.status_code == 201, r.text
    txn: str = r.json()["transaction_id"]
    return txn


def test_a_new_account_over_the_coins_is_flagged_once(open_fraud: OpenFraud) -> None:
    with open_fraud(rules(bursts=BURSTS)) as api:
        api.creator("star")
        live = api.start("star")
        api.viewer("newbie", coins=1000)  # created now: a new account
        api.viewer("steady", coins=1000)
        txns = [send(api, "newbie", live, 100, f"n{i}") for i in range(5)]  # 500: not more
        for i in range(5):
            send(api, "steady", live, 100, f"s{i}")  # exactly at both limits: no flag
        assert api.flags.scan_moving_nothing() == 0

        api.clock.advance(timedelta(minutes=30))
        txns.append(send(api, "newbie", live, 1, "n5"))  # 501 coins and 6 sends within 60 min
        assert api.flags.scan_moving_nothing() == 1
        [flag] = api.flags.list(kind="new_account_burst")
        assert flag["users"] == ["newbie", "star"] and flag["subject"] == "newbie"
        d = flag["details"]
        assert d["user"] == "newbie" and d["account_created_at"] == "2026-01-01T00:00:00Z"
        assert d["reasons"] == ["coins", "gifts"]
        assert d["burst"]["coins"] == {"asset": "COIN", "amount": 501, "display": "501"}
        assert d["burst"]["gifts"] == 6
        assert d["burst"]["transactions"] == sorted(txns, key=int)
        assert d["window"] == {"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T00:30:00Z"}
        assert d["recipients"] == [
            {
                "user": "star",
                "coins": {"asset": "COIN", "amount": 501, "display": "501"},
                "gifts": 6,
            }
        ]
        assert d["thresholds"]["max_coins"]["amount"] == 500

        # more gifts from the same account never raise a second flag
        send(api, "newbie", live, 100, "n6")
        assert api.flags.scan_moving_nothing() == 0
        api.flags.forget_checkpoint()
        assert api.flags.scan_moving_nothing() == 0


def test_many_small_gifts_count_too_and_old_accounts_are_not_new(open_fraud: OpenFraud) -> None:
    with open_fraud(rules(bursts=BURSTS)) as api:
        api.creator("star")
        live = api.start("star")
        api.viewer("veteran", coins=5000)
        api.clock.advance(timedelta(hours=24))  # veteran is a day old now
        api.viewer("clicker", coins=100)
        for i in range(20):
            send(api, "veteran", live, 100, f"v{i}")  # 2,000 coins, 20 sends: not new
        for i in range(6):
            send(api, "clicker", live, 1, f"c{i}")  # 6 coins but 6 sends
        assert api.flags.scan_moving_nothing() == 1
        [flag] = api.flags.list()
        assert flag["kind"] == "new_account_burst" and flag["details"]["user"] == "clicker"
        assert flag["details"]["reasons"] == ["gifts"]
        assert flag["details"]["burst"]["gifts"] == 6


def test_gifts_spread_wider_than_the_window_are_no_burst(open_fraud: OpenFraud) -> None:
    with open_fraud(rules(bursts=BURSTS)) as api:
        api.creator("star")
        live = api.start("star")
        api.viewer("patient", coins=2000)
        for i in range(8):
            send(api, "patient", live, 50, f"p{i}", "panda")  # 250 coins every 61 minutes
            api.clock.advance(timedelta(minutes=61))
        assert api.flags.scan_moving_nothing() == 0
