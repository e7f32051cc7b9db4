"""Every query of live goals: the endpoint's list, the batch's read of the goals of every live a
batch touches (one statement), and ``GOAL_WRITES``, the batch extension that writes what the
batch created or advanced in one upsert, whatever the number of gifts.

A goal's rows are only ever changed inside the writer's batch under its live's room lock
(creating a goal appends ``goal_created``; a gift appends its own event first), so the batch
reads a live's goals once, after that lock, and keeps them in the book's memo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, text

from giftflow.db import upsert_insert
from giftflow.ledger.prefetch import Read
from giftflow.live.gifting.hooks import packed_ints
from giftflow.schema import live_goals, lives


@dataclass(frozen=True, slots=True)
class GoalRow:
    id: int
    live_id: int
    kind: str  # coins | gift
    gift_id: str | None
    target: int
    title: str
    progress: int  # exact: coins, or gifts of ``gift_id``, since the goal was created
    completed_at: datetime | None
    created_at: datetime

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


def _goal(row: Any) -> GoalRow:
    return GoalRow(
        id=int(row["id"]),
        live_id=int(row["live_id"]),
        kind=row["kind"],
        gift_id=row["gift_id"],
        target=int(row["target"]),
        title=row["title"],
        progress=int(row["progress"]),
        completed_at=row["completed_at"],
        created_at=row["created_at"],
    )


# --- endpoints -------------------------------------------------------------------------------
def live_exists(conn: Connection, live_id: int) -> bool:
    return conn.execute(select(lives.c.id).where(lives.c.id == live_id)).first() is not None


def goals_of(conn: Connection, live_id: int) -> list[GoalRow]:
    rows = conn.execute(
        select(live_goals).where(live_goals.c.live_id == live_id).order_by(live_goals.c.id)
    ).mappings()
    return [_goal(r) for r in rows]


# --- inside the writer's batch -----------------------------------------------------------------
_GOAL_COLUMNS = tuple(live_goals.c)
_GOALS_PG = text(
    "SELECT g.* FROM live_goals g "
    "JOIN unnest(CAST(string_to_array(:ids, ',') AS bigint[])) AS w(id) ON g.live_id = w.id"
).columns(*live_goals.c)


class GoalBatchRepository:
    """The goals of the batch's lives, read in one statement after their rooms are locked."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def goals_read(
        live_ids: Iterable[int], into: Callable[[dict[int, list[GoalRow]]], None]
    ) -> Read:
        """``goals`` as a read of the batch's first round trip (``ledger.prefetch``)."""
        return Read(
            _GOALS_PG,
            {"ids": packed_ints(sorted(set(live_ids)))},
            lambda rows: into(_by_live(_goal(r) for r in rows)),
            _GOAL_COLUMNS,
        )

    def goals(self, live_ids: Iterable[int]) -> dict[int, list[GoalRow]]:
        wanted = sorted(set(live_ids))
        if not wanted:
            return {}
        if self.conn.dialect.name == "postgresql":  # one parameter, not an IN list
            rows = self.conn.execute(_GOALS_PG, {"ids": packed_ints(wanted)}).mappings()
        else:
            rows = self.conn.execute(
                select(live_goals).where(live_goals.c.live_id.in_(wanted))
            ).mappings()
        return _by_live(_goal(r) for r in rows)


def _by_live(goals: Iterable[GoalRow]) -> dict[int, list[GoalRow]]:
    found: dict[int, list[GoalRow]] = {}
    for goal in sorted(goals, key=lambda g: g.id):
        found.setdefault(goal.live_id, []).append(goal)
    return found


_UPSERT_PG = text(
    "INSERT INTO live_goals (id, live_id, kind, gift_id, target, title, progress, completed_at, "
    "created_at) SELECT * FROM unnest(CAST(:id AS bigint[]), CAST(:live AS bigint[]), "
    "CAST(:kind AS text[]), CAST(:gift AS text[]), CAST(:target AS bigint[]), "
    "CAST(:title AS text[]), CAST(:progress AS bigint[]), CAST(:done AS timestamptz[]), "
    "CAST(:created AS timestamptz[])) "
    "ON CONFLICT (id) DO UPDATE SET progress = excluded.progress, "
    "completed_at = excluded.completed_at"
)


class GoalWrites:
    """Batch extension: goals created or advanced in the batch, the latest state of each goal
    in one upsert (a goal advanced by a thousand gifts of a batch is written once)."""

    name = "live.goals"

    def flush(self, conn: Connection, rows: list[GoalRow]) -> None:
        latest: dict[int, GoalRow] = {}
        for row in rows:  # in command order: the last is the batch's final state
            latest[row.id] = row
        goals = [g for _, g in sorted(latest.items())]
        if not goals:
            return
        if conn.dialect.name == "postgresql":
            conn.execute(
                _UPSERT_PG,
                {
                    "id": [g.id for g in goals],
                    "live": [g.live_id for g in goals],
                    "kind": [g.kind for g in goals],
                    "gift": [g.gift_id for g in goals],
                    "target": [g.target for g in goals],
                    "title": [g.title for g in goals],
                    "progress": [g.progress for g in goals],
                    "done": [g.completed_at for g in goals],
                    "created": [g.created_at for g in goals],
                },
            )
            return
        stmt = upsert_insert(conn, live_goals)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["id"],
                set_={
                    "progress": stmt.excluded.progress,
                    "completed_at": stmt.excluded.completed_at,
                },
            ),
            [
                {
                    "id": g.id,
                    "live_id": g.live_id,
                    "kind": g.kind,
                    "gift_id": g.gift_id,
                    "target": g.target,
                    "title": g.title,
                    "progress": g.progress,
                    "completed_at": g.completed_at,
                    "created_at": g.created_at,
                }
                for g in goals
            ],
        )


GOAL_WRITES = GoalWrites()
