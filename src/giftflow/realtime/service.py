"""Room event streams for one server process: the bus, the room hubs and the resume algorithm.

The ledger writer calls ``on_commit`` in its thread after each commit with the batch's room
events; they are handed to the event loop (``call_soon_threadsafe``, never blocking the writer),
fed to this process's hubs and, with ``GIFTFLOW_REDIS_URL`` set, published for the other
processes. Once a second the service reads the last seq of every room it has a hub for, so a
publish that never came is still delivered (``RoomHub.observe``).

A subscriber is served by ``open(room_id, after)``:

1. read, in one snapshot, the room's last seq ``S``, its first retained seq and its state (from
   the live feature's state provider); unknown room: ``NotFound``;
2. ``recovered`` when ``after`` is in ``[first retained - 1, S]``; the stream then starts at
   ``after``, otherwise at ``S`` (no replay: the client reloads ``state``);
3. attach to the room's hub (created at ``S`` if this is its first subscriber) and note the hub's
   position ``P`` (the last seq it sent in a frame): every later frame reaches the subscriber;
4. replay ``(start, P]`` from the outbox in frames of at most ``REPLAY_CHUNK`` events, then the
   live frames; if the hub is behind (``P < start``) its frames are cut at ``start``. So each
   event after ``start`` is sent exactly once and in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from giftflow.clock import Clock
from giftflow.errors import NotFound
from giftflow.realtime import metrics, repository
from giftflow.realtime.bus import RedisBus
from giftflow.realtime.frames import Event, Frame
from giftflow.realtime.hub import RoomHub, StreamEnded, Subscriber
from giftflow.realtime.outbox import OUTBOX_NAME, RoomEvent
from giftflow.realtime.repository import Engine, RoomPosition, StateProvider
from giftflow.settings import Settings

__all__ = ["Realtime", "StateProvider", "Stream", "purge_room_events"]

log = logging.getLogger("giftflow.realtime")

REPLAY_CHUNK = 500  # events per replayed frame
PURGE_CHUNK = 2000  # events per purge transaction


def purge_room_events(engine: Engine, before: datetime, chunk: int = PURGE_CHUNK) -> int:
    """Delete room events created before ``before`` in transactions of at most ``chunk``,
    always keeping each room's last event. Blocking (call it in a thread); returns the count."""
    total = 0
    while True:
        deleted = repository.purge_before(engine, before, chunk)
        total += deleted
        if deleted < chunk:
            return total


class Stream:
    """One subscriber's stream: the welcome, the replay from the outbox, then live frames."""

    def __init__(
        self,
        realtime: Realtime,
        hub: RoomHub,
        subscriber: Subscriber,
        welcome: dict[str, Any],
        start: int,
        replay_upto: int,
    ) -> None:
        self._realtime = realtime
        self._hub = hub
        self.subscriber = subscriber
        self.welcome = welcome
        self.room_id = hub.room_id
        self.start = start
        self.replay_upto = replay_upto
        self.position = start  # the last seq the client has been given

    @property
    def dropped(self) -> bool:
        return self.subscriber.dropped

    async def frames(self, ping_seconds: float) -> AsyncIterator[Frame | None]:
        """Replayed frames, then live ones; None when ``ping_seconds`` pass without a frame.
        Ends when the subscriber is dropped or the server stops."""
        while self.position < self.replay_upto:
            events = await self._realtime.fetch(
                self.room_id, self.position, self.replay_upto, REPLAY_CHUNK
            )
            if not events:  # purged meanwhile: the hub's frames take over
                break
            frame = Frame.build(events)
            metrics.FRAMES_SENT.labels(source="replay").inc()
            yield frame
            self.position = frame.seq
        while True:
            try:
                live = await self.subscriber.next(ping_seconds)
            except StreamEnded:
                return
            yield live
            if live is not None:
                self.position = live.seq

    def close(self) -> None:
        self._hub.detach(self.subscriber)


