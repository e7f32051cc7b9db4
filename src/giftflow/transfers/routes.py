"""Admin value endpoints: transfers, reversals and pending transfers, all through the writer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from giftflow.auth.deps import require_scope
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.errors import NotFound, ValidationFailed
from giftflow.http.idempotent import run_idempotent
from giftflow.http.ids import parse_id
from giftflow.ledger import read_repository as reads
from giftflow.ledger.accounts import classify
from giftflow.ledger.commands import TransferCommand
from giftflow.ledger.pending import CreatePending, ResolvePending
from giftflow.ledger.reversal import ReverseTransaction
from giftflow.ledger.views import amount_view
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

ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Refused (e.g. insufficient_funds, idempotency_key_reused)"}
}


@router.post("/transfers", status_code=201, response_model=TransactionOut, responses=ERRORS)
async def create_transfer(
    body: TransferIn,
    request: Request,
    principal: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """A balanced multi-posting transaction (operator grants and corrections)."""
    return await run_idempotent(
        ctx,
        request,
        principal,
        "POST /v1/admin/transfers",
        body.model_dump(mode="json"),
        lambda ireq: TransferCommand(
            [p.to_posting() for p in body.postings],
            memo=body.memo,
            meta=body.metadata,
            idempotency=ireq,
        ),
    )


@router.post(
    "/transactions/{txn_id}/reverse",
    status_code=201,
    response_model=TransactionOut,
    responses=ERRORS,
)
async def reverse_transaction(
    txn_id: str,
    request: Request,
    body: ReverseIn | None = None,
    principal: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """A new transaction that moves every posting of ``txn_id`` back (once)."""
    memo = body.memo if body else None
    return await run_idempotent(
        ctx,
        request,
        principal,
        "POST /v1/admin/transactions/{id}/reverse",
        {"id": txn_id, "memo": memo},
        lambda ireq: ReverseTransaction(parse_id(txn_id), memo=memo, idempotency=ireq),
    )


@router.get("/transactions/{txn_id}", response_model=TransactionOut)
def get_transaction(
    txn_id: str, _: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> JSONResponse:
    with ctx.engine.connect() as conn:
        view = reads.transaction(conn, parse_id(txn_id))
    if view is None:
        raise NotFound("No such transaction.", id=txn_id)
    return JSONResponse(view)


@router.post("/pending-transfers", status_code=201, response_model=PendingOut, responses=ERRORS)
async def create_pending(
    body: PendingIn,
    request: Request,
    principal: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Reserve value now; post it to the destination or void it later (or let it expire)."""
    if body.expires_at is not None and body.expires_at.tzinfo is None:
        raise ValidationFailed("expires_at needs a time zone (RFC 3339).")
    return await run_idempotent(
        ctx,
        request,
        principal,
        "POST /v1/admin/pending-transfers",
        body.model_dump(mode="json"),
        lambda ireq: CreatePending(
            body.source,
            body.destination,
            body.asset,
            body.amount,
            expires_at=body.expires_at,
            memo=body.memo,
            idempotency=ireq,
        ),
    )


def _resolve_route(action: str) -> Callable[..., Awaitable[JSONResponse]]:
    async def resolve(
        pending_id: str,
        request: Request,
        principal: Principal = Depends(admin),
        ctx: AppContext = Depends(get_context),
    ) -> JSONResponse:
        return await run_idempotent(
            ctx,
            request,
            principal,
            f"POST /v1/admin/pending-transfers/{{id}}/{action}",
            {"id": pending_id},
            lambda ireq: ResolvePending(parse_id(pending_id), action, idempotency=ireq),
        )

    resolve.__name__ = f"{action}_pending"
    resolve.__doc__ = f"{action.capitalize()} a pending transfer."
    return resolve


for _action in ("post", "void"):
    router.add_api_route(
        f"/pending-transfers/{{pending_id}}/{_action}",
        _resolve_route(_action),
        methods=["POST"],
        response_model=PendingOut,
        responses=ERRORS,
    )


@router.get("/pending-transfers/{pending_id}", response_model=PendingOut)
def get_pending(
    pending_id: str, _: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> JSONResponse:
    with ctx.engine.connect() as conn:
        view = reads.pending(conn, parse_id(pending_id))
    if view is None:
        raise NotFound("No such pending transfer.", id=pending_id)
    return JSONResponse(view)


@router.get("/balances", response_model=BalancesOut)
def get_balances(
    path: str = Query(max_length=200, description="Account path, e.g. platform:revenue:gifts"),
    _: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """An account's balances per asset (shards of hot platform accounts summed)."""
    classify(path)  # an account the chart cannot have is a 422, not an empty answer
    with ctx.engine.connect() as conn:
        rows = reads.balances(conn, path=path)
    return JSONResponse(
        {"balances": [{"path": r.path, **amount_view(r.asset, int(r.balance))} for r in rows]}
    )
