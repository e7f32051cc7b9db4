"""One room's hub in one process: events in strict sequence, frames on a timer, subscribers.

Events reach a hub from the bus in any order, twice, or never (another process's publish may be
late or lost; a batch whose COMMIT had to be recovered is not announced at all). The hub keeps
``delivered``, the last seq it accepted in order, and ``target``, the highest seq it knows exists:

- an event with ``seq <= delivered`` (or already buffered) is a duplicate and is dropped;
- ``delivered + 1`` is accepted, with whatever buffered events follow it;
- anything further is buffered, and if ``delivered < target`` still holds after a short delay
  (``gap_seconds``) the hub reads the missing events from the outbox in a worker thread;
- the service polls every room's last seq now and then (``observe``), so a lost publish with no
  later event to reveal the gap is still delivered.

Accepted events wait ``flush_seconds`` and then go out as one coalesced frame to every
subscriber. Each subscriber has a bounded queue: when it is full the new frame is merged into the
last queued one, and a merged frame past ``max_events`` drops the subscriber (it resumes from the
last frame it got). A slow subscriber never blocks the hub or another subscriber.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from giftflow.realtime import metrics
from giftflow.realtime.frames import Event, Frame, merge

log = logging.getLogger("giftflow.realtime")

# (room_id, after, upto, limit) -> the stored events after < seq <= upto, in order
Fetch = Callable[[int, int, int | None, int], Awaitable[list[Event]]]

FILL_LIMIT = 1000  # events per outbox read when filling a gap
MAX_BUFFERED = 10_000  # out-of-order events held; past it they are left to the outbox


class StreamEnded(Exception):
    """The subscriber was dropped (too slow) or the server is stopping."""


class Subscriber:
    """A bounded queue of frames for one connection."""

    def __init__(self, max_frames: int, max_events: int, floor: int) -> None:
        self.max_frames = max_frames
        self.max_events = max_events
        # events with seq <= floor are already covered for this subscriber (welcome or replay)
        self.floor = floor
        self.frames: deque[Frame] = deque()
        self.dropped = False
        self.closed = False
        self.ended = asyncio.Event()  # set when dropped or closed
        self._wake = asyncio.Event()

    def offer(self, frame: Frame) -> bool:
        """Queue ``frame`` (merging it into the last one when full); False if dropped."""
        if self.dropped or self.closed:
            return False
        if len(self.frames) < self.max_frames:
            self.frames.append(frame)
        else:
            merged = merge(self.frames[-1], frame)
            if len(merged.events) > self.max_events:
                self.drop()
                return False
            self.frames[-1] = merged
        self._wake.set()
        return True

    def drop(self) -> None:
        if not self.dropped:
            self.dropped = True
            self.frames.clear()  # its memory goes now, not when the connection notices
            self.ended.set()
            self._wake.set()

    def close(self) -> None:
        self.closed = True
        self.ended.set()
        self._wake.set()

    async def next(self, timeout: float) -> Frame | None:
        """The next frame; None after ``timeout`` seconds without one (time for a ping);
        raises ``StreamEnded`` once dropped or closed and drained."""
        while not self.frames:
            if self.dropped or self.closed:
                raise StreamEnded
            self._wake.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                return None
        return self.frames.popleft()


class RoomHub:
    """The per-room, per-process ordering, gap filling and frame fan-out (event loop only)."""

    def __init__(
        self,
        room_id: int,
        position: int,
        fetch: Fetch,
        *,
        flush_seconds: float = 0.05,
        gap_seconds: float = 0.15,
        retry_seconds: float = 1.0,
        max_frames: int = 256,
        max_events: int = 2000,
        on_empty: Callable[[RoomHub], None] | None = None,
    ) -> None:
        self.room_id = room_id
        self.delivered = position  # last seq accepted in order
        self.flushed = position  # last seq sent out in a frame
        self.target = position  # highest seq known to exist
        self.fetch = fetch
        self.flush_seconds = flush_seconds
        self.gap_seconds = gap_seconds
        self.retry_seconds = retry_seconds
        self.max_frames = max_frames
        self.max_events = max_events
        self.on_empty = on_empty
        self.subscribers: set[Subscriber] = set()
        self._buffered: dict[int, Event] = {}
        self._batch: list[Event] = []
        self._loop = asyncio.get_running_loop()
        self._flush_timer: asyncio.TimerHandle | None = None
        self._gap_timer: asyncio.TimerHandle | None = None
        self._filling: asyncio.Task[None] | None = None
        self._closed = False
        self._cause = "gap"  # what revealed the current target: a later event, or the poll

    # --- subscribers ------------------------------------------------------------------------
    def attach(self, floor: int) -> Subscriber:
        """A new subscriber; it gets every frame after ``flushed`` (minus events <= floor)."""
        sub = Subscriber(self.max_frames, self.max_events, floor)
        self.subscribers.add(sub)
        metrics.SUBSCRIBERS.inc()
        return sub

    def detach(self, sub: Subscriber) -> None:
        if sub in self.subscribers:
            self.subscribers.discard(sub)
            metrics.SUBSCRIBERS.dec()
            if not self.subscribers and self.on_empty is not None:
                self.on_empty(self)

    def close(self) -> None:
        """Stop timers and end every subscriber's stream."""
        self._closed = True
        for timer in (self._flush_timer, self._gap_timer):
            if timer is not None:
                timer.cancel()
        if self._filling is not None:
            self._filling.cancel()
        for sub in list(self.subscribers):
            sub.close()
            self.subscribers.discard(sub)
            metrics.SUBSCRIBERS.dec()

    # --- events in --------------------------------------------------------------------------
    def feed(self, events: Iterable[Event]) -> None:
        """Events from the bus or the outbox, in any order, possibly again."""
        if self._closed:
            return
        for event in events:
            seq = event.get("seq")
            if not isinstance(seq, int) or seq <= self.delivered or seq in self._buffered:
                continue
            if seq > self.target:
                self.target, self._cause = seq, "gap"
            if seq == self.delivered + 1 or len(self._buffered) < MAX_BUFFERED:
                self._buffered[seq] = event
        self._advance()

    def observe(self, last_seq: int) -> None:
        """The room's last seq as the outbox has it (the service's poll): a later seq than
        anything seen means a publish was lost or is late; fill it if it does not come."""
        if not self._closed and last_seq > self.target:
            self.target, self._cause = last_seq, "poll"
            self._arm_gap(self.gap_seconds)

    def _advance(self) -> None:
        moved = False
        while (event := self._buffered.pop(self.delivered + 1, None)) is not None:
            self._batch.append(event)
            self.delivered += 1
            moved = True
        if moved and self._flush_timer is None:
            self._flush_timer = self._loop.call_later(self.flush_seconds, self._flush)
        if self.delivered < self.target:
            self._arm_gap(self.gap_seconds)

    # --- frames out -------------------------------------------------------------------------
    def flush(self) -> None:
        """Send what has been accepted now, without waiting for the timer."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        self._flush()

    def _flush(self) -> None:
        self._flush_timer = None
        batch, self._batch = self._batch, []
        for start in range(0, len(batch), self.max_events):
            self._send(batch[start : start + self.max_events])

    def _send(self, events: list[Event]) -> None:
        frame = Frame.build(events)
        self.flushed = frame.seq
        first = int(events[0]["seq"])
        sent = 0
        for sub in list(self.subscribers):
            own = frame
            if sub.floor >= first:  # joined after some of these: only what it lacks
                rest = [e for e in events if int(e["seq"]) > sub.floor]
                if not rest:
                    continue
                own = Frame.build(rest)
            if sub.offer(own):
                sent += 1
            else:
                if sub.dropped:
                    metrics.SUBSCRIBERS_DROPPED.inc()
                self.detach(sub)
        metrics.FRAMES_SENT.labels(source="live").inc(sent)

    # --- gaps -------------------------------------------------------------------------------
    def _arm_gap(self, delay: float) -> None:
        if self._closed or self._gap_timer is not None or self._filling is not None:
            return
        self._gap_timer = self._loop.call_later(delay, self._start_fill)

    def _start_fill(self) -> None:
        self._gap_timer = None
        if self._closed or self.delivered >= self.target:
            return
        self._filling = asyncio.create_task(self._fill(), name=f"room-{self.room_id}-gap-fill")

    async def _fill(self) -> None:
        try:
            while not self._closed and self.delivered < self.target:
                before = self.delivered
                rows = await self.fetch(self.room_id, before, self.target, FILL_LIMIT)
                metrics.GAP_FILLS.labels(cause=self._cause).inc()
                if not rows:
                    break  # not there: try again later
                first = rows[0].get("seq")
                if isinstance(first, int) and first > before + 1 and self.delivered == before:
                    # the outbox is the whole truth: what it lacks was purged and cannot be had
                    log.warning(
                        "room %s: events %s..%s are no longer stored; skipping them",
                        self.room_id,
                        before + 1,
                        first - 1,
                    )
                    self._skip_to(first - 1)
                self.feed(rows)
                if self.delivered == before:
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database is away: try again later
            log.warning("room %s: gap fill failed: %s", self.room_id, exc)
        finally:
            self._filling = None
            if not self._closed and self.delivered < self.target:
                self._arm_gap(self.retry_seconds)

    def _skip_to(self, seq: int) -> None:
        self.delivered = seq
        for stale in [s for s in self._buffered if s <= seq]:
            del self._buffered[stale]

    def status(self) -> dict[str, Any]:
        """For tests and debugging."""
        return {
            "delivered": self.delivered,
            "flushed": self.flushed,
            "target": self.target,
            "buffered": len(self._buffered),
            "subscribers": len(self.subscribers),
        }
