"""Buying coins through the API: SPEC §10 examples, declines, idempotency, who may buy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from giftflow.errors import WriterUnavailable
from giftflow.ledger.idempotency import Outcome
from giftflow.wallet.purchases.commands import ConfirmPurchase


def err(r: Any) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def test_a_refund_of_an_untouched_lot_after_an_older_one_keeps_fifo_exact(open_api: Any) -> None:
    """Refunding a later lot closes its gap: spending continues into the lots that remain."""
    with open_api("seed-002") as api:
        api.buyer("f1")
        a = api.buy("f1", "a", pack=70).json()
        b = api.buy("f1", "b", pack=350).json()
        c = api.buy("f1", "c", pack=700).json()
        r = api.client.post(
            f"/v1/purchases/{b['id']}/refund",
            json={"reason": "x"},
            headers=api.user("f1") | {"Idempotency-Key": "rb"},
        )
        assert r.status_code == 200, r.text
        assert "Idempotent-Replayed" not in r.headers
        again = api.client.post(
            f"/v1/purchases/{b['id']}/refund",
            json={"reason": "x"},
            headers=api.user("f1") | {"Idempotency-Key": "rb"},
        )
        assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
        assert again.json() == r.json()
        assert api.spend("f1", 100).status == 201  # 70 from a, 30 from c
        left = {
            p["id"]: p["remaining_coins"]
            for p in api.client.get("/v1/purchases", headers=api.user("f1")).json()["data"]
        }
        assert left == {a["id"]: 0, b["id"]: 0, c["id"]: 670}
        api.assert_clean()


def test_declined_card_fails_the_purchase_and_moves_nothing(open_api: Any) -> None:
    with open_api("standard") as api:
        api.buyer("d1")
        r = api.buy("d1", "k", pack=70, card={"number": "4000 0000 0000 0002"})
        assert err(r) == (402, "payment_declined")
        again = api.buy("d1", "k", pack=70, card={"number": "4000 0000 0000 0002"})
        assert again.json() == r.json()
        assert "Idempotent-Replayed" not in r.headers
        assert again.headers["Idempotent-Replayed"] == "true"
        listed = api.client.get("/v1/purchases", headers=api.user("d1")).json()["data"]
        assert [p["state"] for p in listed] == ["failed"]
        assert api.coins("d1") == {}
        api.assert_clean()


def test_the_same_request_twice_is_one_purchase(open_api: Any) -> None:
    with open_api("standard") as api:
        api.buyer("i1")
        one = api.buy("i1", "same", pack=70)
        two = api.buy("i1", "same", pack=70)
        assert one.status_code == two.status_code == 201
        assert one.json()["id"] == two.json()["id"]
        assert "Idempotent-Replayed" not in one.headers
        assert two.headers["Idempotent-Replayed"] == "true"
        other = api.buy("i1", "same", pack=350)
        assert err(other) == (409, "idempotency_key_reused")
        assert len(api.client.get("/v1/purchases", headers=api.user("i1")).json()["data"]) == 1
        assert api.coins("i1") == {"user:i1:coins": 70}


def test_who_may_buy(open_api: Any) -> None:
    with open_api("standard") as api:
        api.buyer("kid", birth_date="2015-06-01")
        assert err(api.buy("kid", "k1", pack=70)) == (409, "age_restricted")
        api.client.put("/v1/users/nobirth", json={"region": "US"}, headers=api.platform())
        r = api.buy("nobirth", "k2", pack=70)
        assert err(r) == (409, "age_restricted")
        assert r.json()["error"]["details"]["reason"] == "age_unknown"
        assert err(api.buy("ghost", "k3", pack=70)) == (422, "user_not_found")
        api.buyer("v")
        assert err(api.buy("v", "k4", pack=71)) == (422, "unknown_pack")
        r = api.buy("v", "k5", pack=70, coins=70)
        assert err(r) == (422, "validation_error")
        assert api.coins("kid") == {} and api.coins("v") == {}


def test_the_wallet_shows_coins_by_kind_and_each_lot(open_api: Any) -> None:
    with open_api("seed-002") as api:
        api.buyer("w")
        old = api.buy("w", "a", pack=70).json()
        api.clock.advance(timedelta(days=10))
        new = api.buy("w", "b", pack=350).json()
        api.grant("user:w:coins:bonus", 4, "g")
        assert api.spend("w", 10).status == 201  # 4 bonus, then 6 paid from the oldest lot
        wallet = api.client.get("/v1/wallet", headers=api.user("w")).json()
        assert {k: v["amount"] for k, v in wallet["coins"].items()} == {
            "bonus": 0,
            "exchanged": 0,
            "paid": 414,
        }
        assert wallet["frozen"] is False
        lots = {lot["purchase_id"]: lot for lot in wallet["lots"]}
        assert (lots[old["id"]]["remaining"], lots[old["id"]]["refundable"]) == (64, False)
        assert lots[old["id"]]["not_refundable_because"] == "spent"
        assert (lots[new["id"]]["remaining"], lots[new["id"]]["refundable"]) == (350, True)
        assert lots[new["id"]]["refundable_until"] == "2026-01-25T00:00:00Z"
        api.clock.advance(timedelta(days=15))
        wallet = api.client.get("/v1/wallet", headers=api.user("w")).json()
        # the same order of reasons as the refund itself: the window first
        assert [lot["not_refundable_because"] for lot in wallet["lots"]] == [
            "window_passed",
            "window_passed",
        ]


def test_a_purchase_the_ledger_cannot_credit_fails_instead_of_staying_pending(
    open_api: Any,
) -> None:
    """The sandbox's synchronous confirmation used to ignore a refused credit: the answer was
    201 "pending" and nothing would ever confirm or fail the purchase."""
    with open_api("standard") as api:
        api.buyer("full")
        api.grant("user:full:coins", 10**14, "fill")  # the most one balance may hold
        bought = api.buy("full", "b", pack=70)
        assert err(bought) == (402, "payment_declined")
        reason = bought.json()["error"]["details"]["reason"]
        assert reason == "credit_refused:amount_limit_exceeded"
        [row] = api.client.get("/v1/purchases", headers=api.user("full")).json()["data"]
        assert (row["state"], row["id"]) == (
            "failed",
            bought.json()["error"]["details"]["purchase"],
        )
        assert api.coins("full") == {"user:full:coins": 10**14}
        assert api.balance("platform:cash:sandbox", "USD") == 0
        again = api.buy("full", "b", pack=70)  # the retry answers the same
        assert again.json() == bought.json()
        api.assert_clean()


def test_a_confirmation_the_writer_cannot_take_is_a_503_and_the_key_completes_it(
    open_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 503 keeps its Retry-After and is not a replay; the same request later confirms."""
    with open_api("seed-002") as api:
        api.buyer("u1")
        ctx = api.client.app.state.giftflow
        real = ctx.submit

        async def busy_for_confirmations(command: Any, idem: Any = None) -> Outcome:
            if isinstance(command, ConfirmPurchase):
                return Outcome.from_error(WriterUnavailable("busy"))
            answer: Outcome = await real(command, idem)
            return answer

        monkeypatch.setattr(ctx, "submit", busy_for_confirmations)
        for attempt in range(2):
            r = api.buy("u1", "k", pack=70)
            assert err(r) == (503, "unavailable"), attempt
            assert r.headers["Retry-After"] == "2"
            assert "Idempotent-Replayed" not in r.headers
        [pending] = api.client.get("/v1/purchases", headers=api.user("u1")).json()["data"]
        assert pending["state"] == "pending" and api.coins("u1") == {}
        monkeypatch.setattr(ctx, "submit", real)
        done = api.buy("u1", "k", pack=70)
        assert (done.status_code, done.json()["state"]) == (201, "succeeded")
        assert done.json()["id"] == pending["id"]
        assert api.coins("u1") == {"user:u1:coins": 70}
        api.assert_clean()
