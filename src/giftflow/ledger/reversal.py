"""Reversals: the only way to undo a transaction is a new one that moves every posting back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from giftflow.errors import AlreadyReversed, NotFound, NotReversible
from giftflow.ledger.batch_repository import StoredTransaction
from giftflow.ledger.commands import BatchContext, Command, staged_view
from giftflow.ledger.model import AccountRef, Posting, TxnKind

# Only operators' transfers are reversed here. Every other transaction belongs to a state
# machine (a pending transfer, a purchase and its lot, a gift) whose own rows would no longer
# match the ledger if its postings were simply moved back: those are undone through it (void the
# pending transfer, refund the purchase), and a reversal itself is final.
REVERSIBLE_KINDS = frozenset({TxnKind.TRANSFER})


class ReverseTransaction(Command):
    """Move every posting of a transaction back, once, under the policy it was computed under.

    The reversal names accounts by path, so a debit of a sharded revenue or fee account draws on
    whichever shards hold the value, not only the row the original credited.
    """

    kind = "reverse"

    def __init__(self, txn_id: int, *, memo: str | None = None) -> None:
        self.txn_id = txn_id
        self.memo = memo

    def _postings(self, ctx: BatchContext, original: StoredTransaction) -> list[Posting]:
        paths = ctx.repo.account_paths(
            [i for p in original.postings for i in (p.debit_account_id, p.credit_account_id)]
        )
        return [
            Posting(paths[p.credit_account_id], paths[p.debit_account_id], p.asset, p.amount)
            for p in original.postings
        ]

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        original = ctx.repo.load_transaction(self.txn_id)
        if original is None:
            return
        for p in self._postings(ctx, original):
            yield ctx.book.debit_ref(p.source, p.asset)
            yield ctx.book.key_for(p.destination, p.asset)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        original = ctx.repo.load_transaction(self.txn_id)
        if original is None:
            raise NotFound("No such transaction.", id=str(self.txn_id))
        if original.kind not in REVERSIBLE_KINDS:
            raise NotReversible(
                f"A {original.kind} transaction cannot be reversed.", id=str(self.txn_id)
            )
        memo_key = ("ledger.reversed", self.txn_id)
        existing = ctx.book.memo.get(memo_key) or ctx.repo.reversal_of(self.txn_id)
        if existing:
            raise AlreadyReversed(id=str(self.txn_id), reversal=str(existing))
        txn = ctx.book.post(
            TxnKind.REVERSAL,
            self._postings(ctx, original),
            memo=self.memo or f"reversal of {self.txn_id}",
            reverses_id=self.txn_id,
            policy_version=original.policy_version or "unrecorded",
        )
        ctx.book.remember(memo_key, txn.id)
        return staged_view(txn)
