"""Provider webhooks: verify, normalise, hand to the registered sink.

``POST /v1/webhooks/stripe`` takes no credentials: the ``Stripe-Signature`` header is the proof.
The route reads the raw body (``await request.body()``; the request-limits middleware has checked
size and strict JSON and passes the bytes through unchanged, which the signature needs), verifies
and maps it in ``stripe_webhooks.verify_stripe_event`` with the signing secret from the settings
and "now" from the app's clock, and awaits ``app.state.payment_sink.handle(event)``.

Answers:

- 200 ``{"received": true, "outcome": ...}`` for every verified event, with the sink's outcome
  (``credited``, ``duplicate``, ``unknown_purchase``, ``ignored``, ...): a replay or an event that
  changes nothing is still received, so Stripe stops retrying it;
- 400 ``invalid_signature`` (missing, malformed or wrong signature, tampered body, timestamp
  outside 300 s) or ``invalid_json``: the sink is never called;
- 422 ``unknown_provider`` when no signing secret is configured (``GIFTFLOW_STRIPE_WEBHOOK_SECRET``
  is empty): Stripe webhooks are then not offered here (a client error rather than a 5xx, since
  nothing the caller can retry will change it until the operator configures the secret);
- 503 ``unavailable`` when no event sink is registered (the wallet is not wired in), and whatever
  the sink raises (``overloaded``, ``ledger_write_failed``...): Stripe retries those.

The app context is read from ``request.app.state.giftflow`` rather than through
``giftflow.context.get_context``: the import contract keeps ``giftflow.context`` out of
``giftflow.payments``.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field

from giftflow.clock import Clock
from giftflow.errors import UnknownProvider, WriterUnavailable
from giftflow.payments.events import EventSink
from giftflow.payments.stripe_webhooks import HANDLED_TYPES, verify_stripe_event
from giftflow.settings import Settings

log = logging.getLogger("giftflow.payments")

router = APIRouter(prefix="/v1/webhooks", tags=["payments"])


class WebhookReceived(BaseModel):
    """A verified event was received (and stored by the sink, once)."""

    received: Literal[True]
    outcome: str = Field(
        description="What the event did: e.g. `credited`, `duplicate`, `unknown_purchase`, "
        "`ignored`.",
        examples=["credited"],
    )


STRIPE_EVENT_BODY: dict[str, Any] = {
    "required": True,
    "description": (
        "A Stripe event exactly as Stripe sends it (the raw bytes are signed). Acted on: "
        + ", ".join(f"`{t}`" for t in HANDLED_TYPES)
        + "; any other type is received and ignored."
    ),
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "title": "StripeEvent",
                "required": ["id", "type", "data"],
                "properties": {
                    "id": {"type": "string", "examples": ["evt_1PzX"]},
                    "object": {"type": "string", "const": "event"},
                    "type": {"type": "string", "examples": ["payment_intent.succeeded"]},
                    "created": {"type": "integer"},
                    "data": {
                        "type": "object",
                        "required": ["object"],
                        "properties": {"object": {"type": "object"}},
                    },
                },
            }
        }
    },
}


def _secret_and_now(request: Request) -> tuple[str, int]:
    """The signing secret from the settings and the app clock's Unix time."""
    ctx: Any = request.app.state.giftflow  # giftflow.context.AppContext
    settings: Settings = ctx.settings
    clock: Clock = ctx.clock
    if not settings.stripe_webhook_secret:
        log.warning("a Stripe webhook arrived, but GIFTFLOW_STRIPE_WEBHOOK_SECRET is not set")
        raise UnknownProvider(
            "Stripe webhooks are not configured on this server "
            "(GIFTFLOW_STRIPE_WEBHOOK_SECRET is empty).",
            provider="stripe",
            missing_setting="GIFTFLOW_STRIPE_WEBHOOK_SECRET",
        )
    return settings.stripe_webhook_secret, int(clock.now().timestamp())


def _sink(request: Request) -> EventSink:
    sink: EventSink | None = getattr(request.app.state, "payment_sink", None)
    if sink is None:
        raise WriterUnavailable(
            "Payment events cannot be applied yet: no event sink is registered.",
            reason="no_payment_sink",
        )
    return sink


@router.post(
    "/stripe",
    response_model=WebhookReceived,
    summary="Receive a Stripe webhook",
    openapi_extra={"requestBody": STRIPE_EVENT_BODY},
    responses={
        400: {
            "description": "`invalid_signature`: the Stripe-Signature header is missing or does "
            "not verify (wrong secret, changed body, timestamp outside 300 s); or "
            "`invalid_json`. Nothing changes."
        },
        422: {
            "description": "`unknown_provider`: no Stripe signing secret is configured here "
            "(GIFTFLOW_STRIPE_WEBHOOK_SECRET)."
        },
        500: {
            "description": "`internal_error`, or `ledger_write_failed` while applying the "
            "event: Stripe retries, and the retry is applied once."
        },
        503: {
            "description": "`unavailable` (no event sink is registered) or `overloaded` (the "
            "ledger writer is at capacity): Stripe retries."
        },
    },
)
async def stripe_webhook(
    request: Request,
    stripe_signature: Annotated[
        str,
        Header(
            alias="Stripe-Signature",
            description="`t=<unix time>,v1=<hex HMAC-SHA256>`: always sent by Stripe; "
            "without it the answer is 400 `invalid_signature`.",
        ),
    ] = "",
) -> WebhookReceived:
    """A signed Stripe event: verified, normalised and applied once by the wallet.

    Point a Stripe webhook endpoint here (see docs/payments.md). Every verified event is answered
    200, a replay included, so Stripe stops retrying it.
    """
    secret, now = _secret_and_now(request)
    raw_body = await request.body()
    event = verify_stripe_event(raw_body, stripe_signature, secret, now=now)
    result = await _sink(request).handle(event)
    log.info("stripe event %s (%s): %s", event.event_id, event.event_type, result.outcome)
    return WebhookReceived(received=True, outcome=result.outcome)
