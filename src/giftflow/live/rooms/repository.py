"""Every query of live rooms: lives, their viewers, open combos and earnings-hold buckets.

Endpoint reads and writes that move no value are plain functions on a connection. Inside the
writer's batch, ``LiveBatchRepository`` reads (lives after their room is locked, users' facts in
one query per batch) and ``LIVE_WRITES`` flushes what commands staged, set-based: one UPDATE per
live per batch whatever the number of gifts, upserts of viewers, combos and hold buckets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, text, tuple_, update

from giftflow.db import upsert_insert
from giftflow.live.rooms.model import LiveRow, LiveState, UserFacts
from giftflow.live.rooms.views import live_view
from giftflow.realtime.outbox import open_room, stored_last_seq
from giftflow.schema import diamond_holds, live_combos, live_viewers, lives, users

_FACTS = (
    users.c.id,
    users.c.display_name,
    users.c.region,
    users.c.birth_date,
    users.c.follower_count,
    users.c.frozen,
)


def _live(row: Any) -> LiveRow:
    values = dict(row)
    values["state"] = LiveState(values["state"])
    return LiveRow(**values)


def _facts(row: Any) -> UserFacts:
    return UserFacts(
        id=row.id,
        display_name=row.display_name,
        region=row.region,
        birth_date=row.birth_date,
        follower_count=int(row.follower_count),
        frozen=bool(row.frozen),
    )


# --- endpoints -------------------------------------------------------------------------------
def user_facts(
    conn: Connection, user_ids: Iterable[str], *, lock: bool = False
) -> dict[str, UserFacts]:
    """Users' facts; ``lock``: their rows locked until the transaction ends (PostgreSQL)."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    stmt = select(*_FACTS).where(users.c.id.in_(wanted)).order_by(users.c.id)
    rows = conn.execute(stmt.with_for_update() if lock else stmt)
    return {r.id: _facts(r) for r in rows}


def get_live(conn: Connection, live_id: int) -> LiveRow | None:
    row = conn.execute(select(lives).where(lives.c.id == live_id)).mappings().first()
    return _live(row) if row is not None else None


def active_live_of(conn: Connection, creator_id: str) -> int | None:
    found = conn.execute(
        select(lives.c.id).where(
            lives.c.creator_id == creator_id, lives.c.state == LiveState.ACTIVE.value
        )
    ).scalar()
    return int(found) if found is not None else None


def list_lives(
    conn: Connection, *, state: str | None, creator_id: str | None, limit: int
) -> list[LiveRow]:
    stmt = select(lives)
    if state is not None:
        stmt = stmt.where(lives.c.state == state)
    if creator_id is not None:
        stmt = stmt.where(lives.c.creator_id == creator_id)
    rows = conn.execute(stmt.order_by(lives.c.id.desc()).limit(limit)).mappings()
    return [_live(r) for r in rows]


def create_live(
    conn: Connection, *, creator_id: str, title: str | None, policy_version: str, now: datetime
) -> int:
    """The live's row and its room (a new room has no other writer yet: its first event,
    ``live_started``, is written here, at sequence 1)."""
    return int(
        conn.execute(
            insert(lives)
            .values(
                creator_id=creator_id,
                title=title,
                state=LiveState.ACTIVE.value,
                policy_version=policy_version,
                started_at=now,
            )
            .returning(lives.c.id)
        ).scalar_one()
    )


def open_live_room(conn: Connection, live_id: int, payload: dict[str, Any], now: datetime) -> None:
    open_room(conn, live_id, "live_started", payload, now)


def watch_seconds(conn: Connection, live_id: int) -> tuple[int, int]:
    """(total watch seconds of viewers who left, unique viewers) of a live."""
    row = conn.execute(
        select(func.coalesce(func.sum(live_viewers.c.watch_seconds), 0), func.count()).where(
            live_viewers.c.live_id == live_id
        )
    ).one()
    return int(row[0]), int(row[1])


def live_facts(conn: Connection, live_id: int) -> tuple[LiveRow, int, int, int] | None:
    """The live, its room's last sequence, its unique viewers and their closed watch time."""
    live = get_live(conn, live_id)
    if live is None:
        return None
    seconds, unique = watch_seconds(conn, live_id)
    return live, stored_last_seq(conn, live_id) or 0, unique, seconds


