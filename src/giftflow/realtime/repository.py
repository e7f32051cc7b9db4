"""The streams' SQL: where a room stands, reading the outbox back, and purging it.

Every function here is blocking and runs in a worker thread (``asyncio.to_thread``); it opens its
own connection on the reader engine. The outbox itself (numbering, writing) is ``outbox.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, exists, func, select, tuple_
from sqlalchemy.orm import aliased

from giftflow.db import unit_of_work
from giftflow.schema import room_events, room_sequences

__all__ = [
    "Connection",
    "Engine",
    "RoomPosition",
    "StateProvider",
    "events_after",
    "last_seqs",
    "purge_before",
    "room_position",
]

StateProvider = Callable[[Connection, int], dict[str, Any] | None]
Event = dict[str, Any]

_IN_CHUNK = 500  # room ids per IN list


@dataclass(frozen=True, slots=True)
class RoomPosition:
    """A room at one instant: its last sequence, its first retained one, its state then."""

    last_seq: int
    first_seq: int | None  # None: nothing retained (no event yet)
    state: dict[str, Any] | None


def room_position(
    engine: Engine, room_id: int, provider: StateProvider | None
) -> RoomPosition | None:
    """The room's last and first retained seq and (if a provider is set) its state, read in one
    snapshot so the state is the room as of ``last_seq``; None when the room does not exist."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            last = conn.execute(
                select(room_sequences.c.last_seq).where(room_sequences.c.room_id == room_id)
            ).scalar_one_or_none()
            if last is None:
                return None
            first = conn.execute(
                select(func.min(room_events.c.seq)).where(room_events.c.room_id == room_id)
            ).scalar_one_or_none()
            state = provider(conn, room_id) if provider is not None else None
    return RoomPosition(
        last_seq=int(last), first_seq=None if first is None else int(first), state=state
    )


def events_after(
    engine: Engine, room_id: int, after: int, upto: int | None = None, limit: int = 500
) -> list[Event]:
    """The stored events of ``room_id`` with ``after < seq <= upto``, in order, at most
    ``limit`` (each as subscribers receive it)."""
    query = select(room_events.c.payload).where(
        room_events.c.room_id == room_id, room_events.c.seq > after
    )
    if upto is not None:
        query = query.where(room_events.c.seq <= upto)
    query = query.order_by(room_events.c.seq).limit(limit)
    with engine.connect() as conn:
        payloads = conn.execute(query).scalars().all()
    events: list[Event] = [json.loads(p) for p in payloads]
    return events


def last_seqs(engine: Engine, room_ids: Iterable[int]) -> dict[int, int]:
    """Each existing room's last sequence number."""
    wanted = sorted(set(room_ids))
    found: dict[int, int] = {}
    if not wanted:
        return found
    with engine.connect() as conn:
        for start in range(0, len(wanted), _IN_CHUNK):
            rows = conn.execute(
                select(room_sequences.c.room_id, room_sequences.c.last_seq).where(
                    room_sequences.c.room_id.in_(wanted[start : start + _IN_CHUNK])
                )
            )
            found.update({int(r.room_id): int(r.last_seq) for r in rows})
    return found


def purge_before(engine: Engine, before: datetime, chunk: int) -> int:
    """Delete up to ``chunk`` events created before ``before``, never a room's last event (a
    resume needs to know where the room stands). Returns how many were deleted."""
    later = aliased(room_events)
    doomed = (
        select(room_events.c.room_id, room_events.c.seq)
        .where(
            room_events.c.created_at < before,
            exists().where(
                and_(later.c.room_id == room_events.c.room_id, later.c.seq > room_events.c.seq)
            ),
        )
        .order_by(room_events.c.created_at)
        .limit(chunk)
    )
    with unit_of_work(engine) as conn:
        keys = [(int(r.room_id), int(r.seq)) for r in conn.execute(doomed)]
        if not keys:
            return 0
        conn.execute(
            delete(room_events).where(tuple_(room_events.c.room_id, room_events.c.seq).in_(keys))
        )
    return len(keys)
