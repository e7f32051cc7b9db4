"""Every query of leaderboards: the boards and ranks the endpoints read, the batch's reads for a
live's snapshot, and ``LEADERBOARD_WRITES``, the batch extension that folds a batch's gifts into
the three score tables with one upsert each.

- ``live_supporters`` (live, viewer): coins and gifts; ties by ``reached_at`` then the gift
  event's ``seq`` in the room (``reached_seq``), which orders a room's gifts exactly.
- ``supporter_scores`` (creator, period, period start, viewer) and ``creator_scores`` (period,
  period start, creator): coins; ties by ``reached_at`` then the gift's **transaction id**
  (``reached_seq``): these boards span rooms, whose sequences cannot be compared, while a
  transaction id is unique per gift, follows command order inside a batch and needs no read.

A score's ``reached_at``/``reached_seq`` are those of the gift that last raised it, so "who
reached the score first" is the lexicographic order of the pair. The upsert keeps the later pair
when two writers meet on a row (``CASE``), so the order in which concurrent batches commit does
not matter.

The live's last ``leaderboard`` snapshot is remembered in ``live_supporters`` itself, as the row
of the empty user id (``SNAPSHOT_MARK``, which no user can have): ``reached_at`` and
``reached_seq`` are the snapshot's time and event sequence, ``coins`` and ``gifts`` stay 0. It is
written by the snapshot command under the room's lock like the live's scores, so every process
sees it; every board query leaves it out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    case,
    func,
    or_,
    select,
    text,
)

from giftflow.db import upsert_insert
from giftflow.schema import (
    creator_scores,
    live_supporters,
    lives,
    room_events,
    supporter_scores,
    users,
)

PERIODS = ("day", "week", "month", "all")
ALL_TIME = date(1970, 1, 1)
SNAPSHOT_MARK = ""  # the user id of a live's snapshot row (a user id has 1 to 64 characters)


def period_start(period: str, today: date) -> date:
    """The first day of the ``period`` that ``today`` (a local date) falls in: the day itself,
    its ISO week's Monday, the first of its month, or 1970-01-01 for all time."""
    if period == "day":
        return today
    if period == "week":
        return today - timedelta(days=today.weekday())
    if period == "month":
        return today.replace(day=1)
    if period == "all":
        return ALL_TIME
    raise ValueError(f"unknown period {period!r}")


def period_starts(today: date) -> tuple[tuple[str, date], ...]:
    return tuple((p, period_start(p, today)) for p in PERIODS)


# --- staged rows -------------------------------------------------------------------------------
class GiftScore(NamedTuple):
    """One gift, as the leaderboards count it (staged by the hook, folded by the flush): a plain
    tuple, the cheapest thing to make once per gift."""

    live_id: int
    viewer_id: str
    recipient_id: str
    coins: int
    gifts: int  # the gift's count
    at: datetime  # the batch's time
    seq: int  # the gift event's sequence in the live's room
    txn_id: int
    today: date  # the gift's local day in the policy's time zone


class SnapshotMark(NamedTuple):
    """A live's ``leaderboard`` event was appended at ``seq``."""

    live_id: int
    at: datetime
    seq: int


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a board: a viewer (live and creator boards) or a creator (global boards)."""

    id: str
    name: str | None
    coins: int
    gifts: int | None  # live boards only
    reached_at: datetime
    reached_seq: int


# --- boards ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Board:
    """Which rows of which table make one board, and the column naming who is ranked."""

    table: Table
    where: tuple[ColumnElement[bool], ...]
    who: Any  # the id column

    def _gifts(self) -> Any:
        return self.table.c.gifts if self.table is live_supporters else None


def live_board(live_id: int) -> Board:
    t = live_supporters
    return Board(t, (t.c.live_id == live_id, t.c.user_id != SNAPSHOT_MARK), t.c.user_id)


def supporter_board(creator_id: str, period: str, start: date) -> Board:
    t = supporter_scores
    where = (t.c.creator_id == creator_id, t.c.period == period, t.c.period_start == start)
    return Board(t, where, t.c.user_id)


def creator_board(period: str, start: date) -> Board:
    t = creator_scores
    return Board(t, (t.c.period == period, t.c.period_start == start), t.c.creator_id)


def _entry(row: Any) -> Entry:
    gifts = row._mapping.get("gifts")
    return Entry(
        id=row.who,
        name=row.display_name,
        coins=int(row.coins),
        gifts=int(gifts) if gifts is not None else None,
        reached_at=row.reached_at,
        reached_seq=int(row.reached_seq),
    )


def _select(board: Board) -> Any:
    t = board.table
    columns = [board.who.label("who"), users.c.display_name, t.c.coins]
    gifts = board._gifts()
    if gifts is not None:
        columns.append(gifts)
    columns += [t.c.reached_at, t.c.reached_seq]
    return select(*columns).select_from(t.outerjoin(users, users.c.id == board.who))


def top(conn: Connection, board: Board, limit: int) -> list[Entry]:
    """The board's first ``limit`` entries: coins descending, then who reached them first."""
    t = board.table
    stmt = (
        _select(board)
        .where(*board.where)
        .order_by(t.c.coins.desc(), t.c.reached_at, t.c.reached_seq, board.who)
        .limit(limit)
    )
    return [_entry(r) for r in conn.execute(stmt)]