def room_state(conn: Connection, room_id: int) -> dict[str, Any] | None:
    """The room stream's ``welcome`` state: the live as ``GET /v1/lives/{id}`` shows it (without
    the eligibility, which needs the policy: the stream shows what happened, not rules)."""
    found = live_facts(conn, room_id)
    if found is None:
        return None
    live, last, unique, seconds = found
    view = live_view(
        live, ineligible=None, last_seq=last, unique_viewers=unique, watch_seconds=seconds
    )
    view.pop("eligible")
    view.pop("ineligible_reason")
    return view


# --- inside the writer's batch -----------------------------------------------------------------
@dataclass(slots=True)
class ViewerRow:
    live_id: int
    user_id: str
    joined_at: datetime | None
    first_joined_at: datetime
    watch_seconds: int


@dataclass(slots=True)
class ComboRow:
    live_id: int
    user_id: str
    gift_id: str
    combo_id: int
    combo_count: int
    coins: int
    last_at: datetime

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.live_id, self.user_id, self.gift_id)


class LiveBatchRepository:
    """Reads of live rooms inside one batch. A live's row is read after its room's sequence row
    is locked (``realtime.outbox``), which serialises every writer touching that live."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def lives(self, live_ids: Iterable[int]) -> dict[int, LiveRow]:
        wanted = sorted(set(live_ids))
        rows = self.conn.execute(select(lives).where(lives.c.id.in_(wanted))).mappings()
        return {int(r["id"]): _live(r) for r in rows}

    def creator_of(self, live_id: int) -> str | None:
        found = self.conn.execute(
            select(lives.c.creator_id).where(lives.c.id == live_id)
        ).scalar_one_or_none()
        return str(found) if found is not None else None

    def users(self, user_ids: Iterable[str]) -> dict[str, UserFacts]:
        return user_facts(self.conn, user_ids)

    def viewer(self, live_id: int, user_id: str) -> ViewerRow | None:
        row = (
            self.conn.execute(
                select(live_viewers).where(
                    live_viewers.c.live_id == live_id, live_viewers.c.user_id == user_id
                )
            )
            .mappings()
            .first()
        )
        return ViewerRow(**row) if row is not None else None

    def watching(self, live_id: int) -> list[ViewerRow]:
        rows = self.conn.execute(
            select(live_viewers).where(
                live_viewers.c.live_id == live_id, live_viewers.c.joined_at.is_not(None)
            )
        ).mappings()
        return [ViewerRow(**r) for r in rows]

    def combos(self, keys: Iterable[tuple[int, str, str]]) -> dict[tuple[int, str, str], ComboRow]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        if self.conn.dialect.name == "postgresql":
            rows = self.conn.execute(
                text(
                    "SELECT c.* FROM live_combos c JOIN unnest(CAST(:l AS bigint[]), "
                    "CAST(:u AS text[]), CAST(:g AS text[])) AS w(l, u, g) "
                    "ON c.live_id = w.l AND c.user_id = w.u AND c.gift_id = w.g"
                ).columns(*live_combos.c),
                {
                    "l": [k[0] for k in wanted],
                    "u": [k[1] for k in wanted],
                    "g": [k[2] for k in wanted],
                },
            ).mappings()
            return {c.key: c for c in (ComboRow(**r) for r in rows)}
        cols = (live_combos.c.live_id, live_combos.c.user_id, live_combos.c.gift_id)
        rows = self.conn.execute(select(live_combos).where(tuple_(*cols).in_(wanted))).mappings()
        found = [ComboRow(**r) for r in rows]
        return {c.key: c for c in found}

    def combos_of(self, live_id: int) -> list[ComboRow]:
        rows = self.conn.execute(
            select(live_combos).where(live_combos.c.live_id == live_id)
        ).mappings()
        return [ComboRow(**r) for r in rows]


def expired_combos(conn: Connection, cutoff: datetime, limit: int) -> list[ComboRow]:
    """Combos whose last send is older than ``cutoff`` (candidates; re-checked under the lock)."""
    rows = conn.execute(
        select(live_combos)
        .where(live_combos.c.last_at < cutoff)
        .order_by(live_combos.c.last_at)
        .limit(limit)
    ).mappings()
    return [ComboRow(**r) for r in rows]


def any_combo_before(conn: Connection, cutoff: datetime) -> bool:
    found = conn.execute(select(live_combos.c.combo_id).where(live_combos.c.last_at < cutoff))
    return found.first() is not None


class LiveWrites:
    """Batch extension: lives' totals and state, viewers, combos and hold buckets."""

    name = "live.writes"

    def flush(self, conn: Connection, rows: list[tuple[str, Any]]) -> None:
        latest_lives: dict[int, LiveRow] = {}
        viewers: dict[tuple[int, str], ViewerRow] = {}
        combos: dict[tuple[int, str, str], ComboRow | None] = {}
        holds: dict[tuple[str, date], int] = {}
        for op, value in rows:
            if op == "live":
                latest_lives[value.id] = value
            elif op == "viewer":
                viewers[(value.live_id, value.user_id)] = value
            elif op == "combo":
                combos[value.key] = value
            elif op == "combo_delete":
                combos[value] = None
            elif op == "hold":
                creator, release_on, hundredths = value
                holds[(creator, release_on)] = holds.get((creator, release_on), 0) + hundredths
        if latest_lives:
            conn.execute(
                update(lives)
                .where(lives.c.id == bindparam("l_id"))
                .values(
                    state=bindparam("l_state"),
                    ended_at=bindparam("l_ended_at"),
                    gifts_count=bindparam("l_gifts"),
                    coins_total=bindparam("l_coins"),
                    diamonds_total=bindparam("l_diamonds"),
                    viewer_count=bindparam("l_viewers"),
                    peak_viewers=bindparam("l_peak"),
                ),
                [
                    {
                        "l_id": r.id,
                        "l_state": r.state.value,
                        "l_ended_at": r.ended_at,
                        "l_gifts": r.gifts_count,
                        "l_coins": r.coins_total,
                        "l_diamonds": r.diamonds_total,
                        "l_viewers": r.viewer_count,
                        "l_peak": r.peak_viewers,
                    }
                    for _, r in sorted(latest_lives.items())
                ],
            )
        if viewers:
            stmt = upsert_insert(conn, live_viewers)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["live_id", "user_id"],
                    set_={
                        "joined_at": stmt.excluded.joined_at,
                        "watch_seconds": stmt.excluded.watch_seconds,
                    },
                ),
                [
                    {
                        "live_id": v.live_id,
                        "user_id": v.user_id,
                        "joined_at": v.joined_at,
                        "first_joined_at": v.first_joined_at,
                        "watch_seconds": v.watch_seconds,
                    }
                    for _, v in sorted(viewers.items())
                ],
            )
        doomed = sorted(k for k, c in combos.items() if c is None)
        if doomed:
            cols = (live_combos.c.live_id, live_combos.c.user_id, live_combos.c.gift_id)
            conn.execute(delete(live_combos).where(tuple_(*cols).in_(doomed)))
        alive = [c for _, c in sorted(combos.items()) if c is not None]
        if alive:
            stmt = upsert_insert(conn, live_combos)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["live_id", "user_id", "gift_id"],
                    set_={
                        "combo_id": stmt.excluded.combo_id,
                        "combo_count": stmt.excluded.combo_count,
                        "coins": stmt.excluded.coins,
                        "last_at": stmt.excluded.last_at,
                    },
                ),
                [
                    {
                        "live_id": c.live_id,
                        "user_id": c.user_id,
                        "gift_id": c.gift_id,
                        "combo_id": c.combo_id,
                        "combo_count": c.combo_count,
                        "coins": c.coins,
                        "last_at": c.last_at,
                    }
                    for c in alive
                ],
            )
        if holds:
            stmt = upsert_insert(conn, diamond_holds)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["creator_id", "release_on"],
                    set_={"hundredths": diamond_holds.c.hundredths + stmt.excluded.hundredths},
                ),
                [
                    {"creator_id": c, "release_on": d, "hundredths": h}
                    for (c, d), h in sorted(holds.items())
                ],
            )


LIVE_WRITES = LiveWrites()
