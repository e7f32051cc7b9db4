"""Plain values the ledger works with: account keys, postings, staged rows, states. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from giftflow.errors import AmountLimitExceeded, InvalidAmount, UnbalancedTransaction
from giftflow.ledger.accounts import check_account, check_coin_movement
from giftflow.money.amounts import MAX_AMOUNT
from giftflow.money.assets import get_asset

MAX_POSTINGS = 100


class TxnKind(StrEnum):
    """Kinds of transaction the ledger itself writes (features add their own strings)."""

    TRANSFER = "transfer"
    PENDING = "pending"
    PENDING_POST = "pending_post"
    PENDING_VOID = "pending_void"
    PENDING_EXPIRE = "pending_expire"
    REVERSAL = "reversal"


@dataclass(frozen=True, slots=True, order=True)
class AccountKey:
    """One balance row: an account path in one asset, in one shard (0 unless sharded)."""

    path: str
    asset: str
    shard: int = 0


@dataclass(frozen=True, slots=True, order=True)
class ShardSet:
    """Every shard row of a sharded account: what a debit of it may draw from."""

    path: str
    asset: str


AccountRef = AccountKey | ShardSet | int  # a key, all shards of an account, or a row id


@dataclass(frozen=True, slots=True)
class Posting:
    """Move ``amount`` (minor units of ``asset``) from ``source`` to ``destination``."""

    source: str
    destination: str
    asset: str
    amount: int

    def validate(self) -> None:
        """Refuse what the chart or the limits forbid, before anything is queued."""
        unit = get_asset(self.asset)
        if type(self.amount) is not int or self.amount <= 0:
            raise InvalidAmount("Posting amounts are positive integers.", amount=self.amount)
        if self.amount > MAX_AMOUNT:
            raise AmountLimitExceeded(
                f"An amount is at most {MAX_AMOUNT} minor units.",
                amount=self.amount,
                maximum=MAX_AMOUNT,
            )
        if self.source == self.destination:
            raise UnbalancedTransaction(
                "A posting needs two different accounts.", account=self.source
            )
        check_account(self.source, unit.code, unit.kind)
        check_account(self.destination, unit.code, unit.kind)
        check_coin_movement(self.source, self.destination, unit.code)


def validate_postings(postings: list[Posting]) -> None:
    if not postings:
        raise UnbalancedTransaction("A transaction needs at least one posting.")
    if len(postings) > MAX_POSTINGS:
        raise UnbalancedTransaction(f"A transaction has at most {MAX_POSTINGS} postings.")
    for p in postings:
        p.validate()


@dataclass(slots=True)
class AccountState:
    """A locked balance row inside a batch, with its balance running as commands apply."""

    id: int
    key: AccountKey
    may_go_negative: bool
    balance: int
    committed_balance: int


@dataclass(frozen=True, slots=True)
class StagedPosting:
    seq: int
    asset: str
    amount: int
    debit: AccountState
    credit: AccountState


@dataclass(slots=True)
class StagedTransaction:
    id: int
    kind: str
    created_at: datetime
    postings: list[StagedPosting]
    policy_version: str
    memo: str | None = None
    meta: dict[str, Any] | None = None
    reverses_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
