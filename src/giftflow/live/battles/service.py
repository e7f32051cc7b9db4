"""The rules of battles between the routes and the writer: the policy's bounds on a battle's
terms (sides, duration, multiplier), the commands, the reads, and the timer.

The timer (``tick``, every 250 ms from the engagement loop, in every server process) reads the
open battles without locks and submits what is due: one ``ScoreBattles`` for the battles whose
scores changed (the coalesced ``battle_score`` events) and an ``EndBattle`` per battle past its
stored deadline or with a side whose live ended. Each command decides again under the rooms'
locks, so several processes, or a process restarted after the deadline, end a battle once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from giftflow.context import AppContext
from giftflow.errors import NotFound, ValidationFailed
from giftflow.live.battles import repository
from giftflow.live.battles.commands import (
    AnswerBattle,
    BattleTerms,
    CancelBattle,
    CreateBattle,
    EndBattle,
    ScoreBattles,
)
from giftflow.live.battles.model import BattleState, battle_view
from giftflow.live.battles.schemas import BattleIn
from giftflow.live.rooms.service import check_live_id

VIEW_SUPPORTERS = 10  # top supporters per side in GET /v1/battles/{id}


def create_command(ctx: AppContext, by: str, body: BattleIn) -> CreateBattle:
    """Check the terms against the policy in force (422 before the writer) and build the
    command; who owns which live, and whether each is on air and free, is checked in the batch."""
    policy = ctx.policies.in_force(ctx.clock.now())
    rules = policy.battles
    host = check_live_id(body.live_id)
    opponents = tuple(check_live_id(o) for o in body.opponents)
    if len(set(opponents)) != len(opponents) or host in opponents:
        raise ValidationFailed("Each opponent is another live, named once.", field="opponents")
    if 1 + len(opponents) > rules.max_sides:
        raise ValidationFailed(
            f"At most {rules.max_sides} sides in a battle.",
            field="opponents",
            maximum=rules.max_sides - 1,
        )
    duration = rules.default_seconds if body.duration_seconds is None else body.duration_seconds
    if duration > rules.max_seconds:
        raise ValidationFailed(
            f"A battle lasts at most {rules.max_seconds} seconds.",
            field="duration_seconds",
            maximum=rules.max_seconds,
        )
    if body.multiplier > rules.max_multiplier:
        raise ValidationFailed(
            f"The multiplier is at most {rules.max_multiplier}.",
            field="multiplier",
            maximum=rules.max_multiplier,
        )
    if body.multiplier > 1 and body.multiplier_seconds == 0:
        raise ValidationFailed(
            "A multiplier needs its window (multiplier_seconds).", field="multiplier_seconds"
        )
    if body.multiplier_seconds > duration:
        raise ValidationFailed(
            "The multiplier window is longer than the battle.",
            field="multiplier_seconds",
            maximum=duration,
        )
    if body.mode == "gifts" and not body.gift_ids:
        raise ValidationFailed("Mode gifts lists the gifts that count.", field="gift_ids")
    if body.mode == "all" and body.gift_ids:
        raise ValidationFailed("gift_ids go with mode gifts.", field="gift_ids")
    terms = BattleTerms(
        live_id=host,
        opponents=opponents,
        duration_seconds=duration,
        mode=body.mode,
        gift_ids=frozenset(body.gift_ids) if body.mode == "gifts" and body.gift_ids else None,
        multiplier=body.multiplier,
        multiplier_seconds=body.multiplier_seconds,
    )
    return CreateBattle(terms, by=by, policy_version=policy.version_label)


def answer_command(battle_id: int, by: str, *, accept: bool) -> AnswerBattle:
    return AnswerBattle(battle_id, by=by, accept=accept)


def cancel_command(battle_id: int, by: str) -> CancelBattle:
    return CancelBattle(battle_id, by=by)


def view(ctx: AppContext, battle_id: int) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        found = repository.battle_with_supporters(conn, battle_id, VIEW_SUPPORTERS)
    if found is None:
        raise NotFound("No such battle.", id=str(battle_id))
    loaded, tops = found
    return battle_view(loaded.battle, loaded.scores, tops)


def of_live(ctx: AppContext, live_id: int, limit: int) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        if not repository.live_exists(conn, live_id):
            raise NotFound("No such live.", id=str(live_id))
        ids = repository.battles_of_live(conn, live_id, limit)
    return [view(ctx, i) for i in ids]


# --- the timer ---------------------------------------------------------------------------------
Candidates = list[tuple[int, tuple[int, ...]]]


def due(
    found: list[repository.OpenBattle], now: datetime, every_ms: int
) -> tuple[Candidates, Candidates]:
    """(battles to end, battles to score) among the open ones, as read without locks."""
    to_end: Candidates = []
    to_score: Candidates = []
    every = timedelta(milliseconds=every_ms)
    for open_ in found:
        b, scores = open_.loaded.battle, open_.loaded.scores
        lives = tuple(s.live_id for s in b.sides)
        active = b.state is BattleState.ACTIVE and b.ends_at is not None
        if open_.ended_lives or (active and b.ends_at is not None and b.ends_at <= now):
            to_end.append((b.id, lives))
            continue
        if not active:
            continue
        snapshot = b.last_score or {}
        current = {str(s.live_id): scores.get(s.live_id, 0) for s in b.playing}
        if snapshot.get("scores") == current:
            continue
        last = snapshot.get("scored_at")
        if last is None or now - datetime.fromisoformat(last) >= every:
            to_score.append((b.id, lives))
    return to_end, to_score


def _open(ctx: AppContext) -> list[repository.OpenBattle]:
    with ctx.engine.connect() as conn:
        return repository.open_battles(conn)


async def tick(ctx: AppContext) -> None:
    """Called by the engagement loop every 250 ms (and by tests through ``run_ticks``)."""
    now = ctx.clock.now()
    every_ms = ctx.policies.in_force(now).battles.score_every_ms
    found = await asyncio.to_thread(_open, ctx)
    if not found:
        return
    to_end, to_score = due(found, now, every_ms)
    if to_score:
        await ctx.submit(ScoreBattles(to_score, every_ms))
    for battle_id, lives in to_end:
        await ctx.submit(EndBattle(battle_id, lives))
