"""LIVE engagement, put together: the gift hooks (goals, leaderboards, battles, analytics), the
routers of every engagement feature, and the loop that runs their timed work (leaderboard
snapshots and the daily all-time rollup, battle scores and deadlines, subscription renewals).

``install`` registers the hooks with ``live.gifting`` (idempotent); the app factory calls it,
mounts ``ROUTERS`` and starts ``engagement_loop``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter

from giftflow.context import AppContext
from giftflow.live.analytics import service as analytics
from giftflow.live.analytics.hook import HOOK as ANALYTICS
from giftflow.live.analytics.routes import router as analytics_router
from giftflow.live.battles import service as battles
from giftflow.live.battles.hook import HOOK as BATTLES
from giftflow.live.battles.routes import router as battles_router
from giftflow.live.cohosts.routes import router as cohosts_router
from giftflow.live.gifting.hooks import register
from giftflow.live.goals import service as goals
from giftflow.live.goals.hook import HOOK as GOALS
from giftflow.live.goals.routes import router as goals_router
from giftflow.live.leaderboards import service as leaderboards
from giftflow.live.leaderboards.hook import HOOK as LEADERBOARDS
from giftflow.live.leaderboards.routes import router as leaderboards_router
from giftflow.live.subscriptions import service as subscriptions
from giftflow.live.subscriptions.routes import router as subscriptions_router

log = logging.getLogger("giftflow.live")

ROUTERS: tuple[APIRouter, ...] = (
    goals_router,
    leaderboards_router,
    battles_router,
    cohosts_router,
    subscriptions_router,
    analytics_router,
)
TICKS: tuple[Callable[[AppContext], Awaitable[None]], ...] = (
    goals.tick,
    leaderboards.tick,
    battles.tick,
    subscriptions.tick,
    analytics.tick,
)


def install() -> None:
    """Register the gift hooks: goals first (their events follow the gift's), then
    leaderboards, battles and analytics."""
    for hook in (GOALS, LEADERBOARDS, BATTLES, ANALYTICS):
        register(hook)


async def run_ticks(ctx: AppContext) -> None:
    """One round of every feature's timed work (tests call it directly)."""
    for tick in TICKS:
        try:
            await tick(ctx)
        except Exception:
            log.exception("engagement tick %s failed", getattr(tick, "__module__", tick))


async def engagement_loop(ctx: AppContext, every_ms: int = 250) -> None:
    while True:
        await asyncio.sleep(every_ms / 1000)
        await run_ticks(ctx)
