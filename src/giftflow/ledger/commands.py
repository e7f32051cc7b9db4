"""Ledger commands: what callers submit to the writer. Each applies itself to a batch's book.

A command's ``apply`` returns the JSON body of its success, or raises a ``GiftflowError`` for a
business refusal; the writer turns either into the stored, replayable outcome. Features add their
own commands (a gift, a purchase credit) by subclassing ``Command``; nothing here knows them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Connection

from giftflow.ledger.book import Book
from giftflow.ledger.idempotency import IdempotencyRequest
from giftflow.ledger.model import AccountKey, Posting, StagedTransaction, validate_postings
from giftflow.ledger.views import posting_view, transaction_view


@dataclass(slots=True)
class BatchContext:
    """What a command sees while it applies: the book, the batch's connection and the time."""

    book: Book
    conn: Connection
    now: datetime


class Command(ABC):
    """One unit of work for the ledger writer; validated on construction, applied in a batch."""

    kind: ClassVar[str]
    success_status: ClassVar[int] = 201

    def __init__(self, *, idempotency: IdempotencyRequest | None = None) -> None:
        self.idempotency = idempotency

    def account_hints(self, book: Book) -> Iterable[AccountKey]:
        """Accounts to lock up front with the rest of the batch (others load on demand)."""
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
        memo: str | None = None,
        meta: dict[str, Any] | None = None,
        txn_kind: str = "transfer",
        policy_version: str | None = None,
        idempotency: IdempotencyRequest | None = None,
    ) -> None:
        super().__init__(idempotency=idempotency)
        validate_postings(postings)
        self.postings = postings
        self.memo = memo
        self.meta = meta
        self.txn_kind = txn_kind
        self.policy_version = policy_version

    def account_hints(self, book: Book) -> Iterable[AccountKey]:
        for p in self.postings:
            yield book.key_for(p.source, p.asset)
            yield book.key_for(p.destination, p.asset)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        txn = ctx.book.post(
            self.txn_kind,
            self.postings,
            memo=self.memo,
            meta=self.meta,
            policy_version=self.policy_version,
        )
        return staged_view(txn)
