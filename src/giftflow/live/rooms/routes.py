"""Live rooms: ``POST /v1/lives`` (a creator starts), ``GET /v1/lives[/{id}]``,
``POST /v1/lives/{id}/end`` and ``POST /v1/lives/{id}/viewers`` (join or leave).

None of these moves value: starting twice is refused (``live_already_active``), ending twice is
``live_not_active`` and joining twice changes nothing, so they take no Idempotency-Key.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Query

from giftflow.auth.deps import get_principal, require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.errors import ValidationFailed
from giftflow.http.idempotent import outcome_response
from giftflow.ids import USER_ID_CHARS
from giftflow.live.rooms import service
from giftflow.live.rooms.model import LiveState
from giftflow.live.rooms.schemas import LiveIn, LiveOut, LivesOut, ViewerIn, ViewerOut

router = APIRouter(prefix="/v1", tags=["live"])
REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {"description": "creator_not_eligible, live_already_active or live_not_active."},
}


@router.post("/lives", status_code=201, response_model=LiveOut, responses=REFUSALS)
async def start_live(
    body: LiveIn | None = None,
    principal: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """A creator starts a live (their user token). A platform (or admin) API key may start one
    for ``creator_id``. The creator must be eligible to receive gifts under the policy in force
    (followers, age, not frozen), else ``creator_not_eligible`` with ``details.reason``."""
    body = body or LiveIn()
    if principal.kind == "api_key":
        principal.require_scope("platform", "admin")
        if body.creator_id is None:
            raise ValidationFailed("creator_id is required with an API key.", field="creator_id")
        creator = body.creator_id
    else:
        creator = principal.require_user()
        if body.creator_id not in (None, creator):
            raise ValidationFailed("A user starts only their own live.", field="creator_id")
    return await asyncio.to_thread(
        service.start, ctx, creator, body.title, subscribers_only=body.subscribers_only
    )


@router.get("/lives", response_model=LivesOut)
async def list_lives(
    state: LiveState | None = None,
    creator_id: str | None = Query(default=None, pattern=f"^{USER_ID_CHARS}$"),
    limit: int = Query(default=50, ge=1, le=200),
    _: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """Lives, newest first: ``?state=active`` for the ones on air."""
    data = await asyncio.to_thread(
        service.listing, ctx, state=state, creator_id=creator_id, limit=limit
    )
    return {"object": "list", "data": data}


@router.get("/lives/{live_id}", response_model=LiveOut)
async def get_live(
    live_id: str, _: Principal = Depends(get_principal), ctx: AppContext = Depends(get_context)
) -> Any:
    """A live with its counts, its stream's last sequence and whether its creator can receive
    gifts right now."""
    return await asyncio.to_thread(service.view, ctx, service.check_live_id(live_id))


@router.post("/lives/{live_id}/end", response_model=LiveOut, responses=REFUSALS)
async def end_live(
    live_id: str,
    principal: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """The live's creator (or an admin API key) ends it: open combos end, ``live_ended`` is the
    room's last event."""
    if principal.kind == "api_key":
        principal.require_scope("admin")
        creator = None
    else:
        creator = principal.require_user()
    return outcome_response(await service.end(ctx, service.check_live_id(live_id), creator))


@router.post("/lives/{live_id}/viewers", response_model=ViewerOut, responses=REFUSALS)
async def viewers(
    live_id: str,
    body: ViewerIn,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """The caller joins or leaves the live: viewer count, peak and watch time."""
    outcome = await service.viewer(
        ctx, service.check_live_id(live_id), principal.require_user(), join=body.action == "join"
    )
    return outcome_response(outcome)
