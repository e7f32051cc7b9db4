"""Every query of leaderboards: the boards and ranks the endpoints read, the batch's reads for a
live's snapshot, and ``LEADERBOARD_WRITES``, the batch extension that writes a batch's gifts into
the three score tables.

- ``live_supporters`` (live, viewer): coins and gifts; ties by ``reached_at`` then the gift
  event's ``seq`` in the room (``reached_seq``), which orders a room's gifts exactly.
- ``supporter_scores`` (creator, period, period start, viewer) and ``creator_scores`` (period,
  period start, creator): coins; ties by ``reached_at`` then the gift's **transaction id**
  (``reached_seq``): these boards span rooms, whose sequences cannot be compared, while a
  transaction id is unique per gift, follows command order inside a batch and needs no read.
  A gift writes one ``day`` row (the policy's local day of the gift) per table; a ``week`` or
  ``month`` board is summed from the day rows of its days when read (``_summed``): coins add
  up, and the tie pair is the latest day row's pair — exactly what a stored week or month row
  would hold. The ``all`` rows (period start 1970-01-01) are kept by ``roll_up``, off the gift
  path: they hold the day rows of every day before ``leaderboard_rollups.through`` (a day no
  gift can be filed under any more), and an all-time board sums them with the day rows from
  ``through`` on, in one statement.

A score's ``reached_at``/``reached_seq`` are those of the gift that last raised it, so "who
reached the score first" is the lexicographic order of the pair. The upsert keeps the later pair
when two writers meet on a row (``CASE``), so the order in which concurrent batches commit does
not matter.

The live's last ``leaderboard`` snapshot is ``lives.leaderboard_at`` / ``leaderboard_seq``,
written by the snapshot command under the room's lock like the live's scores, so every process
sees it.
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
    FromClause,
    Table,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    text,
    update,
)

from giftflow.db import upsert_insert
from giftflow.live.gifting.hooks import GiftFact, packed_ids, packed_ints
from giftflow.schema import (
    creator_scores,
    leaderboard_rollups,
    live_supporters,
    lives,
    room_events,
    supporter_scores,
    users,
)

PERIODS = ("day", "week", "month", "all")
ALL_TIME = date(1970, 1, 1)
ROLLUP = "scores"  # the leaderboard_rollups row of the all-time score rows


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


def period_end(period: str, start: date) -> date:
    """The first day after the day, week or month that starts on ``start``."""
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    raise ValueError(f"{period!r} has no end")


# --- staged rows -------------------------------------------------------------------------------
# A gift is staged as its ``GiftFact`` (made once by the gift command for every hook): nothing
# is copied per gift. A snapshot is staged as a ``SnapshotMark``.


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
    """Which rows make one board: a score table (or a subquery summing day rows) with the
    columns ``coins``, ``reached_at``, ``reached_seq`` (and ``gifts`` on live boards), the
    conditions that pick the board's rows, and the column naming who is ranked."""

    source: FromClause
    where: tuple[ColumnElement[bool], ...]
    who: Any  # the id column

    def _gifts(self) -> Any:
        return self.source.c.gifts if self.source is live_supporters else None


def live_board(live_id: int) -> Board:
    t = live_supporters
    return Board(t, (t.c.live_id == live_id,), t.c.user_id)


def _summed(table: Table, who: Any, where: Sequence[ColumnElement[bool]]) -> Board:
    """A board of sums over day rows: per ``who``, the coins of every row, and the
    (reached_at, reached_seq) of the latest one."""
    t = table.c
    ranked = (
        select(
            who.label("who"),
            func.sum(t.coins).over(partition_by=who).label("coins"),
            t.reached_at,
            t.reached_seq,
            func.row_number()
            .over(partition_by=who, order_by=(t.reached_at.desc(), t.reached_seq.desc()))
            .label("n"),
        )
        .where(*where)
        .subquery()
    )
    board = (
        select(ranked.c.who, ranked.c.coins, ranked.c.reached_at, ranked.c.reached_seq)
        .where(ranked.c.n == 1)
        .subquery("board")
    )
    return Board(board, (), board.c.who)


