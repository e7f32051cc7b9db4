"""Payment fingerprints: stored on every purchase without the card number, and many accounts
paying with one of them raise a flag."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from giftflow.payments.sandbox import card_fingerprint, fingerprint_key
from giftflow.payments.stripe_webhooks import to_provider_event
from giftflow.schema import purchases
from tests.api.conftest import SECRET
from tests.operations.fraud.conftest import FraudApi, OpenFraud, rules
from tests.payments.stripe_support import encode, event
from tests.wallet.purchases.conftest import open_api
from tests.wallet.purchases.webhook_support import OpenApi, app_state, open_stripe, succeeded

__all__ = ["open_api"]

CARD = "4242424242424242"
OTHER_CARD = "4000000000000259"  # succeeds too (a chargeback may follow)
FINGERPRINTS = {"min_users": 3, "window_days": 30}


def buy(api: FraudApi, user: str, idem: str, card: str = CARD, coins: int = 70) -> Any:
    return api.client.post(
        "/v1/purchases",
        json={"channel": "app", "coins": coins, "card": {"number": card}},
        headers=api.user(user) | {"Idempotency-Key": idem},
    )


def stored(api: FraudApi) -> dict[str, tuple[str | None, str]]:
    """Every purchase's fingerprint and state, by id, as the database holds them."""
    with api.ctx.engine.connect() as conn:
        rows = conn.execute(
            select(purchases.c.id, purchases.c.payment_fingerprint, purchases.c.state)
        ).all()
    return {str(r.id): (r.payment_fingerprint, r.state) for r in rows}


def test_the_fingerprint_is_a_keyed_hash_never_the_card(open_fraud: OpenFraud) -> None:
    with open_fraud() as api:
        api.person("ava")
        ok = buy(api, "ava", "a1")
        assert ok.status_code == 201, ok.text
        again = buy(api, "ava", "a2", card="4242 4242 4242 4242")
        other = buy(api, "ava", "a3", card=OTHER_CARD)
        declined = buy(api, "ava", "a4", card="4000 0000 0000 0002")
        assert declined.status_code == 402, declined.text
        rows = stored(api)
        fp = rows[ok.json()["id"]][0]
        assert fp is not None and len(fp) == 32 and int(fp, 16) >= 0
        assert fp == card_fingerprint(SECRET, CARD)  # keyed with the server's secret
        assert fp != card_fingerprint("another-server-secret-0123456789", CARD)
        assert CARD not in fp
        assert rows[again.json()["id"]][0] == fp  # spaces do not change the card
        assert rows[other.json()["id"]][0] not in (None, fp)
        declined_id = declined.json()["error"]["details"]["purchase"]
        assert rows[declined_id] == (card_fingerprint(SECRET, "4000000000000002"), "failed")
        # the number appears nowhere: not in the rows, not in what the API shows
        with api.ctx.engine.connect() as conn:
            everything = json.dumps([list(r) for r in conn.execute(select(purchases))], default=str)
        assert CARD not in everything and "4000000000000259" not in everything
        shown = api.client.get(f"/v1/purchases/{ok.json()['id']}", headers=api.user("ava"))
        assert CARD not in shown.text


def test_the_key_is_the_secrets_key_else_the_jwt_secret() -> None:
    assert fingerprint_key("first-key-0123456789,old-key-0123456789", "jwt") == (
        "first-key-0123456789"
    )
    assert fingerprint_key("", "jwt-secret") == "jwt-secret"
    assert fingerprint_key("", "") is None


