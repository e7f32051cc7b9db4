"""Every change of a battle's state is a command in the writer's batch that first locks the
room of **every** side (``rooms.announce`` from ``account_hints``, ``rooms.live`` in ``apply``)
and then reads the battle: a gift locks its own live's room, so a gift and a change of the
battle it scores for are always ordered, in one process or several.

- ``CreateBattle``: a creator invites other lives (``battle_invited`` in every side's room);
- ``AnswerBattle``: an invited creator accepts or declines; once nobody is left to answer the
  battle starts (``battle_started``: ``started_at`` = the batch's time, ``ends_at`` stored) if
  anyone accepted, else it is canceled;
- ``CancelBattle``: the inviting creator withdraws a battle that has not started;
- ``ScoreBattles``: the coalesced ``battle_score`` events (from the timer);
- ``EndBattle``: the deadline passed (or a side's live ended): re-read under the locks, the
  result written once (``battle_ended``); a second run, here or in another process, finds the
  battle over and does nothing.

Events go to the rooms of lives still on air: a live that ended has ``live_ended`` as its last
event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from giftflow.clock import rfc3339
from giftflow.errors import (
    Forbidden,
    InvalidTransition,
    LiveNotActive,
    NotFound,
    UnknownGift,
    ValidationFailed,
)
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.model import AccountRef
from giftflow.live.battles import batch as battles
from giftflow.live.battles.model import (
    TOP_SUPPORTERS,
    BattleRow,
    BattleState,
    SideRow,
    SideState,
    battle_view,
    outcome,
    score_list,
    summary,
    supporters_view,
    top,
)
from giftflow.live.battles.repository import BattleBatchRepository
from giftflow.live.catalog.model import GiftBatchRepository
from giftflow.live.rooms import batch as rooms
from giftflow.live.rooms.model import LiveRow, LiveState
from giftflow.realtime import outbox


def _lock(ctx: BatchContext, live_ids: Iterable[int]) -> dict[int, LiveRow]:
    """The lives, their rooms locked (all the batch's announced rooms in one ordered
    statement, on the first call)."""
    return {i: rooms.live(ctx, i) for i in sorted(set(live_ids))}


def _broadcast(
    ctx: BatchContext,
    lives: dict[int, LiveRow],
    sides: Iterable[SideRow],
    type_: str,
    payload: dict[str, Any],
) -> dict[str, int]:
    """Append the event to each side's room whose live is on air; live id → sequence."""
    seqs: dict[str, int] = {}
    for side in sides:
        live = lives.get(side.live_id)
        if live is not None and live.state is LiveState.ACTIVE:
            seqs[str(side.live_id)] = outbox.append(ctx, side.live_id, type_, payload)
    return seqs


def _answer(ctx: BatchContext, row: BattleRow, seqs: dict[str, int]) -> dict[str, Any]:
    """A command's answer: the battle as ``GET`` shows it (nobody has scored yet when these
    commands answer, so no supporters to show) and the events' sequence numbers by room."""
    return {**battle_view(row, battles.scores(ctx, row), {}), "seqs": seqs}


def _not_found(battle_id: int) -> NotFound:
    return NotFound("No such battle.", id=str(battle_id))


class _OnBattle(Command):
    """A command on an existing battle: announces the rooms of all its sides (sides never
    change, so an unlocked read of them is exact)."""

    success_status = 200

    def __init__(self, battle_id: int) -> None:
        self.battle_id = battle_id
        self.lives: tuple[int, ...] = ()

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        self.lives = tuple(ctx.repository(BattleBatchRepository).side_lives(self.battle_id))
        if not self.lives:
            raise _not_found(self.battle_id)
        for live_id in self.lives:
            rooms.announce(ctx, live_id)
            battles.announce_live(ctx, live_id)
        battles.announce_battle(ctx, self.battle_id)
        return ()

    def _load(self, ctx: BatchContext) -> tuple[dict[int, LiveRow], BattleRow]:
        lives = _lock(ctx, self.lives)
        row = battles.battle(ctx, self.battle_id)
        if row is None:
            raise _not_found(self.battle_id)
        return lives, row