def _rows_of(table: Table, period: str, start: date) -> ColumnElement[bool]:
    """The stored rows a board of ``period`` (starting ``start``) sums: its day rows; for all
    time, the rolled-up ``all`` rows and the day rows not rolled up yet."""
    t = table.c
    if period == "all":
        through = select(leaderboard_rollups.c.through).where(leaderboard_rollups.c.name == ROLLUP)
        recent = t.period_start >= func.coalesce(through.scalar_subquery(), ALL_TIME)
        return or_(t.period == "all", and_(t.period == "day", recent))
    return and_(
        t.period == "day", t.period_start >= start, t.period_start < period_end(period, start)
    )


def supporter_board(creator_id: str, period: str, start: date) -> Board:
    t = supporter_scores
    if period == "day":
        where = (t.c.creator_id == creator_id, t.c.period == "day", t.c.period_start == start)
        return Board(t, where, t.c.user_id)
    rows = (t.c.creator_id == creator_id, _rows_of(t, period, start))
    return _summed(t, t.c.user_id, rows)


def creator_board(period: str, start: date) -> Board:
    t = creator_scores
    if period == "day":
        return Board(t, (t.c.period == "day", t.c.period_start == start), t.c.creator_id)
    return _summed(t, t.c.creator_id, (_rows_of(t, period, start),))


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
    t = board.source
    columns = [board.who.label("who"), users.c.display_name, t.c.coins]
    gifts = board._gifts()
    if gifts is not None:
        columns.append(gifts)
    columns += [t.c.reached_at, t.c.reached_seq]
    return select(*columns).select_from(t.outerjoin(users, users.c.id == board.who))


def top(conn: Connection, board: Board, limit: int) -> list[Entry]:
    """The board's first ``limit`` entries: coins descending, then who reached them first."""
    t = board.source
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
    t = board.source
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
        rows = self.conn.execute(
            select(lives.c.id, lives.c.leaderboard_at, lives.c.leaderboard_seq).where(
                lives.c.id.in_(wanted), lives.c.leaderboard_seq.is_not(None)
            )
        )
        return {int(r.id): (r.leaderboard_at, int(r.leaderboard_seq)) for r in rows}

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


# PostgreSQL: the batch's gifts go to the server once, as columns (one element per gift, packed
# as strings: ``hooks.packed_ints``); the server sums them per key and writes the three tables in
# one statement. A batch's gifts share its time (``at``) and, unless the policy's time zone
# changed within it, its local day.
_KEEP_LATER_PG = (
    "coins = s.coins + excluded.coins, "
    "reached_at = CASE WHEN (excluded.reached_at, excluded.reached_seq) > (s.reached_at, "
    "s.reached_seq) THEN excluded.reached_at ELSE s.reached_at END, "
    "reached_seq = CASE WHEN (excluded.reached_at, excluded.reached_seq) > (s.reached_at, "
    "s.reached_seq) THEN excluded.reached_seq ELSE s.reached_seq END"
)
_WRITE_PG = text(
    "WITH g AS (SELECT * FROM unnest(CAST(string_to_array(:live, ',') AS bigint[]), "
    "string_to_array(:who, ','), string_to_array(:rcpt, ','), "
    "CAST(string_to_array(:coins, ',') AS bigint[]), "
    "CAST(string_to_array(:gifts, ',') AS bigint[]), "
    "CAST(string_to_array(:seq, ',') AS bigint[]), "
    "CAST(string_to_array(:txn, ',') AS bigint[])) "
    "AS g(live, who, rcpt, coins, gifts, seq, txn)), "
    "l AS (INSERT INTO live_supporters AS s (live_id, user_id, coins, gifts, reached_at, "
    "reached_seq) "
    "SELECT live, who, sum(coins), sum(gifts), CAST(:at AS timestamptz), max(seq) FROM g "
    "GROUP BY live, who ORDER BY live, who "
    "ON CONFLICT (live_id, user_id) DO UPDATE SET coins = s.coins + excluded.coins, "
    "gifts = s.gifts + excluded.gifts, reached_at = excluded.reached_at, "
    "reached_seq = excluded.reached_seq), "
    "u AS (INSERT INTO supporter_scores AS s (creator_id, period, period_start, user_id, coins, "
    "reached_at, reached_seq) "
    "SELECT rcpt, 'day', CAST(:day AS date), who, sum(coins), CAST(:at AS timestamptz), "
    "max(txn) FROM g GROUP BY rcpt, who ORDER BY rcpt, who "
    "ON CONFLICT (creator_id, period, period_start, user_id) DO UPDATE SET " + _KEEP_LATER_PG + ") "
    "INSERT INTO creator_scores AS s (period, period_start, creator_id, coins, reached_at, "
    "reached_seq) "
    "SELECT 'day', CAST(:day AS date), rcpt, sum(coins), CAST(:at AS timestamptz), max(txn) "
    "FROM g GROUP BY rcpt ORDER BY rcpt "
    "ON CONFLICT (period, period_start, creator_id) DO UPDATE SET " + _KEEP_LATER_PG
)


