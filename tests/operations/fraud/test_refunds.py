"""A refund or chargeback right after heavy gifting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.operations.fraud.conftest import FraudApi, OpenFraud, rules

REFUNDS = {"within_hours": 48, "min_gifted_coins": 100}


def gift(api: FraudApi, sender: str, live: str, count: int, idem: str) -> str:
    r = api.gift(sender, live, "rose", count, idem=idem)
    assert r.status_code == 201, r.text
    txn: str = r.json()["transaction_id"]
    return txn


def chargeback(api: FraudApi, purchase_id: str, idem: str) -> None:
    r = api.client.post(
        f"/v1/admin/purchases/{purchase_id}/dispute",
        json={"action": "open"},
        headers=api.admin(idem),
    )
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "charged_back"


def only_flag(api: FraudApi) -> dict[str, Any]:
    [flag] = api.flags.list(kind="refund_after_gifting")
    return flag


def test_a_chargeback_after_heavy_gifting_is_flagged_once(open_fraud: OpenFraud) -> None:
    with open_fraud(rules(refunds=REFUNDS)) as api:
        api.creator("star")
        live = api.start("star")
        api.person("buyer")
        api.person("light")
        bought = api.buy("buyer", 350, "buy-1")
        light = api.buy("light", 350, "buy-2")
        g1 = gift(api, "buyer", live, 60, "g1")
        g2 = gift(api, "buyer", live, 40, "g2")  # 100 coins gifted: the threshold
        gift(api, "light", live, 99, "l1")  # a coin short
        api.clock.advance(timedelta(hours=47))
        chargeback(api, bought["id"], "cb-1")
        chargeback(api, light["id"], "cb-2")

        assert api.flags.scan_moving_nothing() == 1
        flag = only_flag(api)
        assert flag["users"] == ["buyer", "star"] and flag["subject"] == "buyer"
        d = flag["details"]
        assert d["user"] == "buyer" and d["event"]["type"] == "chargeback"
        assert d["event"]["at"] == "2026-01-02T23:00:00Z"
        assert d["purchase"]["id"] == bought["id"] and d["purchase"]["provider"] == "sandbox"
        assert d["purchase"]["coins"]["amount"] == 350
        assert d["purchase"]["price"] == {"asset": "USD", "amount": 420, "display": "4.20"}
        assert d["gifted"]["coins"] == {"asset": "COIN", "amount": 100, "display": "100"}
        assert d["gifted"]["transactions"] == sorted([g1, g2], key=int)
        assert d["recipients"][0]["user"] == "star"
        # the event's transaction is the chargeback itself
        txn = api.client.get(
            f"/v1/admin/transactions/{d['event']['transaction_id']}", headers=api.admin()
        ).json()
        assert txn["kind"] == "purchase_dispute"
        assert txn["metadata"] == {"purchase": bought["id"]}

        assert api.flags.scan_moving_nothing() == 0
        api.flags.forget_checkpoint()
        assert api.flags.scan_moving_nothing() == 0


def test_a_refund_after_gifting_but_not_gifting_too_long_before(open_fraud: OpenFraud) -> None:
    with open_fraud(rules(refunds=REFUNDS)) as api:
        api.creator("star")
        live = api.start("star")
        for user in ("quick", "slow"):
            api.person(user)
            api.buy(user, 350, f"{user}-1")
            gift(api, user, live, 75, f"{user}-gift-1")
            gift(api, user, live, 75, f"{user}-gift-2")
        api.clock.advance(timedelta(hours=1))
        second = {user: api.buy(user, 70, f"{user}-2") for user in ("quick", "slow")}

        def refund(user: str) -> None:
            r = api.client.post(
                f"/v1/purchases/{second[user]['id']}/refund",
                json={"reason": "changed my mind"},
                headers=api.user(user) | {"Idempotency-Key": f"{user}-refund"},
            )
            assert r.status_code == 200, r.text

        refund("quick")  # an untouched lot, refunded an hour after 150 coins of gifts
        assert api.flags.scan_moving_nothing() == 1
        flag = only_flag(api)
        assert flag["details"]["user"] == "quick"
        assert flag["details"]["event"]["type"] == "refund"
        assert flag["details"]["purchase"]["id"] == second["quick"]["id"]
        assert flag["details"]["gifted"]["coins"]["amount"] == 150

        api.clock.advance(timedelta(hours=47, seconds=1))  # 48 h and 1 s after the gifts
        refund("slow")
        assert api.flags.scan_moving_nothing() == 0
        assert len(api.flags.list()) == 1
