"""Stripe end to end: a purchase paid with Stripe, its signed webhooks through
``POST /v1/webhooks/stripe``, the wallet's sink and the ledger, on both databases.

Policy ``standard``, web channel: pack 70 costs 84 cents and no store takes a fee. Stripe's API
is the in-process ``StripeStub``; deliveries are signed as Stripe signs them, at the app clock's
time (the webhook's tolerance is checked against that clock).
"""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
import pytest

from giftflow.payments.events import EventResult, EventSink, ProviderEvent
from giftflow.payments.stripe_webhooks import verify_stripe_event
from giftflow.wallet.purchases.service import retry_provider_refunds
from tests.payments.stripe_support import OTHER_SECRET, WEBHOOK_SECRET, encode, event, sign

from .webhook_support import (
    OpenApi,
    StripeWallet,
    amount,
    app_state,
    charge_refunded,
    count_events,
    dispute_event,
    frozen,
    get_purchase,
    open_stripe,
    state_of,
    stored_events,
    succeeded,
)

CASH = "platform:cash:stripe"
REVENUE = "platform:revenue:coins"
FEES = "platform:fees:store"
PRICE = 84  # pack 70, web, policy "standard"


def money(s: StripeWallet) -> tuple[int, int, int]:
    """(cash at Stripe, coin revenue, store fees) in USD cents."""
    api = s.api
    return api.balance(CASH, "USD"), api.balance(REVENUE, "USD"), api.balance(FEES, "USD")


def outcomes(s: StripeWallet) -> dict[str, str]:
    return {e["event_id"]: e["outcome"] for e in stored_events(s.api)}


def test_a_signed_payment_intent_succeeded_credits_the_coins(open_api: OpenApi) -> None:
    with open_stripe(open_api) as s:
        s.api.buyer("s1")
        bought = s.buy("s1", "b1")
        assert (amount(bought, "price"), amount(bought, "store_fee")) == (PRICE, 0)
        # the PaymentIntent was asked for the price, under the purchase's idempotency key
        [created] = s.stub.calls("/v1/payment_intents")
        assert created["amount"] == str(PRICE) and created["currency"] == "usd"
        assert created["metadata[purchase_id]"] == bought["id"]
        assert created["Idempotency-Key"] == f"purchase-{bought['id']}"
        assert s.api.coins("s1") == {} and money(s) == (0, 0, 0)  # nothing before the webhook

        assert s.outcome(succeeded(bought, "evt_ok")) == "credited"

        assert s.api.coins("s1") == {"user:s1:coins": 70}
        assert money(s) == (-PRICE, PRICE, 0)  # web: no store fee
        assert s.api.balance("platform:coins:issued", "COIN") == -70
        got = s.api.client.get(f"/v1/purchases/{bought['id']}", headers=s.api.user("s1")).json()
        assert (got["state"], got["remaining_coins"]) == ("succeeded", 70)
        [stored] = stored_events(s.api)
        assert (stored["provider"], stored["event_id"], stored["event_type"]) == (
            "stripe",
            "evt_ok",
            "payment_intent.succeeded",
        )
        assert (stored["outcome"], stored["purchase_id"]) == ("credited", int(bought["id"]))
        assert stored["payload"] == succeeded(bought, "evt_ok").decode()  # the raw body, kept
        s.api.assert_clean()