def _cancel(
    ctx: BatchContext, lives: dict[int, LiveRow], row: BattleRow, reason: str
) -> tuple[BattleRow, dict[str, int]]:
    row = replace(row, state=BattleState.CANCELED, ended_at=ctx.now, result={"reason": reason})
    battles.save(ctx, row, sides=False)
    listening = [s for s in row.sides if s.state is not SideState.DECLINED]
    payload = {"battle_id": str(row.id), "reason": reason}
    return row, _broadcast(ctx, lives, listening, "battle_canceled", payload)


# --- creating ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BattleTerms:
    """What the inviting creator asked for, checked against the policy by the service."""

    live_id: int
    opponents: tuple[int, ...]
    duration_seconds: int
    mode: str  # all | gifts
    gift_ids: frozenset[str] | None
    multiplier: int
    multiplier_seconds: int


class CreateBattle(Command):
    kind = "live.battle.create"

    def __init__(self, terms: BattleTerms, *, by: str, policy_version: str) -> None:
        self.terms = terms
        self.by = by
        self.policy_version = policy_version

    @property
    def live_ids(self) -> tuple[int, ...]:
        return (self.terms.live_id, *self.terms.opponents)

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        for live_id in self.live_ids:
            if rooms.creator_of(ctx, live_id) is None:
                raise NotFound("No such live.", id=str(live_id))
            rooms.announce(ctx, live_id)
            battles.announce_live(ctx, live_id)
        return ()

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        t = self.terms
        lives = _lock(ctx, self.live_ids)
        host = lives[t.live_id]
        if host.creator_id != self.by:
            raise Forbidden("Only the live's creator can start a battle from it.")
        for live_id in self.live_ids:
            if lives[live_id].state is not LiveState.ACTIVE:
                raise LiveNotActive(live_id=str(live_id))
        creators = [lives[i].creator_id for i in self.live_ids]
        if len(set(creators)) != len(creators):
            raise ValidationFailed("Each side must be another creator's live.", field="opponents")
        catalog = ctx.repository(GiftBatchRepository)
        for gift_id in sorted(t.gift_ids or ()):
            if catalog.gift(gift_id) is None:
                raise UnknownGift(f"No gift {gift_id!r} in the catalog.", gift_id=gift_id)
        for live_id in self.live_ids:
            for battle_id in battles.of_live(ctx, live_id):
                other = battles.battle(ctx, battle_id)
                side = other.side(live_id) if other is not None else None
                if other is None or not other.is_open or side is None:
                    continue
                if side.state is not SideState.DECLINED:
                    raise InvalidTransition(
                        "This live is already in a battle (or invited to one).",
                        state=other.state.value,
                        live_id=str(live_id),
                        battle_id=str(other.id),
                    )
        sides = [SideRow(host.id, host.creator_id, 0, SideState.HOST)]
        sides += [
            SideRow(i, lives[i].creator_id, n, SideState.INVITED)
            for n, i in enumerate(t.opponents, start=1)
        ]
        row = BattleRow(
            id=ctx.book.next_id(),
            state=BattleState.INVITED,
            mode=t.mode,
            gift_ids=t.gift_ids,
            multiplier=t.multiplier,
            multiplier_seconds=t.multiplier_seconds,
            duration_seconds=t.duration_seconds,
            created_by=self.by,
            policy_version=self.policy_version,
            created_at=ctx.now,
            started_at=None,
            ends_at=None,
            ended_at=None,
            result=None,
            sides=tuple(sides),
        )
        battles.create(ctx, row)
        seqs = _broadcast(ctx, lives, row.sides, "battle_invited", summary(row))
        return _answer(ctx, row, seqs)


