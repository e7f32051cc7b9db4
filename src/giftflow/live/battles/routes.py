"""Battles (LIVE Match): ``POST /v1/battles`` (a creator invites other lives),
``POST /v1/battles/{id}/accept | decline | cancel``, ``GET /v1/battles/{id}`` and
``GET /v1/lives/{id}/battles``.

The POSTs write room events through the writer, so they take an Idempotency-Key: a retry
answers the first outcome and writes nothing again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from giftflow.auth.deps import get_principal, require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.fields import ObjectIdPath
from giftflow.http.idempotent import IdempotencyKeyHeader, submit_idempotent
from giftflow.http.ids import parse_id
from giftflow.live.battles import service
from giftflow.live.battles.schemas import BattleIn, BattleOut, BattlesOut
from giftflow.live.rooms.service import check_live_id

router = APIRouter(prefix="/v1", tags=["live"])
REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "forbidden: not your live, or not a battle you were invited to."},
    404: {"description": "not_found: no such live (or opponent live) or battle."},
    409: {
        "description": "live_not_active, or invalid_transition (details.state): a live "
        "already in a battle, an invitation already answered, a battle no longer waiting."
    },
    422: {"description": "validation_error (the policy's bounds) or unknown_gift."},
}


@router.post("/battles", status_code=201, response_model=BattleOut, responses=REFUSALS)
async def create_battle(
    body: BattleIn,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """The creator of ``live_id`` (on air) invites other lives on air to a battle:
    ``battle_invited`` in every side's room. It starts when every invited creator has answered
    and at least one accepted."""
    command = service.create_command(ctx, principal.require_user(), body)
    return await submit_idempotent(ctx, request, principal, command, body)


async def _answer(
    battle_id: str, request: Request, principal: Principal, ctx: AppContext, accept: bool
) -> JSONResponse:
    command = service.answer_command(parse_id(battle_id), principal.require_user(), accept=accept)
    return await submit_idempotent(ctx, request, principal, command)


@router.post("/battles/{battle_id}/accept", response_model=BattleOut, responses=REFUSALS)
async def accept_battle(
    battle_id: ObjectIdPath,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """An invited creator accepts (their live must be on air). The last answer starts the
    battle: ``battle_started``, ``ends_at`` = now + duration."""
    return await _answer(battle_id, request, principal, ctx, True)


@router.post("/battles/{battle_id}/decline", response_model=BattleOut, responses=REFUSALS)
async def decline_battle(
    battle_id: ObjectIdPath,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """An invited creator declines: their side drops out; if nobody accepted, the battle is
    canceled."""
    return await _answer(battle_id, request, principal, ctx, False)


@router.post("/battles/{battle_id}/cancel", response_model=BattleOut, responses=REFUSALS)
async def cancel_battle(
    battle_id: ObjectIdPath,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """The inviting creator withdraws a battle that has not started (``battle_canceled``)."""
    command = service.cancel_command(parse_id(battle_id), principal.require_user())
    return await submit_idempotent(ctx, request, principal, command)


@router.get("/battles/{battle_id}", response_model=BattleOut)
async def get_battle(
    battle_id: ObjectIdPath,
    _: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """A battle: terms, state, the stored deadline, each side's score and top supporters, and
    the result once it is over."""
    return await asyncio.to_thread(service.view, ctx, parse_id(battle_id))


@router.get("/lives/{live_id}/battles", response_model=BattlesOut)
async def live_battles(
    live_id: str,
    limit: int = Query(default=20, ge=1, le=100),
    _: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """The battles a live started or was invited to, newest first."""
    data = await asyncio.to_thread(service.of_live, ctx, check_live_id(live_id), limit)
    return {"object": "list", "data": data}
