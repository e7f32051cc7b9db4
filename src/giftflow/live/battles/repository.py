"""Every query of battles: the reads of the endpoints and of the timer (``tick``), the reads
inside the writer's batch (``BattleBatchRepository``, after the sides' rooms are locked) and the
batch extension that writes what the commands and the gift hook staged (``BATTLE_WRITES``:
set-based, one statement per kind of row per batch)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from giftflow.db import upsert_insert
from giftflow.ledger.prefetch import Read
from giftflow.live.battles.model import (
    OPEN,
    BattleRow,
    BattleState,
    SideRow,
    SideState,
    Supporter,
    top,
)
from giftflow.live.gifting.hooks import packed_ints
from giftflow.schema import battle_sides, battle_supporters, battles, lives

_OPEN_STATES = [s.value for s in OPEN]


def _battle(row: Any, sides: list[SideRow]) -> BattleRow:
    gift_ids = json.loads(row["gift_ids"]) if row["gift_ids"] else None
    return BattleRow(
        id=int(row["id"]),
        state=BattleState(row["state"]),
        mode=str(row["mode"]),
        gift_ids=frozenset(gift_ids) if gift_ids is not None else None,
        multiplier=int(row["multiplier"]),
        multiplier_seconds=int(row["multiplier_seconds"]),
        duration_seconds=int(row["duration_seconds"]),
        created_by=str(row["created_by"]),
        policy_version=str(row["policy_version"]),
        created_at=row["created_at"],
        started_at=row["started_at"],
        ends_at=row["ends_at"],
        ended_at=row["ended_at"],
        result=json.loads(row["result"]) if row["result"] else None,
        sides=tuple(sorted(sides, key=lambda s: s.position)),
        last_score=json.loads(row["last_score"]) if row["last_score"] else None,
    )


def _json(value: dict[str, Any] | None) -> str | None:
    return json.dumps(value, separators=(",", ":")) if value else None


def _side(row: Any) -> SideRow:
    return SideRow(
        live_id=int(row["live_id"]),
        creator_id=str(row["creator_id"]),
        position=int(row["position"]),
        state=SideState(row["state"]),
    )


@dataclass(frozen=True, slots=True)
class LoadedBattle:
    battle: BattleRow
    scores: dict[int, int]  # live id → stored score


def load_battles(conn: Connection, battle_ids: Iterable[int]) -> dict[int, LoadedBattle]:
    """Battles with their sides and stored scores (two statements, whatever the count)."""
    wanted = sorted(set(battle_ids))
    if not wanted:
        return {}
    sides: dict[int, list[SideRow]] = {i: [] for i in wanted}
    scores: dict[int, dict[int, int]] = {i: {} for i in wanted}
    for r in conn.execute(
        select(battle_sides).where(battle_sides.c.battle_id.in_(wanted))
    ).mappings():
        bid = int(r["battle_id"])
        sides[bid].append(_side(r))
        scores[bid][int(r["live_id"])] = int(r["score"])
    found: dict[int, LoadedBattle] = {}
    for r in conn.execute(select(battles).where(battles.c.id.in_(wanted))).mappings():
        bid = int(r["id"])
        found[bid] = LoadedBattle(_battle(r, sides[bid]), scores[bid])
    return found


def supporters(
    conn: Connection, battle_id: int, live_id: int | None = None
) -> dict[int, list[Supporter]]:
    """Each side's supporters of a battle (every one, by live id)."""
    c = battle_supporters.c
    stmt = select(c.live_id, c.user_id, c.score, c.reached_seq).where(c.battle_id == battle_id)
    if live_id is not None:
        stmt = stmt.where(c.live_id == live_id)
    found: dict[int, list[Supporter]] = {}
    for r in conn.execute(stmt):
        found.setdefault(int(r.live_id), []).append(
            Supporter(str(r.user_id), int(r.score), int(r.reached_seq))
        )
    return found