@pytest.mark.parametrize("case", ["tampered_body", "wrong_secret", "stale_301s"])
def test_a_delivery_that_does_not_verify_changes_nothing(open_api: OpenApi, case: str) -> None:
    with open_stripe(open_api) as s:
        s.api.buyer("s2")
        bought = s.buy("s2", "b1")
        genuine = succeeded(bought, "evt_sig")
        if case == "tampered_body":
            forged = genuine.replace(b'"user_id": "s2"', b'"user_id": "s3"')
            assert forged != genuine
            r = s.deliver(genuine, body=forged)
            reason = "signature"
        elif case == "wrong_secret":
            r = s.deliver(genuine, secret=OTHER_SECRET)
            reason = "signature"
        else:
            r = s.deliver(genuine, signed_at=s.now() - 301)
            reason = "timestamp"

        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "invalid_signature"
        assert r.json()["error"]["details"]["reason"] == reason
        assert state_of(s.api, bought) == "pending"
        assert s.api.coins("s2") == {}
        assert money(s) == (0, 0, 0)
        assert count_events(s.api) == 0  # never reached the sink: nothing stored
        s.api.assert_clean()

        # the refused delivery did not burn the event id: Stripe's genuine one (here signed
        # 300 s ago, the edge of the tolerance) is still applied
        r = s.deliver(genuine, signed_at=s.now() - 300)
        assert r.status_code == 200 and r.json()["outcome"] == "credited", r.text
        assert s.api.coins("s2") == {"user:s2:coins": 70}


def test_the_same_event_delivered_twice_credits_once(open_api: OpenApi) -> None:
    with open_stripe(open_api) as s:
        s.api.buyer("s4")
        bought = s.buy("s4", "b1")
        delivery = succeeded(bought, "evt_twice")
        assert s.outcome(delivery) == "credited"
        assert s.outcome(delivery) == "duplicate"  # still 200: Stripe stops retrying
        assert s.api.coins("s4") == {"user:s4:coins": 70}
        assert money(s) == (-PRICE, PRICE, 0)
        assert outcomes(s) == {"evt_twice": "credited"}  # the first outcome is the one kept
        s.api.assert_clean()


class InFlight:
    """Wraps the registered sink and counts how many events it holds at once, so the test
    knows its deliveries really overlapped."""

    def __init__(self, inner: EventSink) -> None:
        self.inner = inner
        self.now = 0
        self.most = 0

    async def handle(self, event: ProviderEvent) -> EventResult:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            return await self.inner.handle(event)
        finally:
            self.now -= 1


def _concurrently_over_http(s: StripeWallet, deliveries: list[bytes]) -> list[str]:
    """POST every delivery from its own thread, released together."""
    start = threading.Barrier(len(deliveries))
    answers: list[httpx.Response | None] = [None] * len(deliveries)

    def post(i: int) -> None:
        start.wait()
        answers[i] = s.deliver(deliveries[i])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(deliveries))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    result: list[str] = []
    for r in answers:
        assert r is not None and r.status_code == 200, r.text if r is not None else "no answer"
        result.append(str(r.json()["outcome"]))
    return result


def _concurrently_through_the_sink(s: StripeWallet, deliveries: list[bytes]) -> list[str]:
    """Verify each delivery, then hand them all to the registered sink at once
    (``asyncio.gather`` on the app's own event loop)."""
    events = [
        verify_stripe_event(d, sign(d, WEBHOOK_SECRET, s.now()), WEBHOOK_SECRET, now=s.now())
        for d in deliveries
    ]
    sink = app_state(s.api).payment_sink

    async def all_at_once() -> list[EventResult]:
        return list(await asyncio.gather(*(sink.handle(e) for e in events)))

    portal: Any = s.api.client.portal
    results: list[EventResult] = portal.call(all_at_once)
    return [r.outcome for r in results]


@pytest.mark.parametrize("route", ["http_threads", "sink_gather"])
@pytest.mark.parametrize("ids", ["same_id", "different_ids"])
def test_concurrent_succeeded_deliveries_credit_once(
    open_api: OpenApi, route: str, ids: str
) -> None:
    with open_stripe(open_api) as s:
        s.api.buyer("s5")
        bought = s.buy("s5", "b1")
        names = ["evt_c1"] * 4 if ids == "same_id" else ["evt_c1", "evt_c2", "evt_c3", "evt_c4"]
        deliveries = [succeeded(bought, n) for n in names]
        deliver = (
            _concurrently_over_http if route == "http_threads" else _concurrently_through_the_sink
        )

        state = app_state(s.api)
        state.payment_sink = watch = InFlight(state.payment_sink)

        got = deliver(s, deliveries)

        assert watch.most >= 2  # the deliveries were in the sink at the same time

        other = "duplicate" if ids == "same_id" else "no_longer_possible"
        assert sorted(got) == ["credited", other, other, other]
        assert s.api.coins("s5") == {"user:s5:coins": 70}
        assert money(s) == (-PRICE, PRICE, 0)
        stored = outcomes(s)
        assert len(stored) == len(set(names))
        assert sorted(stored.values()) == sorted(["credited"] + [other] * (len(stored) - 1))
        s.api.assert_clean()


