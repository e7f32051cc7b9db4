"""Two-phase pending transfers: value reserved now, posted to its destination or voided later.

Creating one moves the amount from the source into this writer's shard of the holding account, so
it cannot be spent twice; posting moves it on to the destination, voiding moves it back. Expiry
voids a pending transfer that is still pending and past its expiry, unless it was marked
``submitted`` (handed to an outside party such as a payout provider), which expiry never touches.

States and actions are explicit (``PendingState``, ``PendingAction``) and every action checks its
guard against the row *as locked*: another process may have submitted or resolved it since the
candidate was picked, and its clock may differ from this writer's by seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from giftflow.errors import (
    InvalidAmount,
    NotFound,
    PendingTransferExpired,
    PendingTransferNotExpired,
    PendingTransferNotPending,
    PendingTransferSubmitted,
)
from giftflow.ledger.accounts import HOLDING_PENDING, check_not_mechanism
from giftflow.ledger.batch_repository import PENDING_WRITES, PendingRow, PendingState
from giftflow.ledger.commands import BatchContext, Command, staged_view
from giftflow.ledger.model import AccountRef, Posting, TxnKind
from giftflow.ledger.views import pending_view

UNRECORDED_POLICY = "unrecorded"  # pending transfers created before versions were recorded


class PendingAction(StrEnum):
    POST = "post"
    VOID = "void"
    EXPIRE = "expire"
    SUBMIT = "submit"


# action → (state it leads to, kind of the transaction it writes; None: no value moves)
TRANSITIONS: dict[PendingAction, tuple[PendingState, TxnKind | None]] = {
    PendingAction.POST: (PendingState.POSTED, TxnKind.PENDING_POST),
    PendingAction.VOID: (PendingState.VOIDED, TxnKind.PENDING_VOID),
    PendingAction.EXPIRE: (PendingState.VOIDED, TxnKind.PENDING_EXPIRE),
    PendingAction.SUBMIT: (PendingState.PENDING, None),
}


def check_transition(row: PendingRow, action: PendingAction, now: datetime) -> None:
    """The guard of ``action`` on ``row`` as locked; raises the refusal, returns if allowed."""
    if row.state is not PendingState.PENDING:
        raise PendingTransferNotPending(
            f"The pending transfer is already {row.state}.", id=str(row.id), state=row.state
        )
    expired = row.expired(now)
    if action is PendingAction.SUBMIT and expired and not row.submitted:
        raise PendingTransferExpired(id=str(row.id))
    if action is PendingAction.POST and expired and not row.submitted:
        raise PendingTransferExpired(id=str(row.id))
    if action is PendingAction.EXPIRE:
        if row.submitted:
            raise PendingTransferSubmitted(id=str(row.id))
        if not expired:
            raise PendingTransferNotExpired(
                id=str(row.id), expires_at=row.expires_at.isoformat() if row.expires_at else None
            )


def load_pending(ctx: BatchContext, pending_id: int) -> PendingRow:
    """The pending row as this batch sees it (locked on PostgreSQL), or 404."""
    cached: PendingRow | None = ctx.book.memo.get(("ledger.pending", pending_id))
    if cached is not None:
        return replace(cached)  # a copy: the memo keeps the state before this command
    row = ctx.repo.lock_pending(pending_id)
    if row is None:
        raise NotFound("No such pending transfer.", id=str(pending_id))
    return row


def _save(ctx: BatchContext, row: PendingRow, *, insert: bool = False) -> None:
    row.updated_at = ctx.now
    ctx.book.remember(("ledger.pending", row.id), row)
    ctx.book.stage(PENDING_WRITES, ("insert" if insert else "update", row))


def _view(ctx: BatchContext, row: PendingRow) -> dict[str, Any]:
    book = ctx.book
    paths = {i: book.account_by_id(i).key.path for i in row.account_ids()}
    return pending_view(row, paths)


class CreatePending(Command):
    kind = "pending.create"

    def __init__(
        self,
        source: str,
        destination: str,
        asset: str,
        amount: int,
        *,
        expires_at: datetime | None,
        policy_version: str,
        memo: str | None = None,
    ) -> None:
        Posting(source, destination, asset, amount).validate()
        check_not_mechanism(source)
        check_not_mechanism(destination)
        if expires_at is not None and expires_at.tzinfo is None:
            raise InvalidAmount("expires_at needs a time zone.", expires_at=str(expires_at))
        self.source, self.destination, self.asset, self.amount = source, destination, asset, amount
        self.expires_at = expires_at
        self.policy_version = policy_version
        self.memo = memo

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        yield ctx.book.debit_ref(self.source, self.asset)
        yield ctx.book.key_for(self.destination, self.asset)
        yield ctx.book.key_for(HOLDING_PENDING, self.asset)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        if self.expires_at is not None and self.expires_at <= ctx.now:
            raise InvalidAmount("expires_at is in the past.", expires_at=str(self.expires_at))
        book = ctx.book
        hold = book.account(book.key_for(HOLDING_PENDING, self.asset))
        dest = book.account(book.key_for(self.destination, self.asset))
        txn = book.post(
            TxnKind.PENDING,
            [Posting(self.source, HOLDING_PENDING, self.asset, self.amount)],
            memo=self.memo,
            policy_version=self.policy_version,
        )
        row = PendingRow(
            id=txn.id,
            debit_account_id=txn.postings[0].debit.id,
            credit_account_id=dest.id,
            hold_account_id=hold.id,
            asset=self.asset,
            amount=self.amount,
            state=PendingState.PENDING,
            expires_at=self.expires_at,
            submitted=False,
            resolved_txn_id=None,
            created_at=ctx.now,
            updated_at=ctx.now,
            policy_version=self.policy_version,
        )
        _save(ctx, row, insert=True)
        return {**_view(ctx, row), "transaction": staged_view(txn)}


def pending_hints(ctx: BatchContext, ids: Iterable[int]) -> Iterable[AccountRef]:
    for row in ctx.repo.read_pending(ids).values():
        yield from row.account_ids()


def resolve(ctx: BatchContext, row: PendingRow, action: PendingAction) -> dict[str, Any]:
    """Apply ``action`` to a locked row whose guard passed; returns the pending transfer's view."""
    state, kind = TRANSITIONS[action]
    if kind is None:
        row.submitted = True
        _save(ctx, row)
        return _view(ctx, row)
    book = ctx.book
    hold = book.account_by_id(row.hold_account_id)
    target_id = row.credit_account_id if action is PendingAction.POST else row.debit_account_id
    txn = book.post(
        kind,
        [(hold, book.account_by_id(target_id), row.asset, row.amount)],
        meta={"pending_transfer": str(row.id)},
        policy_version=row.policy_version or UNRECORDED_POLICY,
    )
    row.state = state
    row.resolved_txn_id = txn.id
    _save(ctx, row)
    return {**_view(ctx, row), "transaction": staged_view(txn)}