class LeaderboardWrites:
    """Batch extension: the batch's gifts into the three score tables — per key the sum of
    the batch's coins (and gifts) and the tie pair of its last gift, in the ``day`` rows of the
    creator-wide tables — and the snapshot marks into ``lives``.

    On PostgreSQL one statement per batch (``_WRITE_PG``: the gifts as packed columns, summed
    by the server); on SQLite the batch is folded here and each table gets one
    ``executemany``. A batch whose gifts fall on two local days (the policy's time zone changed
    within it) writes once per day.

    Writers of several processes hardly meet on these rows: a live's rows are only written by
    batches holding its room's lock, and a creator's rows by batches that locked the creator's
    diamonds account (every gift to them credits it). Each table's rows are still written in
    key order, so that batches which do meet (a policy switching the earnings hold on between
    them: the diamonds go to another account) take them in one order.
    """

    name = "live.leaderboards"

    def flush(self, conn: Connection, rows: list[GiftFact | SnapshotMark]) -> None:
        gifts: dict[tuple[datetime, date], list[GiftFact]] = {}
        marks: list[SnapshotMark] = []
        for row in rows:
            if type(row) is SnapshotMark:
                marks.append(row)
            else:
                assert type(row) is GiftFact
                gifts.setdefault((row.at, row.today), []).append(row)
        pg = conn.dialect.name == "postgresql"
        for (at, today), facts in gifts.items():
            if pg:
                _flush_pg(conn, at, today, facts)
            else:
                _flush_sqlite(conn, fold(at, today, facts))
        if marks:
            latest = {m.live_id: m for m in marks}  # in command order: the last one stays
            conn.execute(
                update(lives)
                .where(lives.c.id == bindparam("m_id"))
                .values(leaderboard_at=bindparam("m_at"), leaderboard_seq=bindparam("m_seq")),
                [
                    {"m_id": m.live_id, "m_at": m.at, "m_seq": m.seq}
                    for _, m in sorted(latest.items())
                ],
            )


def _flush_pg(conn: Connection, at: datetime, today: date, facts: list[GiftFact]) -> None:
    conn.execute(
        _WRITE_PG,
        {
            "at": at,
            "day": today,
            "live": packed_ints([f.live_id for f in facts]),
            "who": packed_ids([f.viewer_id for f in facts]),
            "rcpt": packed_ids([f.recipient_id for f in facts]),
            "coins": packed_ints([f.coins for f in facts]),
            "gifts": packed_ints([f.count for f in facts]),
            "seq": packed_ints([f.seq for f in facts]),
            "txn": packed_ints([f.txn_id for f in facts]),
        },
    )


@dataclass(slots=True)
class Fold:
    """A batch's gifts of one local day summed per key (SQLite):

    - ``live``: (live, viewer) -> [coins, gifts, seq of the last gift];
    - ``supporters``: (recipient, viewer) -> [coins, transaction id of the last gift];
    - ``creators``: recipient -> [coins, transaction id of the last gift].

    Each supporter and creator sum goes to the ``day`` row of ``today``.
    """

    at: datetime
    today: date
    live: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    supporters: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    creators: dict[str, list[int]] = field(default_factory=dict)


