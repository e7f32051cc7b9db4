"""Stripe-shaped test material: signed deliveries and events built the way Stripe builds them.

The signature is computed here from scratch (HMAC-SHA256 of ``"<t>.<raw body>"`` with the
endpoint secret, hex), not with stripe's own helper, so the tests check the verifier against the
published scheme rather than against itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

WEBHOOK_SECRET = "whsec_test_0123456789abcdefghijklmnopqrstuv"
OTHER_SECRET = "whsec_test_someone_else_entirely_0123456789"
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z, the FrozenClock's default start


def signature(body: bytes, secret: str, timestamp: int) -> str:
    """The hex ``v1`` signature of ``body`` signed at ``timestamp``."""
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int = NOW) -> str:
    """The ``Stripe-Signature`` header Stripe would send with ``body``."""
    return f"t={timestamp},v1={signature(body, secret, timestamp)}"


def encode(event: dict[str, Any]) -> bytes:
    """An event as Stripe sends it: pretty-printed JSON, UTF-8."""
    return json.dumps(event, indent=2, ensure_ascii=False).encode()


def event(event_type: str, obj: dict[str, Any], event_id: str = "evt_1Test") -> dict[str, Any]:
    """A snapshot event wrapping ``obj`` (``data.object``)."""
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": NOW,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": "purchase-42"},
        "type": event_type,
    }


def payment_intent(
    pi_id: str = "pi_3Test",
    *,
    purchase_id: str | None = "42",
    amount: int = 499,
    amount_received: int = 499,
    currency: str = "usd",
    status: str = "succeeded",
) -> dict[str, Any]:
    metadata = {"user_id": "alice"}
    if purchase_id is not None:
        metadata["purchase_id"] = purchase_id
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount_received,
        "automatic_payment_methods": {"enabled": True},
        "client_secret": f"{pi_id}_secret_abc",
        "currency": currency,
        "description": "500 coins",
        "latest_charge": "ch_3Test",
        "metadata": metadata,
        "status": status,
    }


def charge(
    *, payment_intent: Any = "pi_3Test", amount_refunded: int = 499, refunded: bool = True
) -> dict[str, Any]:
    return {
        "id": "ch_3Test",
        "object": "charge",
        "amount": 499,
        "amount_captured": 499,
        "amount_refunded": amount_refunded,
        "currency": "usd",
        "metadata": {"purchase_id": "42", "user_id": "alice"},
        "payment_intent": payment_intent,
        "refunded": refunded,
        "status": "succeeded",
    }


def dispute(*, status: str = "needs_response", amount: int = 499) -> dict[str, Any]:
    return {
        "id": "dp_1Test",
        "object": "dispute",
        "amount": amount,
        "charge": "ch_3Test",
        "currency": "usd",
        "metadata": {},
        "payment_intent": "pi_3Test",
        "reason": "fraudulent",
        "status": status,
    }
