"""One interface for every payment provider, chosen per purchase."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class StartStatus(StrEnum):
    SUCCEEDED = "succeeded"  # confirmed synchronously (sandbox)
    FAILED = "failed"  # declined synchronously
    PENDING = "pending"  # the buyer still has to pay; a webhook will tell


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    purchase_id: int
    user_id: str
    amount_minor: int
    currency: str
    description: str
    card_number: str | None = None  # sandbox only


@dataclass(frozen=True, slots=True)
class PaymentStart:
    status: StartStatus
    provider_ref: str  # unique per provider: how later events find the purchase
    client_secret: str | None = None  # for the buyer's app (Stripe)
    failure_reason: str | None = None
    dispute_later: bool = False  # sandbox card 4000 0000 0000 0259
    # who paid, without the card: a keyed hash of the card (sandbox) or the provider's own
    # card fingerprint when it reports one at this point (None otherwise); see docs/fraud.md
    payment_fingerprint: str | None = None


class PaymentProvider(Protocol):
    name: str

    def start(self, request: PaymentRequest) -> PaymentStart:
        """Create the payment at the provider (idempotent by ``purchase_id``)."""
        ...

    def refund(self, provider_ref: str, amount_minor: int, currency: str, key: str) -> None:
        """Return the money to the buyer (idempotent by ``key``); raises ``ProviderError``."""
        ...
