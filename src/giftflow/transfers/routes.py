"""Admin value endpoints: transfers, reversals and pending transfers, all through the writer.

Routes parse and map; ``service`` holds the rules and builds the ledger commands.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from giftflow.audit import audited
from giftflow.audit.loaders import pending_transfer_of, transaction_of
from giftflow.auth.deps import require_scope
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.idempotent import IdempotencyKeyHeader, submit_idempotent
from giftflow.http.ids import parse_id
from giftflow.ledger.pending import PendingAction
from giftflow.transfers import service
from giftflow.transfers.schemas import (
    BalancesOut,
    PendingIn,
    PendingOut,
    ReverseIn,
    TransactionOut,
    TransferIn,
)

router = APIRouter(prefix="/v1/admin", tags=["admin: ledger"])
admin = require_scope("admin")

REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Refused (e.g. insufficient_funds, idempotency_key_reused)"}
}


@router.post(
    "/transfers",
    status_code=201,
    response_model=TransactionOut,
    responses=REFUSALS,
    dependencies=[Depends(audited("transfer.create"))],
)
async def create_transfer(
    body: TransferIn,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """A balanced multi-posting transaction (operator grants and corrections)."""
    command = service.transfer(ctx, body)
    return await submit_idempotent(ctx, request, principal, command, body)


@router.post(
    "/transactions/{txn_id}/reverse",
    status_code=201,
    response_model=TransactionOut,
    responses=REFUSALS,
    dependencies=[
        Depends(audited("transaction.reverse", "transaction:{txn_id}", transaction_of("txn_id")))
    ],
)
async def reverse_transaction(
    txn_id: str,
    request: Request,
    body: ReverseIn | None = None,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """A new transaction that moves every posting of ``txn_id`` back (once)."""
    command = service.reversal(parse_id(txn_id), body.memo if body else None)
    return await submit_idempotent(ctx, request, principal, command, body)


@router.get("/transactions/{txn_id}", response_model=TransactionOut)
def get_transaction(
    txn_id: str, _: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> TransactionOut:
    return TransactionOut.model_validate(service.transaction(ctx, parse_id(txn_id)))


@router.post(
    "/pending-transfers",
    status_code=201,
    response_model=PendingOut,
    responses=REFUSALS,
    dependencies=[Depends(audited("pending_transfer.create"))],
)
async def create_pending(
    body: PendingIn,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Reserve value now; post it to the destination or void it later (or let it expire)."""
    command = service.create_pending(ctx, body)
    return await submit_idempotent(ctx, request, principal, command, body)


ResolveAction = Literal["post", "void"]


@router.post(
    "/pending-transfers/{pending_id}/{action}",
    response_model=PendingOut,
    responses=REFUSALS,
    dependencies=[
        Depends(
            audited(
                "pending_transfer.{action}",
                "pending_transfer:{pending_id}",
                pending_transfer_of("pending_id"),
            )
        )
    ],
)
async def resolve_pending(
    pending_id: str,
    action: ResolveAction,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """``post``: move the reserved amount on to the destination; ``void``: return it to the
    source. Expiry is the server's own (a maintenance task), never an operator's action."""
    command = service.resolve_pending(parse_id(pending_id), PendingAction(action))
    return await submit_idempotent(ctx, request, principal, command)


@router.get("/pending-transfers/{pending_id}", response_model=PendingOut)
def get_pending(
    pending_id: str, _: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> PendingOut:
    return PendingOut.model_validate(service.pending(ctx, parse_id(pending_id)))


@router.get("/balances", response_model=BalancesOut)
def get_balances(
    path: str = Query(max_length=200, description="Account path, e.g. platform:revenue:gifts"),
    _: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> BalancesOut:
    """An account's balances per asset (shards of hot platform accounts summed)."""
    return service.balances(ctx, path)