# --- answering ---------------------------------------------------------------------------------
class AnswerBattle(_OnBattle):
    """An invited creator accepts or declines. The battle starts when no invitation is pending
    any more and at least one opponent accepted; declined sides drop out; if every invited
    creator declined, the battle is canceled."""

    kind = "live.battle.answer"

    def __init__(self, battle_id: int, *, by: str, accept: bool) -> None:
        super().__init__(battle_id)
        self.by = by
        self.accept = accept

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        lives, row = self._load(ctx)
        side = row.side_of(self.by)
        if side is None or side.state is SideState.HOST:
            raise Forbidden("Only an invited creator can answer a battle.")
        if row.state is not BattleState.INVITED:
            raise InvalidTransition(
                "This battle is not waiting for answers.", state=row.state.value
            )
        if side.state is not SideState.INVITED:
            raise InvalidTransition("This invitation was already answered.", state=side.state.value)
        if self.accept and lives[side.live_id].state is not LiveState.ACTIVE:
            raise LiveNotActive(live_id=str(side.live_id))
        answered = replace(side, state=SideState.ACCEPTED if self.accept else SideState.DECLINED)
        row = row.with_side(answered)
        pending = any(s.state is SideState.INVITED for s in row.sides)
        starts = not pending and any(s.state is SideState.ACCEPTED for s in row.sides)
        if starts:
            for s in row.playing:
                if lives[s.live_id].state is not LiveState.ACTIVE:
                    raise LiveNotActive(live_id=str(s.live_id))
        listening = [s for s in row.sides if s.playing or s.state is SideState.INVITED]
        if not self.accept:
            listening.append(answered)
        payload = {
            "battle_id": str(row.id),
            "live_id": str(answered.live_id),
            "creator_id": answered.creator_id,
            "sides": summary(row)["sides"],
        }
        kind = "battle_accepted" if self.accept else "battle_declined"
        seqs = _broadcast(ctx, lives, sorted(listening, key=lambda s: s.position), kind, payload)
        if starts:
            row = self._start(ctx, row)
            battles.save(ctx, row)
            seqs = _broadcast(ctx, lives, row.playing, "battle_started", _started(ctx, row))
        elif pending:
            battles.save(ctx, row)
        else:
            battles.save(ctx, row)
            row, seqs = _cancel(ctx, lives, row, "declined")
        return _answer(ctx, row, seqs)

    @staticmethod
    def _start(ctx: BatchContext, row: BattleRow) -> BattleRow:
        ends_at = ctx.now + timedelta(seconds=row.duration_seconds)
        zero = {str(s.live_id): 0 for s in row.playing}
        return replace(
            row,
            state=BattleState.ACTIVE,
            started_at=ctx.now,
            ends_at=ends_at,
            last_score={"scored_at": rfc3339(ctx.now), "scores": zero},
        )


def _started(ctx: BatchContext, row: BattleRow) -> dict[str, Any]:
    terms = summary(row)
    terms["sides"] = [s for s in terms["sides"] if s["state"] != SideState.DECLINED.value]
    return {**terms, "scores": score_list(row, battles.scores(ctx, row))}


class CancelBattle(_OnBattle):
    """The inviting creator withdraws a battle that has not started."""

    kind = "live.battle.cancel"

    def __init__(self, battle_id: int, *, by: str) -> None:
        super().__init__(battle_id)
        self.by = by

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        lives, row = self._load(ctx)
        if row.created_by != self.by:
            raise Forbidden("Only the creator who started the battle can cancel it.")
        if row.state is not BattleState.INVITED:
            raise InvalidTransition(
                "Only a battle that has not started can be canceled.", state=row.state.value
            )
        row, seqs = _cancel(ctx, lives, row, "canceled")
        return _answer(ctx, row, seqs)


