"""The per-room outbox: events get their sequence number inside the writer's batch transaction.

A command that produces a room event calls ``announce(ctx, room)`` from its ``account_hints`` and
``append(ctx, room, type, payload)`` from ``apply``. The first ``append`` of a batch locks every
announced room's sequence row in one ordered statement (so writers in several processes take
room locks in one global order, like account locks), numbers the event ``last_seq + 1`` and
stages it; ``OutboxWrites.flush`` inserts the batch's events and moves each room's ``last_seq``
once. A refused command's events are rolled back with it, so a room's sequence has no gap.

After the commit the writer hands the staged events to its commit listeners (the bus), under
``OUTBOX_NAME``; the table is the durable log subscribers resume from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from giftflow.clock import rfc3339
from giftflow.errors import NotFound
from giftflow.jsontext import dumps
from giftflow.ledger import prefetch
from giftflow.ledger.commands import BatchContext
from giftflow.ledger.prefetch import Read
from giftflow.schema import room_events, room_sequences

OUTBOX_NAME = "realtime.outbox"
_ANNOUNCED = ("outbox.rooms",)


@dataclass(frozen=True, slots=True)
class RoomEvent:
    """One committed (or about to be) event: ``payload`` is what subscribers receive."""

    room_id: int
    seq: int
    type: str
    payload: dict[str, Any]
    created_at: datetime

    def json(self) -> str:
        return dumps(self.payload)


# PostgreSQL: the batch's rooms in one array each way (spread over many lives, a batch touches
# hundreds of rooms; an expanded IN list and executemany cost the writer ~10 µs a gift)
_LOCK_ROOMS_PG = text(
    "SELECT s.room_id, s.last_seq FROM room_sequences s "
    "JOIN unnest(CAST(:ids AS bigint[])) AS w(id) ON s.room_id = w.id "
    "ORDER BY s.room_id FOR UPDATE OF s"
)
_MOVE_SEQS_PG = text(
    "UPDATE room_sequences SET last_seq = v.seq FROM unnest(CAST(:ids AS bigint[]), "
    "CAST(:seqs AS bigint[])) AS v(id, seq) WHERE room_sequences.room_id = v.id"
)


class OutboxBatchRepository:
    """The outbox's queries inside a batch (row locks on PostgreSQL)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def lock_rooms(self, room_ids: Iterable[int]) -> dict[int, int]:
        wanted = sorted(set(room_ids))
        if self.conn.dialect.name == "postgresql":  # one array, not an IN list of every room
            rows = self.conn.execute(_LOCK_ROOMS_PG, {"ids": wanted})
            return {int(r.room_id): int(r.last_seq) for r in rows}
        rows = self.conn.execute(
            select(room_sequences.c.room_id, room_sequences.c.last_seq)
            .where(room_sequences.c.room_id.in_(wanted))
            .order_by(room_sequences.c.room_id)
            .with_for_update()
        )
        return {int(r.room_id): int(r.last_seq) for r in rows}


class OutboxWrites:
    """Batch extension: the batch's room events, set-based, and each room's last sequence."""

    name = OUTBOX_NAME

    def flush(self, conn: Connection, rows: list[RoomEvent]) -> None:
        if not rows:
            return
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    "INSERT INTO room_events (room_id, seq, type, payload, created_at) "
                    "SELECT * FROM unnest(CAST(:r AS bigint[]), CAST(:s AS bigint[]), "
                    "CAST(:t AS text[]), CAST(:p AS text[]), CAST(:c AS timestamptz[]))"
                ),
                {
                    "r": [e.room_id for e in rows],
                    "s": [e.seq for e in rows],
                    "t": [e.type for e in rows],
                    "p": [e.json() for e in rows],
                    "c": [e.created_at for e in rows],
                },
            )
        else:
            conn.execute(
                insert(room_events),
                [
                    {
                        "room_id": e.room_id,
                        "seq": e.seq,
                        "type": e.type,
                        "payload": e.json(),
                        "created_at": e.created_at,
                    }
                    for e in rows
                ],
            )
        last: dict[int, int] = {}
        for e in rows:
            last[e.room_id] = max(e.seq, last.get(e.room_id, 0))
        rooms = sorted(last)
        if conn.dialect.name == "postgresql":
            conn.execute(_MOVE_SEQS_PG, {"ids": rooms, "seqs": [last[r] for r in rooms]})
            return
        conn.execute(
            update(room_sequences)
            .where(room_sequences.c.room_id == bindparam("r_id"))
            .values(last_seq=bindparam("r_seq")),
            [{"r_id": r, "r_seq": last[r]} for r in rooms],
        )