def fold(at: datetime, today: date, facts: Iterable[GiftFact]) -> Fold:
    out = Fold(at, today)
    for row in facts:
        found = out.live.get((row.live_id, row.viewer_id))
        if found is None:
            out.live[(row.live_id, row.viewer_id)] = [row.coins, row.count, row.seq]
        else:
            found[0] += row.coins
            found[1] += row.count
            found[2] = max(found[2], row.seq)
        found = out.supporters.get((row.recipient_id, row.viewer_id))
        if found is None:
            out.supporters[(row.recipient_id, row.viewer_id)] = [row.coins, row.txn_id]
        else:
            found[0] += row.coins
            found[1] = max(found[1], row.txn_id)
        found = out.creators.get(row.recipient_id)
        if found is None:
            out.creators[row.recipient_id] = [row.coins, row.txn_id]
        else:
            found[0] += row.coins
            found[1] = max(found[1], row.txn_id)
    return out


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
    if part.live:
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
                for (live_id, who), f in sorted(part.live.items())
            ],
        )
    if part.supporters:
        stmt = upsert_insert(conn, supporter_scores)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["creator_id", "period", "period_start", "user_id"],
                set_=_keep_later(supporter_scores, stmt.excluded),
            ),
            [
                {
                    "creator_id": creator,
                    "period": "day",
                    "period_start": part.today,
                    "user_id": who,
                    "coins": f[0],
                    "reached_at": at,
                    "reached_seq": f[1],
                }
                for (creator, who), f in sorted(part.supporters.items())
            ],
        )
    if part.creators:
        stmt = upsert_insert(conn, creator_scores)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["period", "period_start", "creator_id"],
                set_=_keep_later(creator_scores, stmt.excluded),
            ),
            [
                {
                    "period": "day",
                    "period_start": part.today,
                    "creator_id": creator,
                    "coins": f[0],
                    "reached_at": at,
                    "reached_seq": f[1],
                }
                for creator, f in sorted(part.creators.items())
            ],
        )


LEADERBOARD_WRITES = LeaderboardWrites()


# --- the all-time rollup (off the gift path) ---------------------------------------------------
def rolled_through(conn: Connection) -> date:
    """The first day whose day rows are not in the ``all`` rows yet."""
    t = leaderboard_rollups
    found = conn.execute(select(t.c.through).where(t.c.name == ROLLUP)).scalar()
    return found if isinstance(found, date) else ALL_TIME


def roll_up(conn: Connection, target: date, now: datetime) -> bool:
    """Add the day rows of the days in [``through``, ``target``) to the ``all`` rows and move
    ``through`` to ``target``, in the caller's transaction. The conditional update of
    ``leaderboard_rollups`` comes first: of two processes rolling up at once, the second finds
    ``through`` moved and adds nothing (False). ``target`` must be a day no gift can still be
    filed before (``service.rollup_target``): the day rows read here no longer change."""
    current = rolled_through(conn)
    if target <= current:
        return False
    r = leaderboard_rollups
    moved = conn.execute(
        update(r)
        .where(r.c.name == ROLLUP, r.c.through == current)
        .values(through=target, rolled_at=now)
    )
    if moved.rowcount != 1:
        return False
    for table, who in (
        (supporter_scores, ("creator_id", "user_id")),
        (creator_scores, ("creator_id",)),
    ):
        t = table.c
        keys = [t[k] for k in who]
        ranked = (
            select(
                *keys,
                func.sum(t.coins).over(partition_by=keys).label("coins"),
                t.reached_at,
                t.reached_seq,
                func.row_number()
                .over(partition_by=keys, order_by=(t.reached_at.desc(), t.reached_seq.desc()))
                .label("n"),
            )
            .where(t.period == "day", t.period_start >= current, t.period_start < target)
            .subquery()
        )
        k = ranked.c
        rows = (
            select(
                *[k[c] for c in who],
                literal("all").label("period"),
                literal(ALL_TIME).label("period_start"),
                k.coins,
                k.reached_at,
                k.reached_seq,
            )
            .where(k.n == 1)
            .order_by(*[k[c] for c in who])
        )
        stmt = upsert_insert(conn, table)
        columns = [*who, "period", "period_start", "coins", "reached_at", "reached_seq"]
        conn.execute(
            stmt.from_select(columns, rows).on_conflict_do_update(
                index_elements=[c.name for c in table.primary_key.columns],
                set_=_keep_later(table, stmt.excluded),
            )
        )
    return True