# --- the timer ---------------------------------------------------------------------------------
class ScoreBattles(Command):
    """``battle_score`` (every playing side's running total) in every playing room, for each
    active battle whose scores changed since its last one, at most once per ``every_ms``.

    The last snapshot is stored on the battle (``last_score``), so several processes, or a
    restarted one, coalesce together."""

    kind = "live.battle.score"
    success_status = 200

    def __init__(self, candidates: list[tuple[int, tuple[int, ...]]], every_ms: int) -> None:
        self.candidates = candidates
        self.every = timedelta(milliseconds=every_ms)

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        for battle_id, live_ids in self.candidates:
            for live_id in live_ids:
                rooms.announce(ctx, live_id)
                battles.announce_live(ctx, live_id)
            battles.announce_battle(ctx, battle_id)
        return ()

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        emitted = 0
        for battle_id, live_ids in self.candidates:
            lives = _lock(ctx, live_ids)
            row = battles.battle(ctx, battle_id)
            if row is None or row.state is not BattleState.ACTIVE or row.ends_at is None:
                continue
            if ctx.now >= row.ends_at:
                continue  # the end's event carries the final scores
            scores = battles.scores(ctx, row)
            current = {str(s.live_id): scores[s.live_id] for s in row.playing}
            snapshot = row.last_score or {}
            if snapshot.get("scores") == current:
                continue
            last = snapshot.get("scored_at")
            if last is not None and ctx.now - datetime.fromisoformat(last) < self.every:
                continue
            payload = {
                "battle_id": str(row.id),
                "scores": score_list(row, scores),
                "ends_at": rfc3339(row.ends_at),
            }
            _broadcast(ctx, lives, row.playing, "battle_score", payload)
            battles.save(
                ctx,
                replace(row, last_score={"scored_at": rfc3339(ctx.now), "scores": current}),
                sides=False,
            )
            emitted += 1
        return {"emitted": emitted}


class EndBattle(_OnBattle):
    """End a battle that is due: its deadline passed, or a live of a side still in it ended
    (then an active battle ends early, an invited one is canceled). Decided again here under
    every side's room lock: a battle already over, or not due, is left as it is."""

    kind = "live.battle.end"

    def __init__(self, battle_id: int, live_ids: tuple[int, ...] = ()) -> None:
        super().__init__(battle_id)
        self.known = live_ids

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        if not self.known:
            return super().account_hints(ctx)
        self.lives = self.known
        for live_id in self.lives:
            rooms.announce(ctx, live_id)
            battles.announce_live(ctx, live_id)
        battles.announce_battle(ctx, self.battle_id)
        return ()

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        lives, row = self._load(ctx)
        unchanged = {"battle_id": str(row.id), "ended": False, "state": row.state.value}
        if not row.is_open:
            return unchanged
        gone = [
            s.live_id
            for s in row.sides
            if s.state is not SideState.DECLINED and lives[s.live_id].state is not LiveState.ACTIVE
        ]
        if row.state is BattleState.INVITED:
            if not gone:
                return unchanged
            row, _ = _cancel(ctx, lives, row, "live_ended")
            return {"battle_id": str(row.id), "ended": True, "state": row.state.value}
        assert row.ends_at is not None
        due = ctx.now >= row.ends_at
        if not due and not gone:
            return unchanged
        scores = battles.scores(ctx, row)
        backers = battles.supporters(ctx, row)
        result = {
            **outcome(row, scores),
            "reason": "deadline" if due else "live_ended",
            "ended_lives": [str(i) for i in gone] if not due else [],
            "scores": score_list(row, scores),
            "supporters": [
                {
                    "live_id": str(s.live_id),
                    "top": supporters_view(top(backers.get(s.live_id, []), TOP_SUPPORTERS)),
                }
                for s in row.playing
            ],
        }
        row = replace(
            row, state=BattleState.ENDED, ended_at=ctx.now, result=result, last_score=None
        )
        battles.save(ctx, row, sides=False)
        payload = {"battle_id": str(row.id), **result, "ended_at": rfc3339(ctx.now)}
        seqs = _broadcast(ctx, lives, row.playing, "battle_ended", payload)
        return {"battle_id": str(row.id), "ended": True, "state": row.state.value, "seqs": seqs}
