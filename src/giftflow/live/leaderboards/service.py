"""Leaderboards between the routes and the stored boards, and the snapshot loop.

Reading a board is one statement over a score table (never the gift history): the live's
supporters, a creator's supporters for the current day, ISO week (its day rows summed), month
(likewise) or all time (the rolled-up ``all`` rows and the day rows since) in the policy's time
zone, or every creator for such a period. A rank is 1 + the entries strictly ahead (more coins,
or as many reached earlier).

``tick`` also rolls the day rows of days no gift can be filed under any more (two UTC days back:
no time zone is more than a day behind UTC) into the ``all`` rows, once a day per database; the
all-time boards are the same before and after.

``tick`` (every 250 ms from the engagement loop) reads the coins each active live has received;
a live whose total moved since this process last asked for its snapshot (or whose snapshot was
not due yet then), and not within the policy's ``leaderboards.snapshot_seconds``, is asked about
in one ``SnapshotLeaderboards`` command with the others, which decides under the room's lock
whether a ``leaderboard`` event is due (the interval since the stored last snapshot, a change of
the top N). The in-process memory only spares the writer pointless commands; the rule is kept
by the command.
"""

from __future__ import annotations

import asyncio
import weakref
from datetime import UTC, date, datetime, timedelta
from typing import Any

from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.db import unit_of_work
from giftflow.errors import NotFound
from giftflow.live.leaderboards import repository
from giftflow.live.leaderboards.commands import SnapshotLeaderboards
from giftflow.live.leaderboards.repository import Board
from giftflow.live.leaderboards.views import line_view, person
from giftflow.money.policy import Policy

CHUNK = 200  # lives per snapshot command
WAITING = -1  # in place of a total: a change is waiting for the interval
# per database: live id -> (coins total when its snapshot was last asked for, when)
_ASKED: weakref.WeakKeyDictionary[Any, dict[int, tuple[int, datetime]]] = (
    weakref.WeakKeyDictionary()
)
# per database: the day the all-time rows were last seen rolled up to
_ROLLED: weakref.WeakKeyDictionary[Any, date] = weakref.WeakKeyDictionary()
ROLLUP_LAG = timedelta(days=2)


def rollup_target(now: datetime) -> date:
    """The first day that may still receive gifts: a gift is filed under its local day, which is
    at most one day behind its UTC day (UTC-12), and a batch commits within seconds of its
    time — two UTC days back leaves a day of margin."""
    return now.astimezone(UTC).date() - ROLLUP_LAG


def roll_up(ctx: AppContext) -> bool:
    """Roll the all-time rows up to ``rollup_target`` (a no-op unless a day has passed)."""
    now = ctx.clock.now()
    target = rollup_target(now)
    if _ROLLED.get(ctx.engine, date.min) >= target:
        return False
    with unit_of_work(ctx.engine) as conn:
        rolled = repository.roll_up(conn, target, now)
        through = repository.rolled_through(conn)
    _ROLLED[ctx.engine] = through
    return rolled


def _period(ctx: AppContext, period: str) -> tuple[Policy, date]:
    policy = ctx.policies.in_force(ctx.clock.now())
    return policy, repository.period_start(period, policy.local_date(ctx.clock.now()))


def _lines(conn: Any, board: Board, limit: int, role: str = "user") -> list[dict[str, Any]]:
    return [
        line_view(i, e, role=role)
        for i, e in enumerate(repository.top(conn, board, limit), start=1)
    ]


def _me(conn: Any, board: Board, user_id: str) -> dict[str, Any]:
    _, name = repository.user_name(conn, user_id)
    mine = repository.entry(conn, board, user_id)
    if mine is None:
        return {"user": person(user_id, name), "rank": None, "coins": 0, "reached_at": None}
    return {
        "user": person(user_id, name),
        "rank": repository.rank(conn, board, mine),
        "coins": mine.coins,
        "reached_at": rfc3339(mine.reached_at),
        **({"gifts": mine.gifts} if mine.gifts is not None else {}),
    }


