"""Every query of live rooms: lives, their viewers, open combos and earnings-hold buckets.

Endpoint reads and writes that move no value are plain functions on a connection. Inside the
writer's batch, ``LiveBatchRepository`` reads (lives after their room is locked, users' facts in
one query per batch) and ``LIVE_WRITES`` flushes what commands staged, set-based: one UPDATE per
live per batch whatever the number of gifts, upserts of viewers, combos and hold buckets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, text, tuple_, update

from giftflow.db import upsert_insert
from giftflow.ledger.prefetch import Read
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
    # the last leaderboard snapshot (0010) is the leaderboards' business, not the room's
    values.pop("leaderboard_at", None)
    values.pop("leaderboard_seq", None)
    return LiveRow(**values)


def _facts(row: Any) -> UserFacts:
    return _facts_of(row._mapping)


def _facts_of(values: Mapping[str, Any]) -> UserFacts:
    return UserFacts(
        id=values["id"],
        display_name=values["display_name"],
        region=values["region"],
        birth_date=values["birth_date"],
        follower_count=int(values["follower_count"]),
        frozen=bool(values["frozen"]),
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
    conn: Connection,
    *,
    creator_id: str,
    title: str | None,
    policy_version: str,
    now: datetime,
    subscribers_only: bool = False,
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
                subscribers_only=subscribers_only,
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


# Reads of the batch on PostgreSQL: joined on an array (one parameter whatever the count)
_LIVES_PG = text(
    "SELECT l.* FROM lives l JOIN unnest(CAST(:ids AS bigint[])) AS w(id) ON l.id = w.id"
).columns(*lives.c)
_FACTS_PG = text(
    "SELECT u.id, u.display_name, u.region, u.birth_date, u.follower_count, u.frozen "
    "FROM users u JOIN unnest(CAST(:ids AS text[])) AS w(id) ON u.id = w.id"
).columns(*_FACTS)


_LIVE_COLUMNS = tuple(lives.c)
_COMBO_COLUMNS = tuple(live_combos.c)
_COMBOS_PG = text(
    "SELECT c.* FROM live_combos c JOIN unnest(CAST(:l AS bigint[]), "
    "CAST(:u AS text[]), CAST(:g AS text[])) AS w(l, u, g) "
    "ON c.live_id = w.l AND c.user_id = w.u AND c.gift_id = w.g"
).columns(*live_combos.c)


class LiveBatchRepository:
    """Reads of live rooms inside one batch. A live's row is read after its room's sequence row
    is locked (``realtime.outbox``), which serialises every writer touching that live."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.is_pg = conn.dialect.name == "postgresql"

    def lives(self, live_ids: Iterable[int]) -> dict[int, LiveRow]:
        wanted = sorted(set(live_ids))
        if self.is_pg:  # one array parameter, not an IN list of hundreds
            rows = self.conn.execute(_LIVES_PG, {"ids": wanted}).mappings()
        else:
            rows = self.conn.execute(select(lives).where(lives.c.id.in_(wanted))).mappings()
        return {int(r["id"]): _live(r) for r in rows}

    # the same reads for the batch's first round trip (PostgreSQL, ``ledger.prefetch``)
    @staticmethod
    def lives_read(live_ids: Iterable[int], into: Callable[[dict[int, LiveRow]], None]) -> Read:
        return Read(
            _LIVES_PG,
            {"ids": sorted(set(live_ids))},
            lambda rows: into({int(r["id"]): _live(r) for r in rows}),
            _LIVE_COLUMNS,
        )

    @staticmethod
    def users_read(user_ids: Iterable[str], into: Callable[[dict[str, UserFacts]], None]) -> Read:
        return Read(
            _FACTS_PG,
            {"ids": sorted(set(user_ids))},
            lambda rows: into({r["id"]: _facts_of(r) for r in rows}),
            _FACTS,
        )

    @staticmethod
    def combos_read(
        keys: Iterable[tuple[int, str, str]],
        into: Callable[[dict[tuple[int, str, str], ComboRow]], None],
    ) -> Read:
        wanted = sorted(set(keys))
        return Read(
            _COMBOS_PG,
            {"l": [k[0] for k in wanted], "u": [k[1] for k in wanted], "g": [k[2] for k in wanted]},
            lambda rows: into({c.key: c for c in (ComboRow(**r) for r in rows)}),
            _COMBO_COLUMNS,
        )

    def creator_of(self, live_id: int) -> str | None:
        found = self.conn.execute(
            select(lives.c.creator_id).where(lives.c.id == live_id)
        ).scalar_one_or_none()
        return str(found) if found is not None else None

    def users(self, user_ids: Iterable[str]) -> dict[str, UserFacts]:
        if not self.is_pg:
            return user_facts(self.conn, user_ids)
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        rows = self.conn.execute(_FACTS_PG, {"ids": wanted})
        return {r.id: _facts(r) for r in rows}

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
        if self.is_pg:
            rows = self.conn.execute(
                _COMBOS_PG,
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
    """Batch extension: lives' totals and state, viewers, combos and hold buckets.

    On PostgreSQL each kind of row is one statement over arrays (``unnest``), however many rows a
    batch has (a batch of gifts from 500 viewers upserts 500 combos): psycopg's ``executemany``
    costs ~20 us of Python per row. Every row written here belongs to a live whose room the batch
    has locked, so the order rows are touched in cannot deadlock; hold buckets (keyed by creator)
    are inserted in key order all the same, as before.
    """

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
        lives_ = [r for _, r in sorted(latest_lives.items())]
        viewers_ = [v for _, v in sorted(viewers.items())]
        doomed = sorted(k for k, c in combos.items() if c is None)
        alive = [c for _, c in sorted(combos.items()) if c is not None]
        holds_ = sorted(holds.items())
        if conn.dialect.name == "postgresql":
            _flush_pg(conn, lives_, viewers_, doomed, alive, holds_)
            return
        if lives_:
            conn.execute(
                update(lives)
                .where(lives.c.id == bindparam("l_id"))
                .values({name: bindparam(f"l_{name}") for name, _ in LIVE_COLUMNS}),
                [
                    {"l_id": r.id, **{f"l_{n}": v for n, v in _live_values(r).items()}}
                    for r in lives_
                ],
            )
        if viewers_:
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
                    for v in viewers_
                ],
            )
        if doomed:
            cols = (live_combos.c.live_id, live_combos.c.user_id, live_combos.c.gift_id)
            conn.execute(delete(live_combos).where(tuple_(*cols).in_(doomed)))
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
        if holds_:
            stmt = upsert_insert(conn, diamond_holds)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["creator_id", "release_on"],
                    set_={"hundredths": diamond_holds.c.hundredths + stmt.excluded.hundredths},
                ),
                [{"creator_id": c, "release_on": d, "hundredths": h} for (c, d), h in holds_],
            )


