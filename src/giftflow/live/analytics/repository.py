"""Every query of analytics: the batch extension that keeps the buckets, and the endpoint reads.

``ANALYTICS_WRITES`` receives each committed gift of a batch (its ``GiftFact``, staged by the
hook) and writes, once per batch and set-based, whatever the number of gifts:

- ``analytics_gift_minutes``: adds gifts (count), coins and diamonds per (live, UTC minute,
  recipient, gift) — one row serves the live's figures (its rows, whoever received), the
  recipient's (their rows, in any live) and the top gifts of both;
- ``analytics_gifters``: inserts, if absent, (``creator``, recipient, UTC hour, gifter).

A live's unique gifters are not kept here: they are its ``live_supporters`` rows (one per viewer
who gave in the live, kept by the leaderboards in the same batch). Rows are written in key order,
so two writers (processes) touching the same creator's rows lock them in one order.

Endpoint reads group stored rows into the request's buckets in the database (see
``periods.Grid``) and never read postings or room events. A scope is ``live`` (scope id the
live's id) or ``creator`` (scope id the recipient).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    and_,
    case,
    cast,
    distinct,
    func,
    literal_column,
    or_,
    select,
    text,
)

from giftflow.db import read_snapshot, upsert_insert
from giftflow.live.analytics.periods import Grid, epoch
from giftflow.live.gifting.hooks import GiftFact, packed_ids, packed_ints
from giftflow.schema import (
    analytics_gift_minutes,
    analytics_gifters,
    follower_series,
    gifts,
    live_supporters,
    live_viewers,
    lives,
    users,
)

LIVE = "live"
CREATOR = "creator"

MinuteKey = tuple[int, datetime, str, str]  # live, minute, recipient, gift
GifterKey = tuple[str, str, datetime, str]


# --- inside the writer's batch -----------------------------------------------------------------
def aggregate(facts: list[GiftFact]) -> tuple[dict[MinuteKey, list[int]], set[GifterKey]]:
    """The batch's deltas per key (SQLite): (gifts, coins, diamonds) per (live, minute,
    recipient, gift), and the creator scope's (hour, gifter) pairs."""
    minutes: dict[MinuteKey, list[int]] = {}
    gifters: set[GifterKey] = set()
    truncated: dict[datetime, tuple[datetime, datetime]] = {}  # a batch has one time
    for f in facts:
        cut = truncated.get(f.at)
        if cut is None:
            utc = f.at.astimezone(UTC)
            cut = truncated[f.at] = (
                utc.replace(second=0, microsecond=0),
                utc.replace(minute=0, second=0, microsecond=0),
            )
        minute, hour = cut
        key = (f.live_id, minute, f.recipient_id, f.gift_id)
        m = minutes.get(key)
        if m is None:
            minutes[key] = [f.count, f.coins, f.diamonds]
        else:
            m[0] += f.count
            m[1] += f.coins
            m[2] += f.diamonds
        gifters.add((CREATOR, f.recipient_id, hour, f.viewer_id))
    return minutes, gifters


# PostgreSQL: the batch's gifts go to the server once, as columns (one element per gift, packed
# as strings: ``hooks.packed_ints``); the server sums them per key and writes both tables in one
# statement. A batch's gifts share its time (minute, hour).
_WRITE_PG = text(
    "WITH g AS (SELECT * FROM unnest(CAST(string_to_array(:live, ',') AS bigint[]), "
    "string_to_array(:rcpt, ','), string_to_array(:who, ','), string_to_array(:gift, ','), "
    "CAST(string_to_array(:count, ',') AS bigint[]), "
    "CAST(string_to_array(:coins, ',') AS bigint[]), "
    "CAST(string_to_array(:diamonds, ',') AS bigint[])) "
    "AS g(live, rcpt, who, gift, count, coins, diamonds)), "
    "u AS (INSERT INTO analytics_gifters (scope, scope_id, hour, user_id) "
    "SELECT 'creator', rcpt, CAST(:hour AS timestamptz), who FROM g GROUP BY rcpt, who "
    "ORDER BY rcpt, who ON CONFLICT (scope, scope_id, hour, user_id) DO NOTHING) "
    "INSERT INTO analytics_gift_minutes AS a (live_id, minute, recipient_id, gift_id, gifts, "
    "coins, diamonds) "
    "SELECT live, CAST(:minute AS timestamptz), rcpt, gift, sum(count), sum(coins), "
    "sum(diamonds) FROM g GROUP BY live, rcpt, gift ORDER BY live, rcpt, gift "
    "ON CONFLICT (live_id, minute, recipient_id, gift_id) DO UPDATE SET "
    "gifts = a.gifts + excluded.gifts, coins = a.coins + excluded.coins, "
    "diamonds = a.diamonds + excluded.diamonds"
)


