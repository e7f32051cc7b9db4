"""A withdrawal right after a payout method was added or changed, under the shipped defaults
(``standard``: 72 hours; methods cool off for 48)."""

from __future__ import annotations

from datetime import timedelta

from tests.operations.fraud.conftest import Flags, OpenW

D = 2_000_00  # 2,000 diamonds: $10.00 under standard


def test_a_withdrawal_soon_after_a_new_method_is_flagged_once(open_w: OpenW) -> None:
    with open_w("standard") as w:
        flags = Flags(w)
        fresh = w.ready("fresh", 5_000_00, email="fresh@example.com")  # method added at t0
        r = w.withdraw(fresh, "w-fresh", diamonds=D)  # 48 h (and a few steps) later
        assert r.status_code == 201, r.text
        wid = r.json()["id"]

        before = w.money("fresh")
        assert flags.scan_moving_nothing() == 1
        assert w.money("fresh") == before and w.state(wid) == "requested"
        [flag] = flags.list(kind="withdrawal_after_method_change")
        assert flag["users"] == ["fresh"] and flag["subject"] == "fresh"
        d = flag["details"]
        assert d["withdrawal"]["id"] == wid and d["withdrawal"]["transaction_id"] == wid
        assert d["withdrawal"]["method_id"] == fresh.method_id
        assert d["withdrawal"]["gross"] == {"asset": "USD", "amount": 1000, "display": "10.00"}
        assert d["withdrawal"]["diamonds"]["amount"] == D
        [change] = d["method_changes"]
        assert change["method_id"] == fresh.method_id and change["change"] == "added"
        assert change["at"] == "2026-01-01T00:01:00Z"  # after the enrolment's two code steps
        assert change["used_by_withdrawal"] is True
        assert 48 * 60 <= change["minutes_before"] < 49 * 60
        assert change["masked"] != "fresh@example.com" and change["kind"] == "paypal"
        assert d["thresholds"] == {"within_hours": 72}
        assert d["policy_version"] == "standard@1"

        assert flags.scan_moving_nothing() == 0
        flags.forget_checkpoint()
        assert flags.scan_moving_nothing() == 0

        # another creator waits out the 72 hours after adding a method: no flag
        settled = w.ready("settled", 5_000_00, email="settled@example.com")
        w.api.clock.advance(timedelta(hours=24))  # 72 h and a few 30-second steps after
        r = w.withdraw(settled, "w-settled", diamonds=D)
        assert r.status_code == 201, r.text
        assert flags.scan_moving_nothing() == 0
        assert len(flags.list()) == 1


def test_a_changed_method_counts_as_a_change(open_w: OpenW) -> None:
    with open_w("standard") as w:
        flags = Flags(w)
        c = w.ready("mover", 5_000_00, email="old@example.com")
        w.api.clock.advance(timedelta(days=30))
        r = w.api.client.put(
            f"/v1/payout-methods/{c.method_id}",
            json={"kind": "paypal", "email": "new@example.com", "totp": w.code(c.secret)},
            headers=w.api.user("mover"),
        )
        assert r.status_code == 200, r.text
        w.api.clock.advance(timedelta(hours=48))  # its cooling-off starts again
        r = w.withdraw(c, "w-mover", diamonds=D)
        assert r.status_code == 201, r.text
        assert flags.scan_moving_nothing() == 1
        [flag] = flags.list()
        changes = flag["details"]["method_changes"]
        assert [ch["change"] for ch in changes] == ["changed"]
        assert changes[0]["method_id"] == c.method_id