def test_stripe_reports_the_card_fingerprint() -> None:
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": "pi_1",
        "payment_method_details": {"type": "card", "card": {"fingerprint": "Xt5EWLLDS7FJjR1c"}},
    }
    event = to_provider_event(
        {"id": "evt_1", "object": "event", "type": "charge.succeeded", "data": {"object": charge}},
        "{}",
    )
    assert (event.payment_fingerprint, event.provider_ref) == ("Xt5EWLLDS7FJjR1c", "pi_1")
    intent = {
        "id": "pi_1",
        "object": "payment_intent",
        "amount_received": 84,
        "currency": "usd",
        "latest_charge": charge,
    }
    event = to_provider_event(
        {
            "id": "evt_2",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {"object": intent},
        },
        "{}",
    )
    assert event.payment_fingerprint == "Xt5EWLLDS7FJjR1c"
    unexpanded = {**intent, "latest_charge": "ch_1"}
    event = to_provider_event(
        {
            "id": "evt_3",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {"object": unexpanded},
        },
        "{}",
    )
    assert event.payment_fingerprint is None
    odd = {**charge, "payment_method_details": {"card": {"fingerprint": "x" * 65}}}
    event = to_provider_event(
        {"id": "evt_4", "object": "event", "type": "charge.succeeded", "data": {"object": odd}},
        "{}",
    )
    assert event.payment_fingerprint is None


def test_three_accounts_on_one_card_are_flagged_once(open_fraud: OpenFraud) -> None:
    with open_fraud(rules(fingerprints=FINGERPRINTS)) as api:
        for user in ("u1", "u2", "u3", "u4"):
            api.person(user)
        first = buy(api, "u1", "p1").json()
        buy(api, "u1", "p1b")  # the same user again still counts once
        second = buy(api, "u2", "p2").json()
        buy(api, "u4", "p4", card=OTHER_CARD)  # another card
        assert api.flags.scan_moving_nothing() == 0  # two users: below the threshold

        api.clock.advance(timedelta(days=29))
        third = buy(api, "u3", "p3").json()
        assert api.flags.scan_moving_nothing() == 1
        [flag] = api.flags.list(kind="shared_payment_fingerprint")
        assert flag["users"] == ["u1", "u2", "u3"] and flag["subject"] == "u1, u2, u3"
        d = flag["details"]
        assert d["fingerprint"] == card_fingerprint(SECRET, CARD)
        assert d["user_count"] == 3 and d["purchases_total"] == 4
        assert [p["user"] for p in d["purchases"]] == ["u1", "u1", "u2", "u3"]
        assert d["purchases"][0]["id"] == first["id"] and d["purchases"][2]["id"] == second["id"]
        assert d["purchases"][-1] == {
            "id": third["id"],
            "user": "u3",
            "provider": "sandbox",
            "price": {"asset": "USD", "amount": 84, "display": "0.84"},
            "paid_at": "2026-01-30T00:00:00Z",
        }
        assert d["by_user"][0]["user"] == "u1" and d["by_user"][0]["purchases"] == 2
        assert d["by_user"][0]["paid"] == [{"asset": "USD", "amount": 168, "display": "1.68"}]

        assert api.flags.scan_moving_nothing() == 0
        api.flags.forget_checkpoint()
        assert api.flags.scan_moving_nothing() == 0


def test_payments_further_apart_than_the_window_do_not_count(open_fraud: OpenFraud) -> None:
    with open_fraud(rules(fingerprints=FINGERPRINTS)) as api:
        for user in ("u1", "u2", "u3"):
            api.person(user)
        buy(api, "u1", "p1")
        buy(api, "u2", "p2")
        api.clock.advance(timedelta(days=30, seconds=1))
        buy(api, "u3", "p3")
        assert api.flags.scan_moving_nothing() == 0


def test_stripe_fingerprints_are_stored_from_the_webhooks(open_api: OpenApi) -> None:
    with open_stripe(open_api) as s:
        s.api.buyer("sam")
        bought = s.buy("sam", "s1")
        pi = bought["provider_ref"]
        charge = {
            "id": f"ch_{pi}",
            "object": "charge",
            "payment_intent": pi,
            "status": "succeeded",
            "payment_method_details": {"type": "card", "card": {"fingerprint": "Xt5EWLLDS7FJjR1c"}},
        }
        assert s.outcome(encode(event("charge.succeeded", charge, "evt_charge"))) == "ignored"
        assert s.outcome(succeeded(bought, "evt_paid")) == "credited"
        with app_state(s.api).giftflow.engine.connect() as conn:
            fp = conn.execute(
                select(purchases.c.payment_fingerprint).where(purchases.c.id == int(bought["id"]))
            ).scalar_one()
        assert fp == "Xt5EWLLDS7FJjR1c"