class AnalyticsWrites:
    """Batch extension: the gifts of a batch into the two analytics tables (one statement per
    batch on PostgreSQL, summed by the server; on SQLite aggregated here, one executemany per
    table)."""

    name = "live.analytics"

    def flush(self, conn: Connection, rows: list[GiftFact]) -> None:
        if conn.dialect.name == "postgresql":
            by_time: dict[datetime, list[GiftFact]] = {}
            for f in rows:
                by_time.setdefault(f.at, []).append(f)
            for at, facts in by_time.items():
                _flush_pg(conn, at, facts)
            return
        minutes, gifters = aggregate(rows)
        if minutes:
            t = analytics_gift_minutes
            stmt = upsert_insert(conn, t)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["live_id", "minute", "recipient_id", "gift_id"],
                    set_={
                        "gifts": t.c.gifts + stmt.excluded.gifts,
                        "coins": t.c.coins + stmt.excluded.coins,
                        "diamonds": t.c.diamonds + stmt.excluded.diamonds,
                    },
                ),
                [
                    {
                        "live_id": live,
                        "minute": minute,
                        "recipient_id": recipient,
                        "gift_id": gift,
                        "gifts": v[0],
                        "coins": v[1],
                        "diamonds": v[2],
                    }
                    for (live, minute, recipient, gift), v in sorted(minutes.items())
                ],
            )
        if gifters:
            stmt = upsert_insert(conn, analytics_gifters)
            conn.execute(
                stmt.on_conflict_do_nothing(
                    index_elements=["scope", "scope_id", "hour", "user_id"]
                ),
                [
                    {"scope": s, "scope_id": i, "hour": h, "user_id": u}
                    for s, i, h, u in sorted(gifters)
                ],
            )


def _flush_pg(conn: Connection, at: datetime, facts: list[GiftFact]) -> None:
    utc = at.astimezone(UTC)
    conn.execute(
        _WRITE_PG,
        {
            "minute": utc.replace(second=0, microsecond=0),
            "hour": utc.replace(minute=0, second=0, microsecond=0),
            "live": packed_ints([f.live_id for f in facts]),
            "rcpt": packed_ids([f.recipient_id for f in facts]),
            "who": packed_ids([f.viewer_id for f in facts]),
            "gift": packed_ids([f.gift_id for f in facts]),
            "count": packed_ints([f.count for f in facts]),
            "coins": packed_ints([f.coins for f in facts]),
            "diamonds": packed_ints([f.diamonds for f in facts]),
        },
    )


ANALYTICS_WRITES = AnalyticsWrites()


# --- endpoint reads ----------------------------------------------------------------------------
snapshot = read_snapshot  # one read transaction (giftflow.db)


def _n(value: int) -> ColumnElement[Any]:
    """An integer written into the statement (computed here, never from input): no bind
    parameter, so the same expression renders identically in SELECT and GROUP BY."""
    return literal_column(str(int(value)))