class Realtime:
    """Buses, room hubs and subscribers of one process."""

    poll_seconds = 1.0  # how often the outbox is asked where each watched room stands
    gap_seconds = 0.15  # how long a gap may last before the outbox is read

    def __init__(self, settings: Settings, engine: Engine, clock: Clock) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.state_provider: StateProvider | None = None
        self.instance = uuid.uuid4().hex
        self.hubs: dict[int, RoomHub] = {}
        self.bus: RedisBus | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task[None] | None = None
        self._stopping = False
        self._background: set[asyncio.Task[None]] = set()

    def set_state_provider(self, provider: StateProvider) -> None:
        """The current state of a room (a live's viewers and totals) for ``welcome`` messages."""
        self.state_provider = provider

    # --- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        if self.settings.redis_url:
            self.bus = RedisBus(
                self.settings.redis_url,
                self.instance,
                deliver=self._deliver,
                wants=self.hubs.__contains__,
                on_reconnect=self._poll_soon,
            )
            await self.bus.start()
        self._poller = asyncio.create_task(self._polling(), name="realtime-outbox-poll")

    async def stop(self) -> None:
        self._stopping = True
        self._loop = None
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        for hub in list(self.hubs.values()):
            hub.close()
        self.hubs.clear()
        metrics.ROOMS.set(0)
        if self.bus is not None:
            await self.bus.stop()
            self.bus = None

    @property
    def stopping(self) -> bool:
        return self._stopping

    # --- events in --------------------------------------------------------------------------
    def on_commit(self, staged: Mapping[str, list[Any]]) -> None:
        """The writer's commit listener (runs in the writer thread): hand the batch's room
        events to the event loop and return at once."""
        rows: list[RoomEvent] = staged.get(OUTBOX_NAME) or []
        loop = self._loop
        if not rows or loop is None:
            return
        by_room: dict[int, list[Event]] = {}
        for row in rows:
            by_room.setdefault(row.room_id, []).append(row.payload)
        with contextlib.suppress(RuntimeError):  # the loop is closing: nobody is listening
            loop.call_soon_threadsafe(self._committed, by_room)

    def _committed(self, by_room: dict[int, list[Event]]) -> None:
        for room_id, events in by_room.items():
            self._deliver(room_id, events)
        if self.bus is not None:
            self.bus.publish(by_room)

    def _deliver(self, room_id: int, events: list[Event]) -> None:
        hub = self.hubs.get(room_id)
        if hub is not None:
            hub.feed(events)

    # --- the outbox -------------------------------------------------------------------------
    async def fetch(self, room_id: int, after: int, upto: int | None, limit: int) -> list[Event]:
        """Stored events ``after < seq <= upto`` of a room, read in a worker thread."""
        return await asyncio.to_thread(
            repository.events_after, self.engine, room_id, after, upto, limit
        )

    async def position(self, room_id: int) -> RoomPosition:
        found = await asyncio.to_thread(
            repository.room_position, self.engine, room_id, self.state_provider
        )
        if found is None:
            raise NotFound("No such live.", id=str(room_id))
        return found

    async def _polling(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            await self._poll_logged()

    async def _poll_logged(self) -> None:
        try:
            await self.poll()
        except Exception as exc:  # the database is away: the next round tries again
            log.warning("room position poll failed: %s", exc)

    async def poll(self) -> None:
        """Tell each hub where its room stands in the outbox (one query for all rooms)."""
        if not self.hubs:
            return
        last = await asyncio.to_thread(repository.last_seqs, self.engine, list(self.hubs))
        for room_id, seq in last.items():
            hub = self.hubs.get(room_id)
            if hub is not None:
                hub.observe(seq)

    def _poll_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self._poll_logged())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def purge(self) -> int:
        """Purge events older than ``room_event_retention_hours`` (in a worker thread)."""
        before = self.clock.now() - timedelta(hours=self.settings.room_event_retention_hours)
        return await asyncio.to_thread(purge_room_events, self.engine, before)

    # --- subscribers ------------------------------------------------------------------------
    def _hub(self, room_id: int, position: int) -> RoomHub:
        hub = self.hubs.get(room_id)
        if hub is None:
            hub = RoomHub(
                room_id,
                position,
                self.fetch,
                flush_seconds=self.settings.realtime_flush_ms / 1000,
                gap_seconds=self.gap_seconds,
                retry_seconds=self.poll_seconds,
                max_frames=self.settings.realtime_queue_frames,
                max_events=self.settings.realtime_max_frame_events,
                on_empty=self._forget,
            )
            self.hubs[room_id] = hub
            metrics.ROOMS.set(len(self.hubs))
        return hub

    def _forget(self, hub: RoomHub) -> None:
        if self.hubs.get(hub.room_id) is hub:
            del self.hubs[hub.room_id]
            hub.close()
            metrics.ROOMS.set(len(self.hubs))

    async def welcome(self, room_id: int, after: int | None) -> tuple[dict[str, Any], int]:
        """The welcome message of a subscriber resuming after ``after`` (None: a new one) and
        the seq its stream starts after. Raises ``NotFound`` for an unknown room."""
        at = await self.position(room_id)
        recovered = after is not None and _retained(at, after)
        message = {
            "type": "welcome",
            "room_id": str(room_id),
            "seq": at.last_seq,
            "recovered": recovered,
            "state": at.state,
        }
        return message, after if recovered and after is not None else at.last_seq

    async def open(self, room_id: int, after: int | None) -> Stream:
        """A stream of the room's events after ``after`` (see the module's resume algorithm)."""
        if self._stopping or self._loop is None:
            raise RuntimeError("realtime is not running")
        welcome, start = await self.welcome(room_id, after)
        hub = self._hub(room_id, int(welcome["seq"]))
        subscriber = hub.attach(floor=start)
        return Stream(self, hub, subscriber, welcome, start, replay_upto=hub.flushed)


def _retained(at: RoomPosition, after: int) -> bool:
    """Whether every event after ``after`` is still stored (a resume can be served)."""
    if after > at.last_seq:
        return False  # a position this room never had
    first = at.first_seq if at.first_seq is not None else at.last_seq + 1
    return after >= first - 1
