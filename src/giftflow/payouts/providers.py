"""One interface for every payout provider: how a withdrawal's money reaches a creator.

A provider is told to pay ``net_minor`` of ``currency`` to a payout method's details, under the
withdrawal's id. That id is the provider's idempotency key for good (PayPal's
``sender_batch_id``): submitting the same id twice never pays twice, it answers the payout that
already exists. Recovery after a crash therefore simply submits again, or asks by the same id.

Providers know nothing of withdrawals, states or the ledger (``giftflow.earnings.withdrawals``
maps ``PayoutStatus`` to its own states and moves value); they only speak the provider's terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class PayoutStatus(StrEnum):
    """A payout item's status, in PayPal's vocabulary (the sandbox uses the same)."""

    PENDING = "PENDING"  # accepted, being processed
    UNCLAIMED = "UNCLAIMED"  # sent, the receiver has no account yet; RETURNED after 30 days
    ONHOLD = "ONHOLD"  # held by the provider for review
    SUCCESS = "SUCCESS"  # paid
    FAILED = "FAILED"  # not paid, final
    BLOCKED = "BLOCKED"  # refused by the provider's compliance, final
    DENIED = "DENIED"  # the batch was refused, final
    RETURNED = "RETURNED"  # unclaimed and given back to the sender
    REFUNDED = "REFUNDED"  # the sender took an unclaimed payout back
    REVERSED = "REVERSED"  # paid, then reversed (by the receiver's bank or the provider)


@dataclass(frozen=True, slots=True)
class PayoutRequest:
    withdrawal_id: int  # the idempotency key, for good (sender_batch_id, sender_item_id)
    user_id: str
    net_minor: int  # what the creator receives, in minor units of ``currency``
    currency: str
    method: Mapping[str, Any]  # {"kind": "paypal", "email"} or {"kind": "bank", "iban", ...}
    note: str = ""


@dataclass(frozen=True, slots=True)
class PayoutResult:
    """What the provider says about one payout now."""

    status: PayoutStatus
    provider_ref: str | None  # the provider's id of the payout (PayPal's payout_batch_id)
    failure_reason: str | None = None


@dataclass(frozen=True, slots=True)
class PayoutEvent:
    """A verified, normalised webhook event about one payout."""

    provider: str
    event_id: str  # the provider's event id: the dedup key
    event_type: str  # the provider's own type, e.g. PAYMENT.PAYOUTS-ITEM.SUCCEEDED
    withdrawal_id: int | None  # from sender_batch_id / sender_item_id when the provider echoes it
    provider_ref: str | None  # payout_batch_id
    status: PayoutStatus | None  # None: verified but nothing to apply
    payload: str  # the verified raw body, kept for audit
    failure_reason: str | None = None


class PayoutProvider(Protocol):
    name: str

    def submit(self, request: PayoutRequest) -> PayoutResult:
        """Create the payout (idempotent by ``request.withdrawal_id``): a second call with the
        same id answers the existing payout and never pays again. Raises ``ProviderError`` when
        the provider cannot be reached or answers something unexpected (retry later)."""
        ...

    def lookup(self, withdrawal_id: int, provider_ref: str | None) -> PayoutResult | None:
        """The payout's status now, found by our id (or the provider's ref when known); None if
        the provider never accepted a payout under this id. Raises ``ProviderError``."""
        ...

    def verify_event(self, headers: Mapping[str, str], body: bytes) -> PayoutEvent:
        """Check the webhook's signature and parse it; raises ``InvalidSignature``."""
        ...