def _epoch(conn: Connection, column: Any) -> ColumnElement[Any]:
    """Whole Unix seconds of a stored time, in SQL (SQLite stores UTC text). No bind parameters:
    the expression is repeated in GROUP BY and window clauses."""
    if conn.dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", column)), BigInteger)
    return cast(func.strftime(literal_column("'%s'"), column), Integer)


def _bucket_key(conn: Connection, column: Any, grid: Grid) -> ColumnElement[Any]:
    """``(epoch + offset(epoch)) // unit`` of a stored row's start (``periods.Grid``)."""
    e = _epoch(conn, column)
    shifted: ColumnElement[Any] = e
    *steps, (_, last) = grid.pieces
    if steps:
        offset: ColumnElement[Any] = case(
            *[(e < _n(until), _n(off)) for until, off in steps if until is not None],
            else_=_n(last),
        )
        shifted = (e + offset).self_group()
    elif last:
        shifted = (e + _n(last)).self_group()
    return shifted.op("/")(_n(grid.unit))


def _of(scope: str, scope_id: str) -> ColumnElement[bool]:
    """The gift rows of a scope: a live's (whoever received), or a recipient's (any live)."""
    t = analytics_gift_minutes.c
    return t.live_id == int(scope_id) if scope == LIVE else t.recipient_id == scope_id


def user_exists(conn: Connection, user_id: str) -> bool:
    return conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is not None


def bucket_sums(
    conn: Connection, scope: str, scope_id: str, grid: Grid, start: datetime, end: datetime
) -> dict[int, tuple[int, int, int]]:
    """(gifts, coins, diamonds) per bucket key of the minutes in [start, end)."""
    t = analytics_gift_minutes
    key = _bucket_key(conn, t.c.minute, grid).label("k")
    rows = conn.execute(
        select(key, func.sum(t.c.gifts), func.sum(t.c.coins), func.sum(t.c.diamonds))
        .where(_of(scope, scope_id), t.c.minute >= start, t.c.minute < end)
        .group_by(key)
    )
    return {int(k): (int(g), int(c), int(d)) for k, g, c, d in rows}


def bucket_gifters(
    conn: Connection, scope: str, scope_id: str, grid: Grid, start: datetime, end: datetime
) -> dict[int, int]:
    """Distinct gifters per bucket key, over the hours starting in [start, end)."""
    t = analytics_gifters
    key = _bucket_key(conn, t.c.hour, grid).label("k")
    rows = conn.execute(
        select(key, func.count(distinct(t.c.user_id)))
        .where(t.c.scope == scope, t.c.scope_id == scope_id, t.c.hour >= start)
        .where(t.c.hour < end)
        .group_by(key)
    )
    return {int(k): int(n) for k, n in rows}


def gifters_between(
    conn: Connection, scope: str, scope_id: str, start: datetime | None, end: datetime | None
) -> int:
    """Distinct gifters over the hours starting in [start, end) (None: unbounded)."""
    t = analytics_gifters
    stmt = select(func.count(distinct(t.c.user_id))).where(
        t.c.scope == scope, t.c.scope_id == scope_id
    )
    if start is not None:
        stmt = stmt.where(t.c.hour >= start)
    if end is not None:
        stmt = stmt.where(t.c.hour < end)
    return int(conn.execute(stmt).scalar_one())


def live_gifters(conn: Connection, live_id: int) -> int:
    """Distinct senders of a live: its supporters (one row per viewer who gave in it)."""
    t = live_supporters
    found = conn.execute(select(func.count()).select_from(t).where(t.c.live_id == live_id))
    return int(found.scalar_one())


@dataclass(frozen=True, slots=True)
class TopGift:
    gift_id: str
    name: str | None
    count: int
    coins: int


