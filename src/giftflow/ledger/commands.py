"""Ledger commands: what callers submit to the writer. Each applies itself to a batch's book.

A command announces the accounts it will touch (``account_hints``: keys, shard sets or row ids,
found with unlocked reads through ``ctx.repo`` where they depend on stored rows), so the writer
can lock every row of the batch in one ordered statement. ``apply`` then returns the JSON body of
its success, or raises a ``GiftflowError`` for a business refusal; the writer turns either into the
stored, replayable outcome. Features add their own commands (a gift, a purchase credit) by
subclassing ``Command``; nothing here knows them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar

from sqlalchemy import Connection

from giftflow.ledger.batch_repository import BatchRepository
from giftflow.ledger.book import Book
from giftflow.ledger.model import AccountRef, Posting, StagedTransaction, TxnKind, validate_postings
from giftflow.ledger.views import posting_view, transaction_view


class FeatureRepository(Protocol):
    """A feature's batch repository: built on the batch's connection, the only SQL it runs."""

    def __init__(self, conn: Connection) -> None: ...


R = TypeVar("R", bound=FeatureRepository)


@dataclass(slots=True)
class BatchContext:
    """What a command sees: the book, the ledger's batch repository and the batch's time."""

    book: Book
    repo: BatchRepository
    now: datetime
    _repositories: dict[type[Any], Any] = field(default_factory=dict)

    def repository(self, cls: type[R]) -> R:
        """A feature's repository on this batch's connection (one instance per batch)."""
        found: R | None = self._repositories.get(cls)
        if found is None:
            found = self._repositories[cls] = cls(self.repo.conn)
        return found


class Command(ABC):
    """One unit of work for the ledger writer; validated on construction, applied in a batch."""

    kind: ClassVar[str]
    success_status: ClassVar[int] = 201

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        """Every account row ``apply`` will touch, locked with the rest of the batch up front.

        Anything not announced makes the writer roll the attempt back and lock the whole set
        again in order (correct, but a wasted attempt).
        """
        return ()

    @abstractmethod
    def apply(self, ctx: BatchContext) -> dict[str, Any]: ...


def staged_view(txn: StagedTransaction) -> dict[str, Any]:
    return transaction_view(
        txn_id=txn.id,
        kind=txn.kind,
        created_at=txn.created_at,
        postings=[
            posting_view(p.debit.key.path, p.credit.key.path, p.asset, p.amount)
            for p in txn.postings
        ],
        memo=txn.memo,
        reverses_id=txn.reverses_id,
        policy_version=txn.policy_version,
        meta=txn.meta,
    )


class TransferCommand(Command):
    """A balanced multi-posting transaction (operator corrections, grants, feature transfers)."""

    kind = "transfer"

    def __init__(
        self,
        postings: list[Posting],
        *,
        policy_version: str,
        memo: str | None = None,
        meta: dict[str, Any] | None = None,
        txn_kind: str = TxnKind.TRANSFER,
    ) -> None:
        validate_postings(postings)
        self.postings = postings
        self.memo = memo
        self.meta = meta
        self.txn_kind = txn_kind
        self.policy_version = policy_version

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        for p in self.postings:
            yield ctx.book.debit_ref(p.source, p.asset)
            yield ctx.book.key_for(p.destination, p.asset)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        txn = ctx.book.post(
            self.txn_kind,
            self.postings,
            memo=self.memo,
            meta=self.meta,
            policy_version=self.policy_version,
        )
        return staged_view(txn)
