"""``POST /v1/exchanges``: a user exchanges available diamonds for spendable coins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from giftflow.auth.deps import require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.earnings.exchange import service
from giftflow.earnings.exchange.schemas import ExchangeIn, ExchangeOut
from giftflow.http.idempotent import IdempotencyKeyHeader, submit_idempotent

router = APIRouter(prefix="/v1", tags=["earnings"])
REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Refused: exchange_unavailable (policy or region), insufficient_funds"},
}


@router.post("/exchanges", status_code=201, response_model=ExchangeOut, responses=REFUSALS)
async def exchange(
    body: ExchangeIn,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Exchange ``diamonds`` (hundredths) of the caller's available diamonds for coins at the
    policy's ratio, in whole multiples, into ``user:{id}:coins:exchanged`` (spendable on gifts
    and items, never refundable for cash); the remainder stays. Fewer diamonds than one unit:
    422. Exchange disabled by the policy, or not offered in the caller's region:
    ``exchange_unavailable``."""
    command = service.exchange_command(ctx, principal.require_user(), body.diamonds)
    return await submit_idempotent(ctx, request, principal, command, body)
