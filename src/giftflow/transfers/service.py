"""The rules of operators' value requests, between parsing (routes) and the ledger writer.

The transfers feature reads through the ledger's read repository (its data is the ledger's).
An operator may move value between any accounts of the chart except those a ledger mechanism
owns (the pending holding account, issuance); coins never move between two users, not even by an
operator; every transaction records the policy version in force when it was made.
"""

from __future__ import annotations

from giftflow.context import AppContext
from giftflow.errors import NotFound
from giftflow.ledger import read_repository as ledger_reads
from giftflow.ledger.accounts import check_not_mechanism, classify
from giftflow.ledger.commands import TransferCommand
from giftflow.ledger.pending import CreatePending, PendingAction, ResolvePending
from giftflow.ledger.reversal import ReverseTransaction
from giftflow.money.amounts import amount_view
from giftflow.transfers.schemas import BalanceOut, BalancesOut, PendingIn, TransferIn


def policy_version(ctx: AppContext) -> str:
    return ctx.policies.in_force(ctx.clock.now()).version_label


def transfer(ctx: AppContext, body: TransferIn) -> TransferCommand:
    postings = [p.to_posting() for p in body.postings]
    for p in postings:
        check_not_mechanism(p.source)
        check_not_mechanism(p.destination)
    return TransferCommand(
        postings, memo=body.memo, meta=body.metadata, policy_version=policy_version(ctx)
    )


def reversal(txn_id: int, memo: str | None) -> ReverseTransaction:
    return ReverseTransaction(txn_id, memo=memo)


def create_pending(ctx: AppContext, body: PendingIn) -> CreatePending:
    expires_at = body.expires_at  # in UTC (``Instant``)
    return CreatePending(
        body.source,
        body.destination,
        body.asset,
        body.amount,
        expires_at=expires_at,
        memo=body.memo,
        policy_version=policy_version(ctx),
    )


def resolve_pending(pending_id: int, action: PendingAction) -> ResolvePending:
    return ResolvePending(pending_id, action)


def transaction(ctx: AppContext, txn_id: int) -> dict[str, object]:
    with ctx.engine.connect() as conn:
        view = ledger_reads.transaction(conn, txn_id)
    if view is None:
        raise NotFound("No such transaction.", id=str(txn_id))
    return view


def pending(ctx: AppContext, pending_id: int) -> dict[str, object]:
    with ctx.engine.connect() as conn:
        view = ledger_reads.pending(conn, pending_id)
    if view is None:
        raise NotFound("No such pending transfer.", id=str(pending_id))
    return view


def balances(ctx: AppContext, path: str) -> BalancesOut:
    classify(path)  # an account the chart cannot have is a 422, not an empty answer
    with ctx.engine.connect() as conn:
        rows = ledger_reads.balances(conn, path=path)
    return BalancesOut(
        balances=[BalanceOut(path=p, **amount_view(asset, total)) for p, asset, total in rows]
    )
