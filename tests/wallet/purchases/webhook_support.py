"""Shared helpers of the wallet's end-to-end webhook tests (Stripe and the App Store).

The real app (``open_api``) with the real sink (``PurchaseEvents``), the real verifiers and the
real ``StripeProvider``; only Stripe's HTTP API is faked, in process, by ``StripeStub`` (built on
``tests/payments``' ``FakeStripeHTTP``), so no test touches the network.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select

from giftflow.payments.stripe_provider import StripeProvider
from giftflow.schema import payment_events
from tests.payments.stripe_support import WEBHOOK_SECRET, encode, event, sign
from tests.payments.test_stripe_provider import (
    API_KEY,
    FakeStripeHTTP,
    intent,
    refund_object,
    stripe_error,
)

from .conftest import WalletApi

OpenApi = Callable[..., Any]


# --- the app, whatever provider --------------------------------------------------------------
def app_state(api: WalletApi) -> Any:
    """``app.state`` of the running app (``giftflow``: the AppContext, ``payment_sink``)."""
    return api.client.app.state  # type: ignore[attr-defined]


def stored_events(api: WalletApi) -> list[dict[str, Any]]:
    """Every row of ``payment_events``, read straight from the database."""
    engine = app_state(api).giftflow.engine
    with engine.connect() as conn:
        rows = conn.execute(select(payment_events).order_by(payment_events.c.received_at))
        return [dict(r) for r in rows.mappings()]


def count_events(api: WalletApi) -> int:
    engine = app_state(api).giftflow.engine
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(payment_events)).scalar_one())


def get_purchase(api: WalletApi, purchase: Mapping[str, Any]) -> dict[str, Any]:
    r = api.client.get(f"/v1/purchases/{purchase['id']}", headers=api.user(purchase["user_id"]))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def state_of(api: WalletApi, purchase: Mapping[str, Any]) -> str:
    return str(get_purchase(api, purchase)["state"])


def frozen(api: WalletApi, user_id: str) -> bool:
    r = api.client.get("/v1/wallet", headers=api.user(user_id))
    assert r.status_code == 200, r.text
    return bool(r.json()["frozen"])


def amount(purchase: Mapping[str, Any], field: str) -> int:
    """An amount of a purchase body (``price``, ``store_fee``, ``coins``) in minor units."""
    return int(purchase[field]["amount"])


# --- Stripe ----------------------------------------------------------------------------------
def pi_id(purchase_id: int | str) -> str:
    """The PaymentIntent id the stub gives the purchase."""
    return f"pi_gf{purchase_id}"


class StripeStub(FakeStripeHTTP):
    """Stripe's API as the wallet uses it, answered by route rather than from a queue.

    ``POST /v1/payment_intents`` answers a PaymentIntent ``pi_gf<purchase id>`` (read from the
    ``purchase-<id>`` Idempotency-Key, so a retry gets the same one, as from Stripe) for the
    amount and currency asked; ``POST /v1/refunds`` answers a succeeded Refund. Every request is
    recorded (``requests``). Thread-safe: the provider is called from worker threads.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.refund_failures = 0  # the next refunds Stripe answers with a 500

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        form = {k: v[0] for k, v in parse_qs(post_data or "", keep_blank_values=True).items()}
        key = dict(headers or {}).get("Idempotency-Key", "")
        path = urlsplit(url).path
        answer: tuple[int, dict[str, Any]]
        if method == "post" and path == "/v1/payment_intents" and key.startswith("purchase-"):
            pi = pi_id(key.removeprefix("purchase-"))
            body = intent(pi, f"{pi}_secret_test")
            body.update(
                amount=int(form["amount"]),
                currency=form["currency"],
                metadata={"purchase_id": form["metadata[purchase_id]"]},
            )
            answer = (200, body)
        elif method == "post" and path == "/v1/refunds" and self.refund_failures > 0:
            self.refund_failures -= 1
            answer = (500, stripe_error("api_error", None, "Stripe is having a bad day"))
        elif method == "post" and path == "/v1/refunds":
            answer = (200, {**refund_object(), "amount": int(form["amount"])})
        else:
            answer = (404, stripe_error("invalid_request_error", "resource_missing", path))
        with self._lock:
            self.responses.append(answer)
            return super().request(method, url, headers, post_data, _usage=_usage)

    def calls(self, path: str) -> list[dict[str, str]]:
        """The forms of the recorded requests to ``path``, each with its Idempotency-Key."""
        return [
            {**r.form, "Idempotency-Key": r.headers.get("Idempotency-Key", "")}
            for r in self.requests
            if urlsplit(r.url).path == path
        ]


