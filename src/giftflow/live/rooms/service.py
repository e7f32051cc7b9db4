"""The rules of live rooms, between the routes and the writer.

Starting a live checks the creator's eligibility under the policy in force (followers, age, not
frozen) and refuses a second live at once; the live's row and its room (whose first event is
``live_started``) are created in one transaction. Ending a live and viewers joining or leaving
write room events, so they are commands through the writer. Eligibility is evaluated again with
every gift (``SendGift``), under the policy in force and the follower count the platform last
reported, so a policy change or a drop in followers takes effect at once. A live started
``subscribers_only`` admits only the creator's subscribers (joins: ``ViewerChange``; gifts:
``SendGift``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.db import unit_of_work
from giftflow.errors import CreatorNotEligible, LiveAlreadyActive, NotFound
from giftflow.ledger.idempotency import Outcome
from giftflow.live.rooms import repository
from giftflow.live.rooms.combos import CloseCombos, ComboRow
from giftflow.live.rooms.commands import EndLive, ViewerChange
from giftflow.live.rooms.model import LiveState, ineligibility
from giftflow.live.rooms.views import live_view

MAX_LIVE_ID = 2**62
log = logging.getLogger("giftflow.live")


def check_live_id(raw: str) -> int:
    """A path id that cannot name a live is simply not found."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not 0 < int(raw) < MAX_LIVE_ID:
        raise NotFound("No such live.", id=raw[:32])
    return int(raw)


def view(ctx: AppContext, live_id: int) -> dict[str, Any]:
    now = ctx.clock.now()
    policy = ctx.policies.in_force(now)
    with ctx.engine.connect() as conn:
        found = repository.live_facts(conn, live_id)
        if found is None:
            raise NotFound("No such live.", id=str(live_id))
        live, last, unique, seconds = found
        creator = repository.user_facts(conn, [live.creator_id]).get(live.creator_id)
    reason = ineligibility(creator, policy, policy.local_date(now))
    out = live_view(
        live, ineligible=reason, last_seq=last, unique_viewers=unique, watch_seconds=seconds
    )
    out["subscribers_only"] = live.subscribers_only
    out["creator_name"] = creator.name if creator is not None else live.creator_id
    return out


def start(
    ctx: AppContext, creator_id: str, title: str | None, *, subscribers_only: bool = False
) -> dict[str, Any]:
    now = ctx.clock.now()
    policy = ctx.policies.in_force(now)
    with unit_of_work(ctx.engine) as conn:
        # the creator's row stays locked to the commit: two starts cannot both find no live
        creator = repository.user_facts(conn, [creator_id], lock=True).get(creator_id)
        reason = ineligibility(creator, policy, policy.local_date(now))
        if reason is not None:
            raise CreatorNotEligible(
                reason=reason,
                creator_id=creator_id,
                followers_needed=policy.gifts.followers_to_receive,
            )
        running = repository.active_live_of(conn, creator_id)
        if running is not None:
            raise LiveAlreadyActive(live_id=str(running))
        live_id = repository.create_live(
            conn,
            creator_id=creator_id,
            title=title,
            policy_version=policy.version_label,
            now=now,
            subscribers_only=subscribers_only,
        )
        repository.open_live_room(
            conn,
            live_id,
            {
                "live_id": str(live_id),
                "creator_id": creator_id,
                "title": title,
                "started_at": rfc3339(now),
                "subscribers_only": subscribers_only,
            },
            now,
        )
    return view(ctx, live_id)


def listing(
    ctx: AppContext, *, state: LiveState | None, creator_id: str | None, limit: int
) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        rows = repository.list_lives(
            conn, state=state.value if state else None, creator_id=creator_id, limit=limit
        )
    return [view(ctx, r.id) for r in rows]


async def end(ctx: AppContext, live_id: int, creator_id: str | None) -> Outcome:
    """End the live; a refusal or the writer's 503 (with its ``Retry-After``) as it came."""
    outcome = await ctx.submit(EndLive(live_id, creator_id=creator_id))
    if not outcome.ok:
        return outcome
    return Outcome(200, await asyncio.to_thread(view, ctx, live_id))


async def viewer(ctx: AppContext, live_id: int, user_id: str, *, join: bool) -> Outcome:
    return await ctx.submit(ViewerChange(live_id, user_id, join=join))


# --- streaks ----------------------------------------------------------------------------------
def _expired_combos(ctx: AppContext, window: timedelta) -> list[ComboRow]:
    with ctx.engine.connect() as conn:
        return repository.expired_combos(conn, ctx.clock.now() - window, limit=500)


async def close_due_combos(ctx: AppContext) -> int:
    """End the streaks whose window has passed; returns how many ended."""
    window = timedelta(milliseconds=ctx.policies.in_force(ctx.clock.now()).gifts.combo_window_ms)
    candidates = await asyncio.to_thread(_expired_combos, ctx, window)
    if not candidates:
        return 0
    outcome = await ctx.submit(CloseCombos(candidates, window))
    return int(outcome.body.get("ended", 0)) if outcome.ok else 0


async def combo_loop(ctx: AppContext, every_ms: int = 250) -> None:
    """Runs for the life of the server: a streak's end event follows its last send by the
    window plus at most ``every_ms`` milliseconds."""
    while True:
        await asyncio.sleep(every_ms / 1000)
        try:
            await close_due_combos(ctx)
        except Exception:
            log.exception("closing combos failed")
