"""Creators' earnings: the view, statements (JSON or CSV) and admins' clawbacks of held diamonds.

Creators (user token): ``GET /v1/creator/earnings``, ``GET /v1/creator/statements?period=``.
Platform or admin keys, or that user: ``GET /v1/creators/{id}/earnings``. Admins:
``POST /v1/admin/creators/{id}/clawbacks`` (Idempotency-Key).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from giftflow.audit import audited
from giftflow.audit.loaders import balances_of
from giftflow.auth.deps import get_principal, require_scope, require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.earnings.balances import service
from giftflow.earnings.balances.schemas import (
    PERIOD_PATTERN,
    ClawbackIn,
    ClawbackOut,
    EarningsOut,
    StatementOut,
)
from giftflow.http.fields import UserIdPath
from giftflow.http.idempotent import IdempotencyKeyHeader, submit_idempotent
from giftflow.http.negotiation import CSV, report_response

router = APIRouter(prefix="/v1", tags=["earnings"])
admin = require_scope("admin")
REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Refused: insufficient_funds (more than the creator holds), …"},
}


@router.get("/creator/earnings", response_model=EarningsOut)
def my_earnings(
    principal: Principal = Depends(require_user), ctx: AppContext = Depends(get_context)
) -> EarningsOut:
    """The caller's diamonds: available and held with their cash-out value under the policy in
    force, the hold by release date, lifetime totals, and the withdrawal limits left today and
    this week."""
    return service.earnings(ctx, principal.require_user())


@router.get("/creators/{creator_id}/earnings", response_model=EarningsOut)
def creator_earnings(
    creator_id: UserIdPath,
    principal: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> EarningsOut:
    """A creator's earnings: platform/admin keys, or that user; anyone else, or no such user,
    404."""
    principal.require_owner_or_scope(creator_id, "platform", "admin")
    return service.earnings(ctx, creator_id)


@router.post(
    "/admin/creators/{creator_id}/clawbacks",
    status_code=201,
    response_model=ClawbackOut,
    responses=REFUSALS,
    tags=["admin: earnings"],
    dependencies=[
        Depends(audited("creator.clawback", "user:{creator_id}", balances_of("creator_id")))
    ],
)
async def claw_back(
    body: ClawbackIn,
    request: Request,
    creator_id: UserIdPath,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Take ``diamonds`` (hundredths) still in the creator's earnings hold back to
    ``platform:diamonds:issued`` (e.g. after a dispute on the gifts behind them), newest
    release date first; more than is held is ``insufficient_funds``."""
    command = service.clawback_command(ctx, creator_id, body)
    return await submit_idempotent(ctx, request, principal, command, body)


@router.get(
    "/creator/statements",
    response_model=StatementOut,
    responses={
        200: {
            "description": "The statement; as CSV with `Accept: text/csv`.",
            "content": {CSV: {"schema": {"type": "string"}}},
        }
    },
)
def my_statement(
    request: Request,
    period: str = Query(
        pattern=PERIOD_PATTERN,
        description="A calendar month, YYYY-MM, in the policy's time zone.",
        examples=["2026-01"],
    ),
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """The caller's statement for one month: gifts received by live, diamonds earned, held,
    released, clawed back, exchanged and withdrawn, withdrawal fees, and each diamond account's
    opening and closing balance."""
    out = service.statement(ctx, principal.require_user(), period)
    return report_response(
        request,
        csv=lambda: service.statement_csv(out),
        filename=f"statement-{out.period}.csv",
        json=lambda: out.model_dump(mode="json"),
    )