def live_board(ctx: AppContext, live_id: int, limit: int) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        if repository.live_creator(conn, live_id) is None:
            raise NotFound("No such live.", id=str(live_id))
        data = _lines(conn, repository.live_board(live_id), limit)
    return {"object": "leaderboard", "board": "live", "live_id": str(live_id), "data": data}


def live_rank(ctx: AppContext, live_id: int, user_id: str) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        if repository.live_creator(conn, live_id) is None:
            raise NotFound("No such live.", id=str(live_id))
        mine = _me(conn, repository.live_board(live_id), user_id)
    return {
        "object": "leaderboard_rank",
        "board": "live",
        "live_id": str(live_id),
        "gifts": 0,
        **mine,
    }


def _creator_head(policy: Policy, period: str, start: date) -> dict[str, Any]:
    return {"period": period, "period_start": start.isoformat(), "time_zone": policy.timezone}


def creator_board(ctx: AppContext, creator_id: str, period: str, limit: int) -> dict[str, Any]:
    policy, start = _period(ctx, period)
    with ctx.engine.connect() as conn:
        if not repository.user_name(conn, creator_id)[0]:
            raise NotFound("No such user.", id=creator_id)
        data = _lines(conn, repository.supporter_board(creator_id, period, start), limit)
    return {
        "object": "leaderboard",
        "board": "creator",
        "creator_id": creator_id,
        **_creator_head(policy, period, start),
        "data": data,
    }


def creator_rank(ctx: AppContext, creator_id: str, period: str, user_id: str) -> dict[str, Any]:
    policy, start = _period(ctx, period)
    with ctx.engine.connect() as conn:
        if not repository.user_name(conn, creator_id)[0]:
            raise NotFound("No such user.", id=creator_id)
        mine = _me(conn, repository.supporter_board(creator_id, period, start), user_id)
    return {
        "object": "leaderboard_rank",
        "board": "creator",
        "creator_id": creator_id,
        **_creator_head(policy, period, start),
        **mine,
    }


def creators_board(ctx: AppContext, period: str, limit: int) -> dict[str, Any]:
    policy, start = _period(ctx, period)
    with ctx.engine.connect() as conn:
        data = _lines(conn, repository.creator_board(period, start), limit, role="creator")
    return {
        "object": "leaderboard",
        "board": "creators",
        **_creator_head(policy, period, start),
        "data": data,
    }


# --- snapshots -------------------------------------------------------------------------------
def _active_totals(ctx: AppContext) -> dict[int, int]:
    with ctx.engine.connect() as conn:
        return repository.active_totals(conn)


def _due(asked: tuple[int, datetime] | None, coins: int, now: datetime, every: timedelta) -> bool:
    if coins <= 0:
        return False  # no gift yet: nothing to show
    if asked is None:
        return True  # first sight (or a restart): the command knows the stored last snapshot
    return asked[0] != coins and now - asked[1] >= every


async def tick(ctx: AppContext) -> None:
    """Ask for the snapshots that may be due, and roll the all-time rows up when a day has
    passed (see the module's docstring)."""
    now = ctx.clock.now()
    if _ROLLED.get(ctx.engine, date.min) < rollup_target(now):  # once a day: no thread hop else
        await asyncio.to_thread(roll_up, ctx)
    rules = ctx.policies.in_force(now).leaderboards
    every = timedelta(seconds=rules.snapshot_seconds)
    totals = await asyncio.to_thread(_active_totals, ctx)
    asked = _ASKED.setdefault(ctx.engine, {})
    for gone in [i for i in asked if i not in totals]:
        del asked[gone]
    due = [i for i, coins in sorted(totals.items()) if _due(asked.get(i), coins, now, every)]
    for start in range(0, len(due), CHUNK):
        chunk = due[start : start + CHUNK]
        outcome = await ctx.submit(SnapshotLeaderboards(chunk, top=rules.top, every=every))
        # a live whose snapshot was not due yet (or not decided: a failed batch) is asked again
        # after the interval, changed or not since: its change is still to be shown
        waiting = set(outcome.body.get("waiting", ())) if outcome.ok else {str(i) for i in chunk}
        for live_id in chunk:
            asked[live_id] = (WAITING if str(live_id) in waiting else totals[live_id], now)