# --- endpoints and the timer -------------------------------------------------------------------
def battle_with_supporters(
    conn: Connection, battle_id: int, n: int
) -> tuple[LoadedBattle, dict[int, list[Supporter]]] | None:
    """A battle, its sides' scores and each side's top ``n`` supporters."""
    loaded = load_battles(conn, [battle_id]).get(battle_id)
    if loaded is None:
        return None
    c = battle_supporters.c
    tops: dict[int, list[Supporter]] = {}
    for side in loaded.battle.sides:
        rows = conn.execute(
            select(c.user_id, c.score, c.reached_seq)
            .where(c.battle_id == battle_id, c.live_id == side.live_id)
            .order_by(c.score.desc(), c.reached_seq, c.user_id)
            .limit(n)
        )
        tops[side.live_id] = top(
            (Supporter(str(r.user_id), int(r.score), int(r.reached_seq)) for r in rows), n
        )
    return loaded, tops


def battles_of_live(conn: Connection, live_id: int, limit: int) -> list[int]:
    """The ids of the battles a live was invited to or started, newest first."""
    rows = conn.execute(
        select(battle_sides.c.battle_id)
        .where(battle_sides.c.live_id == live_id)
        .order_by(battle_sides.c.battle_id.desc())
        .limit(limit)
    )
    return [int(r[0]) for r in rows]


@dataclass(frozen=True, slots=True)
class OpenBattle:
    """An open battle as the timer sees it (unlocked: every decision is made again under the
    rooms' locks)."""

    loaded: LoadedBattle
    ended_lives: frozenset[int]  # sides (not declined) whose live has ended


def open_battles(conn: Connection) -> list[OpenBattle]:
    """Every battle invited or active, with its sides' scores and which of their lives ended."""
    ids = [
        int(r[0])
        for r in conn.execute(select(battles.c.id).where(battles.c.state.in_(_OPEN_STATES)))
    ]
    if not ids:
        return []
    loaded = load_battles(conn, ids)
    ended = {
        (int(r.battle_id), int(r.live_id))
        for r in conn.execute(
            select(battle_sides.c.battle_id, battle_sides.c.live_id)
            .join(lives, lives.c.id == battle_sides.c.live_id)
            .where(
                battle_sides.c.battle_id.in_(ids),
                battle_sides.c.state != SideState.DECLINED.value,
                lives.c.state != "active",
            )
        )
    }
    return [
        OpenBattle(b, frozenset(lid for bid, lid in ended if bid == b.battle.id))
        for _, b in sorted(loaded.items())
    ]


# --- inside the writer's batch -----------------------------------------------------------------
_OPEN_OF_LIVES_PG = text(
    "SELECT s.live_id, s.battle_id FROM battle_sides s "
    "JOIN unnest(CAST(string_to_array(:ids, ',') AS bigint[])) AS w(id) ON s.live_id = w.id "
    "JOIN battles b ON b.id = s.battle_id WHERE b.state IN ('invited', 'active')"
)


class BattleBatchRepository:
    """Battles as a command or the gift hook reads them inside a batch, after the rooms of
    every side concerned are locked (every change of a battle's state locks all its sides'
    rooms; a gift locks its own live's room)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.is_pg = conn.dialect.name == "postgresql"

    def open_of_lives(self, live_ids: Iterable[int]) -> dict[int, list[int]]:
        """Live id → the open (invited or active) battles it is a side of. One statement for
        all the batch's lives: a gift batch with no battle going on costs just this."""
        wanted = sorted(set(live_ids))
        found: dict[int, list[int]] = {i: [] for i in wanted}
        if not wanted:
            return found
        if self.is_pg:
            # the ids packed in one string: every gift batch asks about all of its lives
            rows = self.conn.execute(_OPEN_OF_LIVES_PG, {"ids": packed_ints(wanted)})
        else:
            rows = self.conn.execute(
                select(battle_sides.c.live_id, battle_sides.c.battle_id)
                .join(battles, battles.c.id == battle_sides.c.battle_id)
                .where(
                    battle_sides.c.live_id.in_(wanted),
                    battles.c.state.in_(_OPEN_STATES),
                )
            )
        for live_id, battle_id in rows:
            found[int(live_id)].append(int(battle_id))
        return found

    @staticmethod
    def open_of_lives_read(
        live_ids: Iterable[int], into: Callable[[dict[int, list[int]]], None]
    ) -> Read:
        """``open_of_lives`` as a read of the batch's first round trip (``ledger.prefetch``)."""
        wanted = sorted(set(live_ids))

        def done(rows: list[dict[str, Any]]) -> None:
            found: dict[int, list[int]] = {i: [] for i in wanted}
            for r in rows:
                found[int(r["live_id"])].append(int(r["battle_id"]))
            into(found)

        return Read(_OPEN_OF_LIVES_PG, {"ids": packed_ints(wanted)}, done)

    def battles(self, battle_ids: Iterable[int]) -> dict[int, LoadedBattle]:
        return load_battles(self.conn, battle_ids)

    def side_lives(self, battle_id: int) -> list[int]:
        """The lives of a battle's sides (for account hints: sides never change)."""
        rows = self.conn.execute(
            select(battle_sides.c.live_id)
            .where(battle_sides.c.battle_id == battle_id)
            .order_by(battle_sides.c.live_id)
        )
        return [int(r[0]) for r in rows]

    def supporters(self, battle_id: int) -> dict[int, list[Supporter]]:
        return supporters(self.conn, battle_id)


