"""Reversals: the only way to undo a transaction is a new one that moves every posting back."""

from __future__ import annotations

from typing import Any

from giftflow.errors import AlreadyReversed, NotFound, NotReversible
from giftflow.ledger.commands import BatchContext, Command, staged_view
from giftflow.ledger.idempotency import IdempotencyRequest
from giftflow.ledger.repository import load_transaction, reversal_of

# Transactions owned by a state machine are undone through it (void a pending transfer), not here.
IRREVERSIBLE_KINDS = frozenset(
    {"reversal", "pending", "pending_post", "pending_void", "pending_expire"}
)


class ReverseTransaction(Command):
    kind = "reverse"

    def __init__(
        self, txn_id: int, *, memo: str | None = None, idempotency: IdempotencyRequest | None = None
    ) -> None:
        super().__init__(idempotency=idempotency)
        self.txn_id = txn_id
        self.memo = memo

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        original = load_transaction(ctx.conn, self.txn_id)
        if original is None:
            raise NotFound("No such transaction.", id=str(self.txn_id))
        if original["kind"] in IRREVERSIBLE_KINDS:
            raise NotReversible(
                f"A {original['kind']} transaction cannot be reversed.", id=str(self.txn_id)
            )
        memo_key = ("ledger.reversed", self.txn_id)
        existing = ctx.book.memo.get(memo_key) or reversal_of(ctx.conn, self.txn_id)
        if existing:
            raise AlreadyReversed(id=str(self.txn_id), reversal=str(existing))
        book = ctx.book
        postings = [
            (
                book.account_by_id(p["credit_account_id"]),
                book.account_by_id(p["debit_account_id"]),
                p["asset"],
                p["amount"],
            )
            for p in original["postings"]
        ]
        txn = book.post(
            "reversal",
            postings,
            memo=self.memo or f"reversal of {self.txn_id}",
            reverses_id=self.txn_id,
            policy_version=original["policy_version"],
        )
        book.remember(memo_key, txn.id)
        return staged_view(txn)