@dataclass
class StripeWallet:
    """The wallet app with Stripe configured, its stub, and Stripe-shaped deliveries."""

    api: WalletApi
    stub: StripeStub

    def now(self) -> int:
        return int(self.api.clock.now().timestamp())

    def buy(self, user_id: str, idem: str, pack: int = 70) -> dict[str, Any]:
        """A web purchase paid with Stripe: 201 pending, its PaymentIntent from the stub."""
        r = self.api.buy(user_id, idem, pack=pack, channel="web", provider="stripe", card=None)
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        assert body["state"] == "pending"
        assert body["provider_ref"] == pi_id(body["id"])
        assert body["client_secret"] == f"{pi_id(body['id'])}_secret_test"
        return body

    def deliver(
        self,
        payload: bytes,
        *,
        secret: str = WEBHOOK_SECRET,
        signed_at: int | None = None,
        body: bytes | None = None,
    ) -> httpx.Response:
        """POST ``body`` (default: ``payload``) signed over ``payload`` at ``signed_at``
        (default: the app clock's now) with ``secret``."""
        header = sign(payload, secret, self.now() if signed_at is None else signed_at)
        response: httpx.Response = self.api.client.post(
            "/v1/webhooks/stripe",
            content=payload if body is None else body,
            headers={"Content-Type": "application/json", "Stripe-Signature": header},
        )
        return response

    def outcome(self, payload: bytes) -> str:
        """Deliver a correctly signed ``payload``: 200, and what the wallet did with it."""
        r = self.deliver(payload)
        assert r.status_code == 200, r.text
        assert r.json()["received"] is True
        return str(r.json()["outcome"])


def succeeded(
    purchase: Mapping[str, Any],
    event_id: str,
    *,
    amount_received: int | None = None,
    currency: str = "usd",
    ref: str | None = None,
    metadata_purchase_id: str | None = "purchase",
) -> bytes:
    """``payment_intent.succeeded`` for the purchase's PaymentIntent (or ``ref``), for its
    price unless ``amount_received`` says otherwise."""
    price = amount(purchase, "price")
    received = price if amount_received is None else amount_received
    metadata: dict[str, str] = {"user_id": purchase["user_id"]}
    if metadata_purchase_id == "purchase":
        metadata["purchase_id"] = str(purchase["id"])
    elif metadata_purchase_id is not None:
        metadata["purchase_id"] = metadata_purchase_id
    pi = ref or str(purchase["provider_ref"])
    obj = {
        "id": pi,
        "object": "payment_intent",
        "amount": price,
        "amount_received": received,
        "automatic_payment_methods": {"enabled": True},
        "client_secret": f"{pi}_secret_test",
        "currency": currency,
        "description": f"{amount(purchase, 'coins')} coins",
        "latest_charge": f"ch_{pi}",
        "metadata": metadata,
        "status": "succeeded",
    }
    return encode(event("payment_intent.succeeded", obj, event_id))


def charge_refunded(
    purchase: Mapping[str, Any], event_id: str, *, amount_refunded: int | None = None
) -> bytes:
    """``charge.refunded`` of the purchase's charge (by default refunded in full)."""
    price = amount(purchase, "price")
    pi = str(purchase["provider_ref"])
    obj = {
        "id": f"ch_{pi}",
        "object": "charge",
        "amount": price,
        "amount_captured": price,
        "amount_refunded": price if amount_refunded is None else amount_refunded,
        "currency": "usd",
        "metadata": {"purchase_id": str(purchase["id"]), "user_id": purchase["user_id"]},
        "payment_intent": pi,
        "refunded": amount_refunded is None or amount_refunded == price,
        "status": "succeeded",
    }
    return encode(event("charge.refunded", obj, event_id))


def dispute_event(
    purchase: Mapping[str, Any], event_id: str, *, closed: bool = False, status: str = ""
) -> bytes:
    """``charge.dispute.created`` (or ``.closed`` with ``status``) for the purchase's charge."""
    pi = str(purchase["provider_ref"])
    obj = {
        "id": f"dp_{pi}",
        "object": "dispute",
        "amount": amount(purchase, "price"),
        "charge": f"ch_{pi}",
        "currency": "usd",
        "metadata": {},
        "payment_intent": pi,
        "reason": "fraudulent",
        "status": status or ("lost" if closed else "needs_response"),
    }
    kind = "charge.dispute.closed" if closed else "charge.dispute.created"
    return encode(event(kind, obj, event_id))


@contextmanager
def open_stripe(open_api: OpenApi, profile: str = "standard") -> Iterator[StripeWallet]:
    """The app with Stripe configured; once it has started, its Stripe provider talks to a
    ``StripeStub`` instead of api.stripe.com."""
    with open_api(profile, stripe_api_key=API_KEY, stripe_webhook_secret=WEBHOOK_SECRET) as api:
        stub = StripeStub()
        payments = app_state(api).giftflow.payments
        assert "stripe" in payments  # offered: both settings are there
        payments["stripe"] = StripeProvider(API_KEY, http_client=stub)
        yield StripeWallet(api, stub)