class BattleWrites:
    """Batch extension. Rows: ``("battle", BattleRow, new)``, ``("side", battle_id, SideRow,
    new)``, ``("score", battle_id, live_id, points)`` and ``("supporter", battle_id, live_id,
    user_id, points, seq)``. Per batch: new battles and sides inserted, changed ones updated once
    (their last state), each side's score raised once by the batch's sum, each supporter upserted
    once (the sum, and the sequence of their last gift)."""

    name = "live.battles"

    def flush(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        latest: dict[int, BattleRow] = {}
        new_battles: set[int] = set()
        sides: dict[tuple[int, int], SideRow] = {}
        new_sides: set[tuple[int, int]] = set()
        scores: dict[tuple[int, int], int] = {}
        backers: dict[tuple[int, int, str], tuple[int, int]] = {}
        for row in rows:
            kind = row[0]
            if kind == "score":
                key2 = (row[1], row[2])
                scores[key2] = scores.get(key2, 0) + row[3]
            elif kind == "supporter":
                key3 = (row[1], row[2], row[3])
                points, seq = backers.get(key3, (0, 0))
                backers[key3] = (points + row[4], max(seq, row[5]))
            elif kind == "battle":
                latest[row[1].id] = row[1]
                if row[2]:
                    new_battles.add(row[1].id)
            elif kind == "side":
                key2 = (row[1], row[2].live_id)
                sides[key2] = row[2]
                if row[3]:
                    new_sides.add(key2)
        if latest:
            self._battles(conn, latest, new_battles)
        if sides:
            self._sides(conn, sides, new_sides)
        if scores:
            self._scores(conn, sorted(scores.items()))
        if backers:
            self._supporters(conn, sorted(backers.items()))

    @staticmethod
    def _battles(conn: Connection, latest: dict[int, BattleRow], new: set[int]) -> None:
        values = [
            {
                "b_id": b.id,
                "b_state": b.state.value,
                "b_started_at": b.started_at,
                "b_ends_at": b.ends_at,
                "b_ended_at": b.ended_at,
                "b_result": _json(b.result),
                "b_last_score": _json(b.last_score),
            }
            for _, b in sorted(latest.items())
        ]
        inserts = [
            {
                "id": b.id,
                "state": b.state.value,
                "mode": b.mode,
                "gift_ids": json.dumps(sorted(b.gift_ids)) if b.gift_ids is not None else None,
                "multiplier": b.multiplier,
                "multiplier_seconds": b.multiplier_seconds,
                "duration_seconds": b.duration_seconds,
                "created_by": b.created_by,
                "policy_version": b.policy_version,
                "created_at": b.created_at,
                "started_at": b.started_at,
                "ends_at": b.ends_at,
                "ended_at": b.ended_at,
                "result": _json(b.result),
                "last_score": _json(b.last_score),
            }
            for i, b in sorted(latest.items())
            if i in new
        ]
        if inserts:
            conn.execute(insert(battles), inserts)
        changed = [v for v in values if v["b_id"] not in new]
        if changed:
            conn.execute(
                update(battles)
                .where(battles.c.id == bindparam("b_id"))
                .values(
                    state=bindparam("b_state"),
                    started_at=bindparam("b_started_at"),
                    ends_at=bindparam("b_ends_at"),
                    ended_at=bindparam("b_ended_at"),
                    result=bindparam("b_result"),
                    last_score=bindparam("b_last_score"),
                ),
                changed,
            )

    @staticmethod
    def _sides(
        conn: Connection, sides: dict[tuple[int, int], SideRow], new: set[tuple[int, int]]
    ) -> None:
        inserts = [
            {
                "battle_id": k[0],
                "live_id": s.live_id,
                "creator_id": s.creator_id,
                "position": s.position,
                "state": s.state.value,
                "score": 0,
            }
            for k, s in sorted(sides.items())
            if k in new
        ]
        if inserts:
            conn.execute(insert(battle_sides), inserts)
        changed = [
            {"s_battle": k[0], "s_live": k[1], "s_state": s.state.value}
            for k, s in sorted(sides.items())
            if k not in new
        ]
        if changed:
            conn.execute(
                update(battle_sides)
                .where(
                    battle_sides.c.battle_id == bindparam("s_battle"),
                    battle_sides.c.live_id == bindparam("s_live"),
                )
                .values(state=bindparam("s_state")),
                changed,
            )

    @staticmethod
    def _scores(conn: Connection, scores: list[tuple[tuple[int, int], int]]) -> None:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    "UPDATE battle_sides s SET score = s.score + w.points "
                    "FROM unnest(CAST(:b AS bigint[]), CAST(:l AS bigint[]), "
                    "CAST(:p AS bigint[])) AS w(b, l, points) "
                    "WHERE s.battle_id = w.b AND s.live_id = w.l"
                ),
                {
                    "b": [k[0] for k, _ in scores],
                    "l": [k[1] for k, _ in scores],
                    "p": [p for _, p in scores],
                },
            )
            return
        conn.execute(
            update(battle_sides)
            .where(
                battle_sides.c.battle_id == bindparam("s_battle"),
                battle_sides.c.live_id == bindparam("s_live"),
            )
            .values(score=battle_sides.c.score + bindparam("s_points")),
            [{"s_battle": k[0], "s_live": k[1], "s_points": p} for k, p in scores],
        )

    @staticmethod
    def _supporters(
        conn: Connection, backers: list[tuple[tuple[int, int, str], tuple[int, int]]]
    ) -> None:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    "INSERT INTO battle_supporters (battle_id, live_id, user_id, score, "
                    "reached_seq) SELECT * FROM unnest(CAST(:b AS bigint[]), "
                    "CAST(:l AS bigint[]), CAST(:u AS text[]), CAST(:p AS bigint[]), "
                    "CAST(:s AS bigint[])) "
                    "ON CONFLICT (battle_id, live_id, user_id) DO UPDATE SET "
                    "score = battle_supporters.score + excluded.score, "
                    "reached_seq = excluded.reached_seq"
                ),
                {
                    "b": [k[0] for k, _ in backers],
                    "l": [k[1] for k, _ in backers],
                    "u": [k[2] for k, _ in backers],
                    "p": [v[0] for _, v in backers],
                    "s": [v[1] for _, v in backers],
                },
            )
            return
        stmt = upsert_insert(conn, battle_supporters)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["battle_id", "live_id", "user_id"],
                set_={
                    "score": battle_supporters.c.score + stmt.excluded.score,
                    "reached_seq": stmt.excluded.reached_seq,
                },
            ),
            [
                {
                    "battle_id": k[0],
                    "live_id": k[1],
                    "user_id": k[2],
                    "score": v[0],
                    "reached_seq": v[1],
                }
                for k, v in backers
            ],
        )


BATTLE_WRITES = BattleWrites()


def live_exists(conn: Connection, live_id: int) -> bool:
    return conn.execute(select(lives.c.id).where(lives.c.id == live_id)).first() is not None