def entry(conn: Connection, board: Board, who: str) -> Entry | None:
    found = conn.execute(_select(board).where(*board.where, board.who == who)).first()
    return _entry(found) if found is not None else None


def rank(conn: Connection, board: Board, mine: Entry) -> int:
    """1 + the entries strictly ahead of ``mine``: more coins, or as many reached earlier."""
    t = board.table
    ahead = or_(
        t.c.coins > mine.coins,
        and_(
            t.c.coins == mine.coins,
            or_(
                t.c.reached_at < mine.reached_at,
                and_(t.c.reached_at == mine.reached_at, t.c.reached_seq < mine.reached_seq),
            ),
        ),
    )
    count = conn.execute(select(func.count()).select_from(t).where(*board.where, ahead))
    return 1 + int(count.scalar_one())


def live_creator(conn: Connection, live_id: int) -> str | None:
    found = conn.execute(select(lives.c.creator_id).where(lives.c.id == live_id)).scalar()
    return str(found) if found is not None else None


def user_name(conn: Connection, user_id: str) -> tuple[bool, str | None]:
    """(whether the user exists, their display name)."""
    found = conn.execute(select(users.c.display_name).where(users.c.id == user_id)).first()
    return (found is not None, found.display_name if found is not None else None)


def active_totals(conn: Connection) -> dict[int, int]:
    """Coins received by every active live (what the snapshot loop watches for change)."""
    rows = conn.execute(select(lives.c.id, lives.c.coins_total).where(lives.c.state == "active"))
    return {int(r.id): int(r.coins_total) for r in rows}


# --- inside the writer's batch -----------------------------------------------------------------
class LeaderboardBatchRepository:
    """What a live's snapshot reads inside the batch, after its room is locked."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def marks(self, live_ids: Iterable[int]) -> dict[int, tuple[datetime, int]]:
        """The (time, seq) of each live's last snapshot."""
        wanted = sorted(set(live_ids))
        if not wanted:
            return {}
        t = live_supporters
        rows = self.conn.execute(
            select(t.c.live_id, t.c.reached_at, t.c.reached_seq).where(
                t.c.live_id.in_(wanted), t.c.user_id == SNAPSHOT_MARK
            )
        )
        return {int(r.live_id): (r.reached_at, int(r.reached_seq)) for r in rows}

    def event(self, room_id: int, seq: int) -> dict[str, Any] | None:
        """A stored room event (None: purged)."""
        payload = self.conn.execute(
            select(room_events.c.payload).where(
                room_events.c.room_id == room_id, room_events.c.seq == seq
            )
        ).scalar()
        if payload is None:
            return None
        found: dict[str, Any] = json.loads(payload)
        return found

    def top(self, live_id: int, limit: int) -> list[Entry]:
        return top(self.conn, live_board(live_id), limit)

    def entries(self, live_id: int, user_ids: Sequence[str]) -> dict[str, Entry]:
        if not user_ids:
            return {}
        board = live_board(live_id)
        rows = self.conn.execute(
            _select(board).where(*board.where, board.who.in_(sorted(set(user_ids))))
        )
        return {e.id: e for e in (_entry(r) for r in rows)}

    def names(self, user_ids: Iterable[str]) -> dict[str, str | None]:
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        rows = self.conn.execute(
            select(users.c.id, users.c.display_name).where(users.c.id.in_(wanted))
        )
        return {r.id: r.display_name for r in rows}


@dataclass(slots=True)
class Fold:
    """A batch's gifts summed per key, for one batch time and one local day (a batch has one
    time, and one day unless the policy's time zone changed within it):

    - ``live``: (live, viewer) -> [coins, gifts, seq of the last gift]; snapshot marks as
      (live, ``SNAPSHOT_MARK``) -> [0, 0, the snapshot's seq];
    - ``supporters``: (recipient, viewer) -> [coins, transaction id of the last gift];
    - ``creators``: recipient -> [coins, transaction id of the last gift].

    Each supporter and creator sum counts for every period of ``today``: the flush writes it
    under the four period starts.
    """

    at: datetime
    today: date | None
    live: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    supporters: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    creators: dict[str, list[int]] = field(default_factory=dict)