# What LiveWrites keeps current on a live's row, with each column's PostgreSQL type: both the
# executemany (SQLite) and the array (PostgreSQL) statement are made from this one list.
LIVE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("state", "text"),
    ("ended_at", "timestamptz"),
    ("gifts_count", "bigint"),
    ("coins_total", "bigint"),
    ("diamonds_total", "bigint"),
    ("viewer_count", "bigint"),
    ("peak_viewers", "bigint"),
)


def _live_values(row: LiveRow) -> dict[str, Any]:
    out = {name: getattr(row, name) for name, _ in LIVE_COLUMNS}
    out["state"] = row.state.value
    return out


_UPDATE_LIVES = text(
    "UPDATE lives SET "
    + ", ".join(f"{name} = v.{name}" for name, _ in LIVE_COLUMNS)
    + " FROM unnest(CAST(:id AS bigint[]), "
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in LIVE_COLUMNS)
    + ") AS v(id, "
    + ", ".join(name for name, _ in LIVE_COLUMNS)
    + ") WHERE lives.id = v.id"
)
_UPSERT_VIEWERS = text(
    "INSERT INTO live_viewers (live_id, user_id, joined_at, first_joined_at, watch_seconds) "
    "SELECT * FROM unnest(CAST(:live AS bigint[]), CAST(:user AS text[]), "
    "CAST(:joined AS timestamptz[]), CAST(:first AS timestamptz[]), CAST(:seconds AS bigint[])) "
    "ON CONFLICT (live_id, user_id) DO UPDATE SET joined_at = excluded.joined_at, "
    "watch_seconds = excluded.watch_seconds"
)
_DELETE_COMBOS = text(
    "DELETE FROM live_combos c USING unnest(CAST(:live AS bigint[]), CAST(:user AS text[]), "
    "CAST(:gift AS text[])) AS w(l, u, g) "
    "WHERE c.live_id = w.l AND c.user_id = w.u AND c.gift_id = w.g"
)
_UPSERT_COMBOS = text(
    "INSERT INTO live_combos (live_id, user_id, gift_id, combo_id, combo_count, coins, last_at) "
    "SELECT * FROM unnest(CAST(:live AS bigint[]), CAST(:user AS text[]), CAST(:gift AS text[]), "
    "CAST(:combo AS bigint[]), CAST(:count AS bigint[]), CAST(:coins AS bigint[]), "
    "CAST(:last AS timestamptz[])) "
    "ON CONFLICT (live_id, user_id, gift_id) DO UPDATE SET combo_id = excluded.combo_id, "
    "combo_count = excluded.combo_count, coins = excluded.coins, last_at = excluded.last_at"
)
_UPSERT_HOLDS = text(
    "INSERT INTO diamond_holds (creator_id, release_on, hundredths) "
    "SELECT * FROM unnest(CAST(:creator AS text[]), CAST(:day AS date[]), "
    "CAST(:hundredths AS bigint[])) "
    "ON CONFLICT (creator_id, release_on) DO UPDATE "
    "SET hundredths = diamond_holds.hundredths + excluded.hundredths"
)


