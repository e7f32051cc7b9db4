"""Plain values the ledger works with: account keys, postings and staged rows. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from giftflow.errors import InvalidAmount, UnbalancedTransaction
from giftflow.ledger.accounts import classify
from giftflow.money.assets import get_asset


@dataclass(frozen=True, slots=True, order=True)
class AccountKey:
    """One balance row: an account path in one asset, in one shard (0 unless sharded)."""

    path: str
    asset: str
    shard: int = 0


@dataclass(frozen=True, slots=True)
class Posting:
    """Move ``amount`` (minor units of ``asset``) from ``source`` to ``destination``."""

    source: str
    destination: str
    asset: str
    amount: int

    def validate(self) -> None:
        get_asset(self.asset)
        if type(self.amount) is not int or not 0 < self.amount < 2**63:
            raise InvalidAmount("Posting amounts are positive 64-bit integers.", amount=self.amount)
        if self.source == self.destination:
            raise UnbalancedTransaction(
                "A posting needs two different accounts.", account=self.source
            )
        classify(self.source)
        classify(self.destination)


def validate_postings(postings: list[Posting]) -> None:
    if not postings:
        raise UnbalancedTransaction("A transaction needs at least one posting.")
    if len(postings) > 100:
        raise UnbalancedTransaction("A transaction has at most 100 postings.")
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
    memo: str | None = None
    meta: dict[str, Any] | None = None
    reverses_id: int | None = None
    policy_version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
