"""A battle (LIVE Match) as rows and pure rules: its states, its sides, what a gift scores and
how the result is decided. No I/O here: the commands and the gift hook apply these rules inside
the writer's batch, the endpoints show them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from giftflow.clock import rfc3339

TOP_SUPPORTERS = 3  # per side, in ``battle_ended`` (``GET /v1/battles/{id}`` shows more)


class BattleState(StrEnum):
    INVITED = "invited"  # waiting for the invited creators' answers
    ACTIVE = "active"  # started: gifts score until ``ends_at``
    ENDED = "ended"  # the result is in ``result``
    CANCELED = "canceled"  # never started: declined by all, canceled, or a live ended first


class SideState(StrEnum):
    HOST = "host"  # the creator who started it (position 0)
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"


PLAYING = (SideState.HOST, SideState.ACCEPTED)
OPEN = (BattleState.INVITED, BattleState.ACTIVE)


@dataclass(frozen=True, slots=True)
class SideRow:
    live_id: int
    creator_id: str
    position: int
    state: SideState

    @property
    def playing(self) -> bool:
        return self.state in PLAYING


@dataclass(frozen=True, slots=True)
class BattleRow:
    id: int
    state: BattleState
    mode: str  # all | gifts
    gift_ids: frozenset[str] | None  # mode "gifts": only these count
    multiplier: int
    multiplier_seconds: int
    duration_seconds: int
    created_by: str
    policy_version: str
    created_at: datetime
    started_at: datetime | None
    ends_at: datetime | None
    ended_at: datetime | None
    # once over: the result (or, canceled, the reason)
    result: dict[str, Any] | None
    sides: tuple[SideRow, ...]
    # while active: the last ``battle_score`` snapshot ({"scored_at", "scores"}), started with
    # zeros when the battle starts, cleared when it ends (``battles.last_score``)
    last_score: dict[str, Any] | None = None

    def side(self, live_id: int) -> SideRow | None:
        for s in self.sides:
            if s.live_id == live_id:
                return s
        return None

    def side_of(self, creator_id: str) -> SideRow | None:
        for s in self.sides:
            if s.creator_id == creator_id:
                return s
        return None

    @property
    def playing(self) -> tuple[SideRow, ...]:
        return tuple(s for s in self.sides if s.playing)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN

    def with_side(self, side: SideRow) -> BattleRow:
        sides = tuple(side if s.live_id == side.live_id else s for s in self.sides)
        return replace(self, sides=sides)

    def points(self, gift_id: str, coins: int, at: datetime) -> int:
        """What a gift of ``coins`` at ``at`` scores (0: it does not count). Counted while the
        battle is active, from ``started_at`` included to ``ends_at`` excluded; mode ``gifts``
        counts only the listed gifts; the first ``multiplier_seconds`` multiply."""
        if self.state is not BattleState.ACTIVE or self.started_at is None or self.ends_at is None:
            return 0
        if not self.started_at <= at < self.ends_at:
            return 0
        if self.gift_ids is not None and gift_id not in self.gift_ids:
            return 0
        if self.multiplier > 1 and at < self.started_at + timedelta(
            seconds=self.multiplier_seconds
        ):
            return coins * self.multiplier
        return coins


@dataclass(frozen=True, slots=True)
class Supporter:
    user_id: str
    score: int
    reached_seq: int  # the gift event (in the side's room) that brought the score: ties go first


def top(supporters: Iterable[Supporter], n: int) -> list[Supporter]:
    """Highest score first; a tie goes to who reached the score first, then the user id."""
    return sorted(supporters, key=lambda s: (-s.score, s.reached_seq, s.user_id))[:n]


def outcome(battle: BattleRow, scores: Mapping[int, int]) -> dict[str, Any]:
    """The result over the playing sides: the highest score wins; equal highest scores (0–0
    included) are a draw between those sides."""
    playing = battle.playing
    best = max((scores.get(s.live_id, 0) for s in playing), default=0)
    leaders = [s for s in playing if scores.get(s.live_id, 0) == best]
    if len(leaders) == 1:
        winner: dict[str, Any] | None = side_ref(leaders[0])
        return {"outcome": "win", "winner": winner, "tied": []}
    return {"outcome": "draw", "winner": None, "tied": [str(s.live_id) for s in leaders]}


def side_ref(side: SideRow) -> dict[str, Any]:
    return {"live_id": str(side.live_id), "creator_id": side.creator_id}


def score_list(battle: BattleRow, scores: Mapping[int, int]) -> list[dict[str, Any]]:
    return [
        {**side_ref(s), "position": s.position, "score": scores.get(s.live_id, 0)}
        for s in battle.playing
    ]


def supporters_view(supporters: Iterable[Supporter]) -> list[dict[str, Any]]:
    return [{"user_id": s.user_id, "score": s.score} for s in supporters]


def summary(battle: BattleRow) -> dict[str, Any]:
    """The battle's terms and sides, as its events and endpoints show them."""
    multiplier_until = None
    if battle.started_at is not None and battle.multiplier > 1:
        until = battle.started_at + timedelta(seconds=battle.multiplier_seconds)
        multiplier_until = rfc3339(until)
    return {
        "battle_id": str(battle.id),
        "state": battle.state.value,
        "mode": battle.mode,
        "gift_ids": sorted(battle.gift_ids) if battle.gift_ids is not None else None,
        "multiplier": battle.multiplier,
        "multiplier_seconds": battle.multiplier_seconds,
        "multiplier_until": multiplier_until,
        "duration_seconds": battle.duration_seconds,
        "created_by": battle.created_by,
        "started_at": rfc3339(battle.started_at) if battle.started_at else None,
        "ends_at": rfc3339(battle.ends_at) if battle.ends_at else None,
        "sides": [
            {**side_ref(s), "position": s.position, "state": s.state.value} for s in battle.sides
        ],
    }


def battle_view(
    battle: BattleRow, scores: Mapping[int, int], tops: Mapping[int, list[Supporter]]
) -> dict[str, Any]:
    """A battle as its endpoints answer it: terms, state, deadline, each side's score and top
    supporters, and (once over) the result."""
    terms = summary(battle)
    terms.pop("battle_id")
    terms.pop("sides")
    over = battle.state in (BattleState.ENDED, BattleState.CANCELED)
    return {
        "id": str(battle.id),
        "object": "battle",
        **terms,
        "created_at": rfc3339(battle.created_at),
        "ended_at": rfc3339(battle.ended_at) if battle.ended_at else None,
        "sides": [
            {
                **side_ref(s),
                "position": s.position,
                "state": s.state.value,
                "score": scores.get(s.live_id, 0),
                "supporters": supporters_view(tops.get(s.live_id, [])),
            }
            for s in battle.sides
        ],
        "result": battle.result if over else None,
    }