def _flush_pg(
    conn: Connection,
    lives_: list[LiveRow],
    viewers_: list[ViewerRow],
    doomed: list[tuple[int, str, str]],
    alive: list[ComboRow],
    holds_: list[tuple[tuple[str, date], int]],
) -> None:
    """``LiveWrites.flush`` on PostgreSQL: one statement over arrays per kind of row."""
    if lives_:
        values = [_live_values(r) for r in lives_]
        params: dict[str, Any] = {"id": [r.id for r in lives_]}
        for name, _ in LIVE_COLUMNS:
            params[name] = [v[name] for v in values]
        conn.execute(_UPDATE_LIVES, params)
    if viewers_:
        conn.execute(
            _UPSERT_VIEWERS,
            {
                "live": [v.live_id for v in viewers_],
                "user": [v.user_id for v in viewers_],
                "joined": [v.joined_at for v in viewers_],
                "first": [v.first_joined_at for v in viewers_],
                "seconds": [v.watch_seconds for v in viewers_],
            },
        )
    if doomed:
        conn.execute(
            _DELETE_COMBOS,
            {
                "live": [k[0] for k in doomed],
                "user": [k[1] for k in doomed],
                "gift": [k[2] for k in doomed],
            },
        )
    if alive:
        conn.execute(
            _UPSERT_COMBOS,
            {
                "live": [c.live_id for c in alive],
                "user": [c.user_id for c in alive],
                "gift": [c.gift_id for c in alive],
                "combo": [c.combo_id for c in alive],
                "count": [c.combo_count for c in alive],
                "coins": [c.coins for c in alive],
                "last": [c.last_at for c in alive],
            },
        )
    if holds_:
        conn.execute(
            _UPSERT_HOLDS,
            {
                "creator": [k[0] for k, _ in holds_],
                "day": [k[1] for k, _ in holds_],
                "hundredths": [h for _, h in holds_],
            },
        )


LIVE_WRITES = LiveWrites()
