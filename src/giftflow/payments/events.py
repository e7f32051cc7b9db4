"""What a provider told us, verified and normalised, and who applies it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class EventKind(StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    REFUNDED = "refunded"  # the provider returned the money to the buyer
    DISPUTE_OPENED = "dispute_opened"  # a chargeback: the money is taken back now
    DISPUTE_WON = "dispute_won"  # the money comes back
    DISPUTE_LOST = "dispute_lost"  # final: it stays gone
    CONSUMPTION_REQUEST = "consumption_request"  # App Store asks about a refund request
    IGNORED = "ignored"  # verified, stored for audit, nothing to do


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    provider: str  # "stripe", "appstore", "sandbox"
    event_id: str  # the provider's id of the event (dedup key)
    event_type: str  # the provider's own type, e.g. "payment_intent.succeeded"
    kind: EventKind
    provider_ref: str | None  # the payment the event is about (PaymentIntent id, appAccountToken)
    purchase_id: int | None  # when the provider echoes our purchase id (metadata)
    amount_minor: int | None
    currency: str | None
    payload: str  # the verified raw body, kept for audit
    # the card's fingerprint when the provider reports it (Stripe: the charge's
    # payment_method_details.card.fingerprint); the wallet stores it on the purchase
    payment_fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class EventResult:
    """How an event was applied: ``outcome`` is stored with the event, e.g. ``credited``,
    ``duplicate``, ``no_longer_possible``, ``unknown_purchase``."""

    outcome: str
    purchase_id: int | None = None


class EventSink(Protocol):
    """Applies verified provider events (the wallet's purchases service implements it).

    Must be idempotent by ``(provider, event_id)``: a duplicate answers ``duplicate``.
    """

    async def handle(self, event: ProviderEvent) -> EventResult: ...