def top_gifts(
    conn: Connection,
    scope: str,
    scope_id: str,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[TopGift]:
    """The gifts with the most coins over the minutes in [start, end) (None: unbounded), then
    by count, then by id; with their catalog names."""
    t = analytics_gift_minutes
    count, coins = func.sum(t.c.gifts), func.sum(t.c.coins)
    stmt = select(t.c.gift_id, count.label("n"), coins.label("c")).where(_of(scope, scope_id))
    if start is not None:
        stmt = stmt.where(t.c.minute >= start)
    if end is not None:
        stmt = stmt.where(t.c.minute < end)
    ranked = (
        stmt.group_by(t.c.gift_id)
        .order_by(coins.desc(), count.desc(), t.c.gift_id)
        .limit(limit)
        .subquery()
    )
    rows = conn.execute(
        select(ranked.c.gift_id, gifts.c.name, ranked.c.n, ranked.c.c)
        .select_from(ranked.outerjoin(gifts, gifts.c.id == ranked.c.gift_id))
        .order_by(ranked.c.c.desc(), ranked.c.n.desc(), ranked.c.gift_id)
    )
    return [TopGift(g, name, int(n), int(c)) for g, name, n, c in rows]


def _per_minute(scope: str, scope_id: str) -> Any:
    """A scope's minutes with gifts: (minute, gifts, coins, diamonds) summed over its rows."""
    t = analytics_gift_minutes
    return (
        select(
            t.c.minute.label("minute"),
            func.sum(t.c.gifts).label("gifts"),
            func.sum(t.c.coins).label("coins"),
            func.sum(t.c.diamonds).label("diamonds"),
        )
        .where(_of(scope, scope_id))
        .group_by(t.c.minute)
        .subquery()
    )


def minute_rows(
    conn: Connection, scope: str, scope_id: str, limit: int
) -> list[tuple[datetime, int, int, int]]:
    """The newest ``limit`` stored minutes of a scope (minutes with gifts), newest first."""
    m = _per_minute(scope, scope_id)
    rows = conn.execute(
        select(m.c.minute, m.c.gifts, m.c.coins, m.c.diamonds)
        .order_by(m.c.minute.desc())
        .limit(limit)
    )
    return [(mi, int(g), int(c), int(d)) for mi, g, c, d in rows]


def peak_minute(
    conn: Connection, scope: str, scope_id: str
) -> tuple[datetime, int, int, int] | None:
    """The stored minute with the most coins (the earliest of equals)."""
    m = _per_minute(scope, scope_id)
    row = conn.execute(
        select(m.c.minute, m.c.gifts, m.c.coins, m.c.diamonds)
        .order_by(m.c.coins.desc(), m.c.minute)
        .limit(1)
    ).first()
    return (row[0], int(row[1]), int(row[2]), int(row[3])) if row is not None else None


def scope_totals(conn: Connection, scope: str, scope_id: str) -> tuple[int, int, int, int]:
    """(gifts, coins, diamonds, minutes with gifts) over every stored row of a scope."""
    t = analytics_gift_minutes
    g, c, d, n = conn.execute(
        select(
            func.coalesce(func.sum(t.c.gifts), 0),
            func.coalesce(func.sum(t.c.coins), 0),
            func.coalesce(func.sum(t.c.diamonds), 0),
            func.count(distinct(t.c.minute)),
        ).where(_of(scope, scope_id))
    ).one()
    return int(g), int(c), int(d), int(n)


@dataclass(frozen=True, slots=True)
class LiveFacts:
    id: int
    creator_id: str
    state: str
    started_at: datetime
    ended_at: datetime | None
    viewer_count: int
    peak_viewers: int


def live(conn: Connection, live_id: int) -> LiveFacts | None:
    row = conn.execute(
        select(
            lives.c.id,
            lives.c.creator_id,
            lives.c.state,
            lives.c.started_at,
            lives.c.ended_at,
            lives.c.viewer_count,
            lives.c.peak_viewers,
        ).where(lives.c.id == live_id)
    ).first()
    if row is None:
        return None
    return LiveFacts(
        int(row.id),
        row.creator_id,
        row.state,
        row.started_at,
        row.ended_at,
        int(row.viewer_count),
        int(row.peak_viewers),
    )


@dataclass(frozen=True, slots=True)
class ViewerFigures:
    lives: int
    viewer_count: int  # watching now
    peak_viewers: int  # the highest peak of one live
    unique_viewers: int
    watch_seconds: int  # closed sessions
    open_watch_seconds: int  # sessions still running, up to now


def viewer_figures(
    conn: Connection,
    now: datetime,
    *,
    live_id: int | None = None,
    creator_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ViewerFigures:
    """Viewers of one live, or of a creator's lives on air at some point in [start, end)."""
    chosen = select(lives.c.id)
    if live_id is not None:
        chosen = chosen.where(lives.c.id == live_id)
    if creator_id is not None:
        chosen = chosen.where(lives.c.creator_id == creator_id)
    if end is not None:
        chosen = chosen.where(lives.c.started_at < end)
    if start is not None:
        chosen = chosen.where(or_(lives.c.ended_at.is_(None), lives.c.ended_at > start))
    ids = chosen.scalar_subquery()
    count, watching, peak = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(lives.c.viewer_count), 0),
            func.coalesce(func.max(lives.c.peak_viewers), 0),
        ).where(lives.c.id.in_(ids))
    ).one()
    v = live_viewers
    open_seconds = case(
        (v.c.joined_at.is_not(None), _n(epoch(now)) - _epoch(conn, v.c.joined_at)), else_=0
    )
    unique, closed, running = conn.execute(
        select(
            func.count(distinct(v.c.user_id)),
            func.coalesce(func.sum(v.c.watch_seconds), 0),
            func.coalesce(func.sum(open_seconds), 0),
        ).where(v.c.live_id.in_(ids))
    ).one()
    return ViewerFigures(
        int(count), int(watching), int(peak), int(unique), int(closed), max(0, int(running))
    )


