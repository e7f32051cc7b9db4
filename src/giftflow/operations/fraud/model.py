"""What the fraud detectors read and what they propose (pure values, no SQL, no HTTP).

The repository turns rows into these; the detectors (``detectors.py``) turn them into
``FlagDraft``s; the repository inserts the drafts, once per ``dedupe_key``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class FlagKind(StrEnum):
    GIFTING_RING = "gifting_ring"
    NEW_ACCOUNT_BURST = "new_account_burst"
    REFUND_AFTER_GIFTING = "refund_after_gifting"
    SHARED_PAYMENT_FINGERPRINT = "shared_payment_fingerprint"
    WITHDRAWAL_AFTER_METHOD_CHANGE = "withdrawal_after_method_change"


class FlagState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Resolution(StrEnum):
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


@dataclass(frozen=True, slots=True)
class Gift:
    """One gift transaction: ``sender``'s coins bought ``recipient``'s diamonds."""

    txn_id: int
    at: datetime
    sender: str
    recipient: str
    coins: int


@dataclass(frozen=True, slots=True, order=True)
class NewEdge:
    """``sender`` gifted ``recipient`` in the scanned range: first and last time."""

    sender: str
    recipient: str
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True, slots=True)
class RefundEvent:
    """A purchase's coins taken back: giftflow's refund, the provider's own refund, or a
    chargeback (dispute) — the ledger transaction that did it."""

    txn_id: int
    txn_kind: str  # purchase_refund | purchase_provider_refund | purchase_dispute
    at: datetime
    purchase_id: int
    user_id: str
    coins: int
    bonus_coins: int
    price_minor: int
    currency: str
    provider: str


@dataclass(frozen=True, slots=True)
class PaidPurchase:
    """A purchase that was paid (it has a ``succeeded_at``), with its payment fingerprint."""

    id: int
    user_id: str
    at: datetime  # succeeded_at
    price_minor: int
    currency: str
    provider: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class WithdrawalRequest:
    id: int
    user_id: str
    method_id: int
    at: datetime
    diamonds: int
    gross_minor: int
    currency: str
    state: str


@dataclass(frozen=True, slots=True)
class MethodChange:
    """A payout method added (``created_at``) or changed (its last ``updated_at`` that was not
    its removal)."""

    method_id: int
    user_id: str
    kind: str
    masked: str
    change: str  # added | changed
    at: datetime


@dataclass(frozen=True, slots=True)
class FlagDraft:
    """A signal for an operator: what the detector saw, with the evidence in ``details``."""

    kind: FlagKind
    dedupe_key: str
    subject: str
    users: list[str]
    details: dict[str, Any] = field(default_factory=dict)


class FraudReader(Protocol):
    """The reads the detectors need (the repository implements it on one connection)."""

    def gifts_sent_by(self, users: Iterable[str], start: datetime, end: datetime) -> list[Gift]:
        """Gifts sent by ``users`` with ``start <= at <= end``."""
        ...

    def users_created(self, users: Iterable[str]) -> Mapping[str, datetime]:
        """When the platform created each user (unknown users are absent)."""
        ...

    def purchases_with_fingerprint(
        self, fingerprint: str, start: datetime, end: datetime
    ) -> list[PaidPurchase]:
        """Paid purchases with this fingerprint, paid within ``[start, end]``."""
        ...

    def method_changes(self, users: Iterable[str]) -> list[MethodChange]:
        """Every payout method of ``users``: when it was added and when last changed."""
        ...