def test_a_refund_that_arrives_before_the_confirmation(open_api: OpenApi) -> None:
    with open_stripe(open_api) as s:
        s.api.buyer("s6")
        bought = s.buy("s6", "b1")
        assert s.outcome(charge_refunded(bought, "evt_refund")) == "refunded_before_confirmation"
        assert state_of(s.api, bought) == "refunded"
        assert s.outcome(succeeded(bought, "evt_late")) == "no_longer_possible"
        assert state_of(s.api, bought) == "refunded"
        assert s.api.coins("s6") == {}
        assert money(s) == (0, 0, 0)
        assert outcomes(s) == {
            "evt_refund": "refunded_before_confirmation",
            "evt_late": "no_longer_possible",
        }
        s.api.assert_clean()


def test_events_after_a_giftflow_refund_change_nothing(open_api: OpenApi) -> None:
    with open_stripe(open_api) as s:
        s.api.buyer("s7")
        bought = s.buy("s7", "b1")
        first = succeeded(bought, "evt_paid")
        assert s.outcome(first) == "credited"

        r = s.api.client.post(
            f"/v1/purchases/{bought['id']}/refund",
            json={"reason": "changed my mind"},
            headers=s.api.user("s7") | {"Idempotency-Key": "r1"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "refunded"
        # the ledger moved first, then Stripe was asked to pay the money back
        [refund] = s.stub.calls("/v1/refunds")
        assert refund == {
            "payment_intent": bought["provider_ref"],
            "amount": str(PRICE),
            "Idempotency-Key": f"refund-{bought['id']}",
        }
        assert s.api.coins("s7") == {}
        assert money(s) == (0, 0, 0)

        assert s.outcome(first) == "duplicate"  # Stripe redelivers the old event
        assert s.outcome(succeeded(bought, "evt_paid_again")) == "no_longer_possible"
        # and the charge.refunded Stripe sends for our own refund
        assert s.outcome(charge_refunded(bought, "evt_our_refund")) == "no_longer_possible"

        assert state_of(s.api, bought) == "refunded"
        assert s.api.coins("s7") == {}  # never credited twice
        assert money(s) == (0, 0, 0)
        assert s.api.balance("platform:coins:issued", "COIN") == 0
        assert outcomes(s) == {
            "evt_paid": "credited",
            "evt_paid_again": "no_longer_possible",
            "evt_our_refund": "no_longer_possible",
        }
        s.api.assert_clean()


def test_an_event_for_a_payment_intent_nobody_has(open_api: OpenApi) -> None:
    with open_stripe(open_api) as s:
        s.api.buyer("s8")
        bought = s.buy("s8", "b1")  # a pending purchase that must stay untouched
        nobody = succeeded(bought, "evt_nobody", ref="pi_nobody", metadata_purchase_id=None)
        assert s.outcome(nobody) == "unknown_purchase"
        # a purchase id in the metadata that no purchase has does not help either
        ghost = succeeded(bought, "evt_ghost", ref="pi_ghost", metadata_purchase_id="999999999")
        assert s.outcome(ghost) == "unknown_purchase"

        stored = {e["event_id"]: e for e in stored_events(s.api)}
        assert set(stored) == {"evt_nobody", "evt_ghost"}
        for name, body in (("evt_nobody", nobody), ("evt_ghost", ghost)):
            row = stored[name]
            assert (row["outcome"], row["purchase_id"]) == ("unknown_purchase", None)
            assert row["payload"] == body.decode()  # kept for audit
        assert s.outcome(nobody) == "duplicate"  # stored, so deduplicated like any other
        assert state_of(s.api, bought) == "pending"
        assert s.api.coins("s8") == {}
        assert money(s) == (0, 0, 0)
        s.api.assert_clean()


def test_a_dispute_after_some_coins_were_spent(open_api: OpenApi) -> None:
    with open_stripe(open_api) as s:
        api = s.api
        api.buyer("s9")
        bought = s.buy("s9", "b1")
        assert s.outcome(succeeded(bought, "evt_paid")) == "credited"
        assert api.spend("s9", 30).status == 201  # gifted away

        assert s.outcome(dispute_event(bought, "evt_dispute")) == "charged_back"

        owed = PRICE * 30 // 70  # the spent coins' value at the lot's (net) price: 36 cents
        assert owed == 36
        assert api.coins("s9") == {}  # the 40 still there were removed
        assert api.balance("platform:receivable:s9", "USD") == -owed
        assert money(s) == (0, owed, 0)  # the money left cash; revenue keeps the spent part
        assert api.balance("platform:coins:issued", "COIN") == -30  # still in circulation
        assert state_of(api, bought) == "disputed"
        assert frozen(api, "s9") is True
        assert api.spend("s9", 1).error_code == "account_frozen"
        [case] = api.client.get("/v1/admin/disputes", headers=api.admin()).json()["data"]
        assert (case["state"], case["coins_removed"], case["coins_spent"]) == ("open", 40, 30)
        assert case["receivable"]["amount"] == owed
        api.assert_clean()

        # a second dispute event for the same charge changes nothing
        assert s.outcome(dispute_event(bought, "evt_dispute_2")) == "no_longer_possible"

        lost = dispute_event(bought, "evt_lost", closed=True, status="lost")
        assert s.outcome(lost) == "dispute_lost"
        # lost: nothing moves (the money left when the dispute opened), the debt stays
        assert api.coins("s9") == {}
        assert api.balance("platform:receivable:s9", "USD") == -owed
        assert money(s) == (0, owed, 0)
        assert state_of(api, bought) == "lost"
        assert frozen(api, "s9") is True
        [case] = api.client.get("/v1/admin/disputes", headers=api.admin()).json()["data"]
        assert case["state"] == "lost"
        assert outcomes(s) == {
            "evt_paid": "credited",
            "evt_dispute": "charged_back",
            "evt_dispute_2": "no_longer_possible",
            "evt_lost": "dispute_lost",
        }
        api.assert_clean()


@pytest.mark.parametrize(
    ("received", "currency"),
    [(PRICE - 1, "usd"), (PRICE + 1, "usd"), (0, "usd"), (PRICE, "eur")],
)
def test_an_amount_that_is_not_the_price_credits_nothing(
    open_api: OpenApi, received: int, currency: str
) -> None:
    with open_stripe(open_api) as s:
        s.api.buyer("s10")
        bought = s.buy("s10", "b1")
        wrong = succeeded(bought, "evt_wrong", amount_received=received, currency=currency)
        assert s.outcome(wrong) == "amount_mismatch"
        assert state_of(s.api, bought) == "pending"
        assert s.api.coins("s10") == {}
        assert money(s) == (0, 0, 0)
        assert outcomes(s) == {"evt_wrong": "amount_mismatch"}
        s.api.assert_clean()


def test_a_won_dispute_gives_everything_back(open_api: OpenApi) -> None:
    with open_stripe(open_api) as s:
        api = s.api
        api.buyer("s11")
        bought = s.buy("s11", "b1")
        assert s.outcome(succeeded(bought, "evt_paid")) == "credited"
        assert api.spend("s11", 30).status == 201
        assert s.outcome(dispute_event(bought, "evt_dispute")) == "charged_back"
        won = dispute_event(bought, "evt_won", closed=True, status="won")
        assert s.outcome(won) == "dispute_won"
        assert api.coins("s11") == {"user:s11:coins": 40}  # the removed coins, restored
        assert api.balance("platform:receivable:s11", "USD") == 0
        assert money(s) == (-PRICE, PRICE, 0)
        assert state_of(api, bought) == "won"
        assert frozen(api, "s11") is False
        assert api.spend("s11", 40).status == 201
        api.assert_clean()


def test_a_refund_stripe_made_on_its_own_after_some_coins_were_spent(open_api: OpenApi) -> None:
    with open_stripe(open_api) as s:
        api = s.api
        api.buyer("s12")
        bought = s.buy("s12", "b1")
        assert s.outcome(succeeded(bought, "evt_paid")) == "credited"
        assert api.spend("s12", 30).status == 201
        # a partial refund is left for review; nothing moves
        part = charge_refunded(bought, "evt_part", amount_refunded=40)
        assert s.outcome(part) == "partial_amount_needs_review"
        assert api.coins("s12") == {"user:s12:coins": 40}
        assert money(s) == (-PRICE, PRICE, 0)
        # the rest refunded too: the charge's total is now the price
        assert s.outcome(charge_refunded(bought, "evt_full")) == "refunded_by_provider"
        owed = PRICE * 30 // 70
        assert api.coins("s12") == {}
        assert api.balance("platform:receivable:s12", "USD") == -owed
        assert money(s) == (0, owed, 0)
        assert state_of(api, bought) == "refunded"
        assert frozen(api, "s12") is True
        api.assert_clean()


def test_a_failed_attempt_then_a_successful_one_credits_the_coins(open_api: OpenApi) -> None:
    with open_stripe(open_api) as s:
        api = s.api
        api.buyer("s13")
        bought = s.buy("s13", "b1")
        obj = json.loads(succeeded(bought, "x"))["data"]["object"]
        obj.update(amount_received=0, status="requires_payment_method")
        declined = encode(event("payment_intent.payment_failed", obj, "evt_declined"))
        s.outcome(declined)  # the first card was declined; the buyer tries another
        assert s.outcome(succeeded(bought, "evt_paid")) == "credited"
        assert api.coins("s13") == {"user:s13:coins": 70}
        assert money(s) == (-PRICE, PRICE, 0)
        api.assert_clean()


def test_a_provider_refund_that_fails_stays_due_until_the_retry_succeeds(
    open_api: OpenApi,
) -> None:
    """The ledger refund is final at once; Stripe's outage leaves the money owed to the buyer
    marked on the purchase, and the maintenance loop's retry (same idempotency key) pays it."""
    with open_stripe(open_api) as s:
        s.api.buyer("s9")
        bought = s.buy("s9", "b1")
        assert s.outcome(succeeded(bought, "evt_paid")) == "credited"
        s.stub.refund_failures = 100  # down, whatever the client's own retries
        r = s.api.client.post(
            f"/v1/purchases/{bought['id']}/refund",
            json={"reason": "changed my mind"},
            headers=s.api.user("s9") | {"Idempotency-Key": "r1"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "refunded"
        assert s.api.coins("s9") == {}
        assert money(s) == (0, 0, 0)
        assert get_purchase(s.api, bought)["provider_refund_due"] is True

        ctx = app_state(s.api).giftflow
        retry = partial(retry_provider_refunds, ctx, older_than=timedelta(minutes=1))
        portal = s.api.client.portal
        assert portal is not None  # the app is running
        asked = len(s.stub.calls("/v1/refunds"))
        assert asked >= 1
        s.stub.refund_failures = 0  # Stripe is back
        assert portal.call(retry) == 0  # too recent: the request may still be at it
        assert len(s.stub.calls("/v1/refunds")) == asked
        s.api.clock.advance(timedelta(minutes=2))
        assert portal.call(retry) == 1
        calls = s.stub.calls("/v1/refunds")
        assert len(calls) == asked + 1
        assert {c["Idempotency-Key"] for c in calls} == {f"refund-{bought['id']}"}
        assert get_purchase(s.api, bought)["provider_refund_due"] is False
        assert portal.call(retry) == 0  # nothing left to ask
        assert len(s.stub.calls("/v1/refunds")) == asked + 1
        assert money(s) == (0, 0, 0)  # the retry moves no money in the ledger
        s.api.assert_clean()