def follower_at(
    conn: Connection, user_id: str, at: datetime, *, inclusive: bool = True
) -> int | None:
    """The series' last count at or before ``at`` (strictly before unless ``inclusive``)."""
    t = follower_series
    stmt = select(t.c.follower_count).where(t.c.user_id == user_id)
    stmt = stmt.where(t.c.at <= at if inclusive else t.c.at < at).order_by(t.c.at.desc())
    found = conn.execute(stmt.limit(1)).scalar()
    return int(found) if found is not None else None


def first_follower_report(
    conn: Connection, user_id: str, at: datetime
) -> tuple[datetime, int] | None:
    """The series' first point at or after ``at``."""
    t = follower_series
    row = conn.execute(
        select(t.c.at, t.c.follower_count)
        .where(t.c.user_id == user_id, t.c.at >= at)
        .order_by(t.c.at)
        .limit(1)
    ).first()
    return (row[0], int(row[1])) if row is not None else None


def follower_points(
    conn: Connection, user_id: str, grid: Grid, start: datetime, end: datetime
) -> list[tuple[int, datetime, int]]:
    """The last point of each bucket in [start, end): (bucket key, at, count), by time."""
    t = follower_series
    key = _bucket_key(conn, t.c.at, grid)
    ranked = (
        select(
            key.label("k"),
            t.c.at,
            t.c.follower_count,
            func.row_number().over(partition_by=key, order_by=t.c.at.desc()).label("r"),
        )
        .where(t.c.user_id == user_id, and_(t.c.at >= start, t.c.at < end))
        .subquery()
    )
    rows = conn.execute(
        select(ranked.c.k, ranked.c.at, ranked.c.follower_count)
        .where(ranked.c.r == 1)
        .order_by(ranked.c.at)
    )
    return [(int(k), _utc(at), int(n)) for k, at, n in rows]


def _utc(value: Any) -> datetime:
    """A time read from a subquery column (the UTCDateTime type is carried through on both
    dialects by SQLAlchemy, but be explicit: aware UTC)."""
    if isinstance(value, str):  # pragma: no cover - defensive (SQLite text)
        value = datetime.fromisoformat(value)
    at: datetime = value
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
