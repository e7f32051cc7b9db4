"""The hub as a unit: strict order from a disorderly bus, gap fills from the outbox, frames, and
subscribers that cannot keep up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from giftflow.realtime.frames import Frame
from giftflow.realtime.hub import RoomHub, StreamEnded, Subscriber

from .conftest import seqs_of

ROOM = 7


def ev(seq: int, combo: str | None = None) -> dict[str, Any]:
    return {
        "type": "gift",
        "seq": seq,
        "room_id": str(ROOM),
        "count": 1,
        "coins": 1,
        "diamonds": 50,
        "combo_id": combo,
        "combo_count": seq,
        "combo_end": False,
    }


class Outbox:
    """What the table holds, and every read made of it."""

    def __init__(self, upto: int) -> None:
        self.events = {s: ev(s) for s in range(1, upto + 1)}
        self.reads: list[tuple[int, int | None]] = []

    async def fetch(self, room: int, after: int, upto: int | None, limit: int) -> list[Any]:
        assert room == ROOM
        self.reads.append((after, upto))
        await asyncio.sleep(0)
        top = upto if upto is not None else max(self.events, default=0)
        return [self.events[s] for s in sorted(self.events) if after < s <= top][:limit]


async def drain(sub: Subscriber, until: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while not events or events[-1]["seq"] < until:
            frame = await sub.next(1.0)
            if frame is not None:
                events.extend(frame.events)
    return events


def test_out_of_order_duplicates_and_a_lost_event_come_out_in_order_once() -> None:
    async def run() -> None:
        store = Outbox(8)
        hub = RoomHub(ROOM, 0, store.fetch, flush_seconds=0.01, gap_seconds=0.05)
        sub = hub.attach(floor=0)
        hub.feed([ev(2), ev(1)])
        hub.feed([ev(1), ev(2)])  # again: dropped
        hub.feed([ev(5), ev(4)])  # 3 never comes from the bus
        hub.feed([ev(6)])
        assert hub.delivered == 2 and hub.target == 6
        got = await drain(sub, 6)
        assert [e["seq"] for e in got] == [1, 2, 3, 4, 5, 6]
        assert store.reads == [(2, 6)]  # one read filled the gap
        # nothing arrives for 7 and 8: the poll tells the hub where the room stands
        hub.observe(8)
        got = await drain(sub, 8)
        assert [e["seq"] for e in got] == [7, 8]
        hub.feed([ev(8), ev(3)])
        await asyncio.sleep(0.05)
        assert not sub.frames
        hub.close()

    asyncio.run(run())


def test_a_gap_the_bus_fills_in_time_needs_no_read() -> None:
    async def run() -> None:
        store = Outbox(3)
        hub = RoomHub(ROOM, 0, store.fetch, flush_seconds=0.01, gap_seconds=0.3)
        sub = hub.attach(floor=0)
        hub.feed([ev(1), ev(3)])
        await asyncio.sleep(0.02)
        hub.feed([ev(2)])  # late, but before the gap delay
        got = await drain(sub, 3)
        assert [e["seq"] for e in got] == [1, 2, 3]
        await asyncio.sleep(0.35)
        assert store.reads == []
        hub.close()

    asyncio.run(run())


def test_purged_events_are_skipped_instead_of_waited_for() -> None:
    async def run() -> None:
        store = Outbox(6)
        del store.events[2], store.events[3]  # retention removed them
        hub = RoomHub(ROOM, 1, store.fetch, flush_seconds=0.01, gap_seconds=0.02)
        sub = hub.attach(floor=1)
        hub.feed([ev(5)])
        got = await drain(sub, 5)
        assert [e["seq"] for e in got] == [4, 5]
        hub.close()

    asyncio.run(run())


def test_events_in_one_flush_window_make_one_coalesced_frame() -> None:
    async def run() -> None:
        hub = RoomHub(ROOM, 0, Outbox(0).fetch, flush_seconds=0.05)
        sub = hub.attach(floor=0)
        for s in range(1, 11):
            hub.feed([ev(s, combo="c" if s % 2 else None)])
        frame = await sub.next(1.0)
        assert frame is not None and frame.seq == 10 and frame.raw_count == 10
        assert [e["seq"] for e in frame.events] == [2, 4, 6, 8, 9, 10]
        assert frame.events[4]["seq_from"] == 1 and frame.events[4]["count"] == 5
        hub.close()

    asyncio.run(run())


def test_a_subscriber_joining_mid_window_gets_only_what_it_lacks() -> None:
    async def run() -> None:
        hub = RoomHub(ROOM, 0, Outbox(0).fetch, flush_seconds=0.05)
        first = hub.attach(floor=0)
        hub.feed([ev(1), ev(2), ev(3)])
        late = hub.attach(floor=2)  # its welcome covered seq 2 already
        frame = await late.next(1.0)
        assert frame is not None and [e["seq"] for e in frame.events] == [3]
        frame = await first.next(1.0)
        assert frame is not None and [e["seq"] for e in frame.events] == [1, 2, 3]
        hub.close()

    asyncio.run(run())


def test_a_slow_subscriber_is_coalesced_then_dropped_and_never_blocks_a_fast_one() -> None:
    async def run() -> None:
        hub = RoomHub(ROOM, 0, Outbox(0).fetch, flush_seconds=60, max_frames=4, max_events=40)
        fast = hub.attach(floor=0)
        slow = hub.attach(floor=0)  # never reads
        reader = asyncio.create_task(drain(fast, 200))
        longest = 0
        coalesced = False
        for seq in range(1, 201):
            hub.feed([ev(seq)])
            hub.flush()  # one frame per event
            await asyncio.sleep(0.001)  # the fast reader reads
            longest = max(longest, len(slow.frames))
            coalesced = coalesced or any(f.raw_count > 1 for f in slow.frames)
        got = await reader
        assert [e["seq"] for e in got] == list(range(1, 201))  # the fast one got everything
        assert longest <= 4 and coalesced  # the slow one's queue stayed bounded, merged
        assert slow.dropped and not slow.frames and slow not in hub.subscribers
        with pytest.raises(StreamEnded):  # its stream ends; the client resumes with after=
            await slow.next(0.01)
        hub.close()

    asyncio.run(run())


def test_a_full_queue_merges_combos_without_dropping() -> None:
    async def run() -> None:
        sub = Subscriber(max_frames=2, max_events=3, floor=0)
        for s in range(1, 50):
            assert sub.offer(Frame.build([ev(s, combo="c")]))
        assert len(sub.frames) == 2 and not sub.dropped
        events = [e for f in sub.frames for e in f.events]
        assert sum(e["count"] for e in events) == 49 and seqs_of(events) == list(range(1, 50))

    asyncio.run(run())