def fold(rows: Iterable[GiftScore | SnapshotMark]) -> list[Fold]:
    """Three dictionary updates per gift, whatever the number of periods."""
    folds: dict[tuple[datetime, date | None], Fold] = {}
    current: Fold | None = None
    for row in rows:
        if type(row) is SnapshotMark:
            key: tuple[datetime, date | None] = (row.at, None)
            mark = folds.get(key) or folds.setdefault(key, Fold(row.at, None))
            mark.live[(row.live_id, SNAPSHOT_MARK)] = [0, 0, row.seq]
            continue
        assert type(row) is GiftScore
        if current is None or current.at != row.at or current.today != row.today:
            key = (row.at, row.today)
            current = folds.get(key) or folds.setdefault(key, Fold(row.at, row.today))
        found = current.live.get((row.live_id, row.viewer_id))
        if found is None:
            current.live[(row.live_id, row.viewer_id)] = [row.coins, row.gifts, row.seq]
        else:
            found[0] += row.coins
            found[1] += row.gifts
            found[2] = max(found[2], row.seq)
        found = current.supporters.get((row.recipient_id, row.viewer_id))
        if found is None:
            current.supporters[(row.recipient_id, row.viewer_id)] = [row.coins, row.txn_id]
        else:
            found[0] += row.coins
            found[1] = max(found[1], row.txn_id)
        found = current.creators.get(row.recipient_id)
        if found is None:
            current.creators[row.recipient_id] = [row.coins, row.txn_id]
        else:
            found[0] += row.coins
            found[1] = max(found[1], row.txn_id)
    return list(folds.values())


_UPSERT_LIVE_PG = text(
    "INSERT INTO live_supporters AS s (live_id, user_id, coins, gifts, reached_at, reached_seq) "
    "SELECT v.live, v.who, v.coins, v.gifts, CAST(:at AS timestamptz), v.seq "
    "FROM unnest(CAST(:live AS bigint[]), CAST(:who AS text[]), CAST(:coins AS bigint[]), "
    "CAST(:gifts AS bigint[]), CAST(:seq AS bigint[])) AS v(live, who, coins, gifts, seq) "
    "ON CONFLICT (live_id, user_id) DO UPDATE SET coins = s.coins + excluded.coins, "
    "gifts = s.gifts + excluded.gifts, reached_at = excluded.reached_at, "
    "reached_seq = excluded.reached_seq"
)
_NEWER_PG = "(excluded.reached_at, excluded.reached_seq) > (s.reached_at, s.reached_seq)"
_KEEP_LATER_PG = (
    f"reached_at = CASE WHEN {_NEWER_PG} THEN excluded.reached_at ELSE s.reached_at END, "
    f"reached_seq = CASE WHEN {_NEWER_PG} THEN excluded.reached_seq ELSE s.reached_seq END"
)
# each (recipient, viewer) sum once in the arrays, written under the four periods by the server
_PERIODS_PG = (
    "CROSS JOIN unnest(CAST(:period AS text[]), CAST(:start AS date[])) AS p(period, start) "
)
_UPSERT_SUPPORTERS_PG = text(
    "INSERT INTO supporter_scores AS s (creator_id, period, period_start, user_id, coins, "
    "reached_at, reached_seq) "
    "SELECT v.creator, p.period, p.start, v.who, v.coins, CAST(:at AS timestamptz), v.seq "
    "FROM unnest(CAST(:creator AS text[]), CAST(:who AS text[]), CAST(:coins AS bigint[]), "
    "CAST(:seq AS bigint[])) AS v(creator, who, coins, seq) "
    + _PERIODS_PG
    + "ON CONFLICT (creator_id, period, period_start, user_id) DO UPDATE SET "
    f"coins = s.coins + excluded.coins, {_KEEP_LATER_PG}"
)
_UPSERT_CREATORS_PG = text(
    "INSERT INTO creator_scores AS s (period, period_start, creator_id, coins, reached_at, "
    "reached_seq) "
    "SELECT p.period, p.start, v.creator, v.coins, CAST(:at AS timestamptz), v.seq "
    "FROM unnest(CAST(:creator AS text[]), CAST(:coins AS bigint[]), CAST(:seq AS bigint[])) "
    "AS v(creator, coins, seq) "
    + _PERIODS_PG
    + "ON CONFLICT (period, period_start, creator_id) DO UPDATE SET "
    f"coins = s.coins + excluded.coins, {_KEEP_LATER_PG}"
)