class ResolvePending(Command):
    """Post (to the destination), void (back to the source), submit or expire a transfer."""

    kind = "pending.resolve"
    success_status = 200

    def __init__(self, pending_id: int, action: PendingAction) -> None:
        self.pending_id = pending_id
        self.action = PendingAction(action)

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        return pending_hints(ctx, [self.pending_id])

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        row = load_pending(ctx, self.pending_id)
        check_transition(row, self.action, ctx.now)
        return resolve(ctx, row, self.action)


class ExpirePending(Command):
    """Void pending transfers past expiry and never submitted (keyless, repeatable).

    Candidates are picked without locks; each is re-checked under its row lock, so a transfer
    another process submitted or resolved in between is left alone.
    """

    kind = "pending.expire"
    success_status = 200

    def __init__(self, limit: int = 500) -> None:
        self.limit = limit
        self._candidates: list[int] = []

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        self._candidates = ctx.repo.expired_pending_ids(ctx.now, self.limit)
        return pending_hints(ctx, self._candidates)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        voided: list[str] = []
        for pending_id in self._candidates:
            row = load_pending(ctx, pending_id)
            if row.state is not PendingState.PENDING or row.submitted or not row.expired(ctx.now):
                continue
            resolve(ctx, row, PendingAction.EXPIRE)
            voided.append(str(pending_id))
        return {"voided": voided}