OUTBOX = OutboxWrites()


def create_room(conn: Connection, room_id: int) -> None:
    """A room must exist before events are appended to it (done when a live starts)."""
    conn.execute(insert(room_sequences).values(room_id=room_id, last_seq=0))


def _event(room_id: int, seq: int, type_: str, payload: dict[str, Any], now: datetime) -> RoomEvent:
    event = {"type": type_, "seq": seq, "room_id": str(room_id), "at": rfc3339(now), **payload}
    return RoomEvent(room_id, seq, type_, event, now)


def open_room(
    conn: Connection, room_id: int, type_: str, payload: dict[str, Any], now: datetime
) -> RoomEvent:
    """Create a room with its first event (sequence 1), outside the writer: nobody can append
    to a room before the transaction that creates it commits."""
    event = _event(room_id, 1, type_, payload, now)
    conn.execute(insert(room_sequences).values(room_id=room_id, last_seq=1))
    conn.execute(
        insert(room_events).values(
            room_id=room_id, seq=1, type=type_, payload=event.json(), created_at=now
        )
    )
    return event


def announce(ctx: BatchContext, room_id: int) -> None:
    """Called from ``account_hints``: the rooms this batch will append to, locked together."""
    rooms: set[int] = ctx.book.memo.setdefault(_ANNOUNCED, set())
    rooms.add(room_id)


def _prefetch_rooms(ctx: BatchContext) -> Iterable[Read]:
    """The batch's announced rooms, locked in the first round trip (``ledger.prefetch``)."""
    memo = ctx.book.memo
    wanted = prefetch.unread(ctx, _ANNOUNCED, "outbox.seq")
    if not wanted:
        return ()

    def done(rows: list[dict[str, Any]]) -> None:
        for row in rows:  # a lock read, kept when a command is rolled back (as in last_seq)
            memo[("outbox.seq", int(row["room_id"]))] = int(row["last_seq"])

    return (Read(_LOCK_ROOMS_PG, {"ids": wanted}, done),)


prefetch.register(10, OUTBOX_NAME, _prefetch_rooms)  # rooms first: a gift locks its room first


def last_seq(ctx: BatchContext, room_id: int) -> int:
    """The room's last sequence number as this batch sees it (locked from the first call)."""
    key = ("outbox.seq", room_id)
    cached: int | None = ctx.book.memo.get(key)
    if cached is not None:
        return cached
    announced: set[int] = ctx.book.memo.get(_ANNOUNCED, set())
    wanted = {r for r in announced | {room_id} if ("outbox.seq", r) not in ctx.book.memo}
    found = ctx.repository(OutboxBatchRepository).lock_rooms(wanted)
    for room, seq in found.items():
        # a lock read, not a command's effect: it stays when a command is rolled back
        ctx.book.memo[("outbox.seq", room)] = seq
    if room_id not in found:
        raise NotFound("No such room.", id=str(room_id))
    return found[room_id]


def append(ctx: BatchContext, room_id: int, type_: str, payload: dict[str, Any]) -> int:
    """Stage one event for ``room_id``; returns its sequence number. The stored event is
    ``{"type", "seq", "room_id", "at", **payload}``."""
    seq = last_seq(ctx, room_id) + 1
    ctx.book.remember(("outbox.seq", room_id), seq)
    ctx.book.stage(OUTBOX, _event(room_id, seq, type_, payload, ctx.now))
    return seq


def stored_last_seq(conn: Connection, room_id: int) -> int | None:
    """The room's last committed sequence number (None: no such room)."""
    found = conn.execute(
        select(room_sequences.c.last_seq).where(room_sequences.c.room_id == room_id)
    ).scalar_one_or_none()
    return int(found) if found is not None else None