class LeaderboardWrites:
    """Batch extension: the batch's gifts folded per key (``fold``), then one upsert per table
    (arrays on PostgreSQL, where the server writes each sum under the four periods;
    ``executemany`` on SQLite). A batch whose gifts fall on two local days (the policy's time
    zone changed within it) writes one statement per day.

    Writers of several processes hardly meet on these rows: a live's rows are only written by
    batches holding its room's lock, and a creator's rows by batches that locked the creator's
    diamonds account (every gift to them credits it). Rows are still written in key order, so
    that batches which do meet (a policy switching the earnings hold on between them: the
    diamonds go to another account) take them in one order.
    """

    name = "live.leaderboards"

    def flush(self, conn: Connection, rows: list[GiftScore | SnapshotMark]) -> None:
        pg = conn.dialect.name == "postgresql"
        for part in fold(rows):
            if pg:
                _flush_pg(conn, part)
            else:
                _flush_sqlite(conn, part)


def _flush_pg(conn: Connection, part: Fold) -> None:
    live, supporters, creators = _sorted(part)
    if live:
        conn.execute(
            _UPSERT_LIVE_PG,
            {
                "at": part.at,
                "live": [k[0] for k, _ in live],
                "who": [k[1] for k, _ in live],
                "coins": [f[0] for _, f in live],
                "gifts": [f[1] for _, f in live],
                "seq": [f[2] for _, f in live],
            },
        )
    if part.today is None:
        return
    starts = period_starts(part.today)
    periods = {"period": [p for p, _ in starts], "start": [d for _, d in starts]}
    if supporters:
        conn.execute(
            _UPSERT_SUPPORTERS_PG,
            {
                "at": part.at,
                **periods,
                "creator": [k[0] for k, _ in supporters],
                "who": [k[1] for k, _ in supporters],
                "coins": [f[0] for _, f in supporters],
                "seq": [f[1] for _, f in supporters],
            },
        )
    if creators:
        conn.execute(
            _UPSERT_CREATORS_PG,
            {
                "at": part.at,
                **periods,
                "creator": [k for k, _ in creators],
                "coins": [f[0] for _, f in creators],
                "seq": [f[1] for _, f in creators],
            },
        )


def _sorted(
    part: Fold,
) -> tuple[
    list[tuple[tuple[int, str], list[int]]],
    list[tuple[tuple[str, str], list[int]]],
    list[tuple[str, list[int]]],
]:
    """The fold's rows in key order (cheap: the keys are ids and strings)."""
    return sorted(part.live.items()), sorted(part.supporters.items()), sorted(part.creators.items())


def _keep_later(table: Table, excluded: Any) -> dict[str, Any]:
    """SET clauses: add the coins, keep the later (reached_at, reached_seq) pair."""
    t = table.c
    newer = or_(
        excluded.reached_at > t.reached_at,
        and_(excluded.reached_at == t.reached_at, excluded.reached_seq > t.reached_seq),
    )
    return {
        "coins": t.coins + excluded.coins,
        "reached_at": case((newer, excluded.reached_at), else_=t.reached_at),
        "reached_seq": case((newer, excluded.reached_seq), else_=t.reached_seq),
    }


def _flush_sqlite(conn: Connection, part: Fold) -> None:
    at = part.at
    live, supporters, creators = _sorted(part)
    if live:
        stmt = upsert_insert(conn, live_supporters)
        t = live_supporters.c
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["live_id", "user_id"],
                set_={
                    "coins": t.coins + stmt.excluded.coins,
                    "gifts": t.gifts + stmt.excluded.gifts,
                    "reached_at": stmt.excluded.reached_at,
                    "reached_seq": stmt.excluded.reached_seq,
                },
            ),
            [
                {
                    "live_id": live_id,
                    "user_id": who,
                    "coins": f[0],
                    "gifts": f[1],
                    "reached_at": at,
                    "reached_seq": f[2],
                }
                for (live_id, who), f in live
            ],
        )
    if part.today is None:
        return
    starts = period_starts(part.today)
    if supporters:
        stmt = upsert_insert(conn, supporter_scores)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["creator_id", "period", "period_start", "user_id"],
                set_=_keep_later(supporter_scores, stmt.excluded),
            ),
            [
                {
                    "creator_id": creator,
                    "period": period,
                    "period_start": start,
                    "user_id": who,
                    "coins": f[0],
                    "reached_at": at,
                    "reached_seq": f[1],
                }
                for (creator, who), f in supporters
                for period, start in starts
            ],
        )
    if creators:
        stmt = upsert_insert(conn, creator_scores)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["period", "period_start", "creator_id"],
                set_=_keep_later(creator_scores, stmt.excluded),
            ),
            [
                {
                    "period": period,
                    "period_start": start,
                    "creator_id": creator,
                    "coins": f[0],
                    "reached_at": at,
                    "reached_seq": f[1],
                }
                for creator, f in creators
                for period, start in starts
            ],
        )


LEADERBOARD_WRITES = LeaderboardWrites()
