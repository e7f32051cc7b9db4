"""``POST /v1/lives/{id}/goals`` (the live's creator sets a goal; Idempotency-Key, because it
writes a room event through the writer) and ``GET /v1/lives/{id}/goals`` (any caller)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from giftflow.auth.deps import get_principal, require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.idempotent import IdempotencyKeyHeader, submit_idempotent
from giftflow.live.goals import service
from giftflow.live.goals.schemas import GoalCreatedOut, GoalIn, GoalsOut
from giftflow.live.rooms.service import check_live_id

router = APIRouter(prefix="/v1", tags=["live"])
REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "forbidden: only the live's creator sets its goals."},
    409: {
        "description": "live_not_active: the live has ended; goal_limit_reached: the live "
        "already has the policy's goals.max_per_live goals."
    },
    422: {
        "description": "unknown_gift, or validation_error (a gift goal without gift_id, or a "
        "coins goal with one)."
    },
}


@router.post(
    "/lives/{live_id}/goals", status_code=201, response_model=GoalCreatedOut, responses=REFUSALS
)
async def create_goal(
    live_id: str,
    body: GoalIn,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """The live's creator sets a goal: coins gifted to the live, or a count of one gift.
    Progress and completion are events on the room's stream (``goal_created``,
    ``goal_progress``, ``goal_completed``); a completed goal stays completed."""
    command = service.create_command(ctx, check_live_id(live_id), principal.require_user(), body)
    return await submit_idempotent(ctx, request, principal, command, body)


@router.get("/lives/{live_id}/goals", response_model=GoalsOut)
async def list_goals(
    live_id: str, _: Principal = Depends(get_principal), ctx: AppContext = Depends(get_context)
) -> Any:
    """The live's goals, oldest first, with their progress (capped at the target) and exact
    totals."""
    data = await asyncio.to_thread(service.listing, ctx, check_live_id(live_id))
    return {"object": "list", "data": data}
