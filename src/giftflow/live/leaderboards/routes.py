"""Leaderboards: a live's top supporters, a creator's supporters per period, the global top
creators per period, and the caller's own rank. Reads only: no Idempotency-Key."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from giftflow.auth.deps import get_principal, require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.fields import UserIdPath
from giftflow.live.leaderboards import service
from giftflow.live.leaderboards.schemas import (
    CreatorBoardOut,
    CreatorRankOut,
    CreatorsBoardOut,
    LiveBoardOut,
    LiveRankOut,
)
from giftflow.live.rooms.service import check_live_id

router = APIRouter(prefix="/v1", tags=["live"])
Period = Literal["day", "week", "month", "all"]
PERIOD = Query(
    default="all",
    description="day, week (ISO, from Monday), month or all, in the policy's time zone.",
)
LIMIT = Query(default=10, ge=1, le=100)


@router.get("/lives/{live_id}/leaderboard", response_model=LiveBoardOut)
async def live_board(
    live_id: str,
    limit: int = LIMIT,
    _: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """The live's top supporters by coins gifted (ties: who reached the score first)."""
    return await asyncio.to_thread(service.live_board, ctx, check_live_id(live_id), limit)


@router.get("/lives/{live_id}/leaderboard/me", response_model=LiveRankOut)
async def live_rank(
    live_id: str,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """The caller's rank and score among the live's supporters (``rank`` null: no gift yet)."""
    user = principal.require_user()
    return await asyncio.to_thread(service.live_rank, ctx, check_live_id(live_id), user)


@router.get("/creators/{creator_id}/leaderboard", response_model=CreatorBoardOut)
async def creator_board(
    creator_id: UserIdPath,
    period: Period = PERIOD,
    limit: int = LIMIT,
    _: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """A creator's top supporters over the current day, week, month or all time (every live,
    and gifts received as a co-host)."""
    return await asyncio.to_thread(service.creator_board, ctx, creator_id, period, limit)


@router.get("/creators/{creator_id}/leaderboard/me", response_model=CreatorRankOut)
async def creator_rank(
    creator_id: UserIdPath,
    period: Period = PERIOD,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """The caller's rank and score among a creator's supporters for the period."""
    user = principal.require_user()
    return await asyncio.to_thread(service.creator_rank, ctx, creator_id, period, user)


@router.get("/leaderboards/creators", response_model=CreatorsBoardOut)
async def creators_board(
    period: Period = PERIOD,
    limit: int = LIMIT,
    _: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """The top creators by coins received over the current day, week, month or all time."""
    return await asyncio.to_thread(service.creators_board, ctx, period, limit)
