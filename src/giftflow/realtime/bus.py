"""The Redis bus: each process publishes its committed room events and hears everyone's.

Redis is only the doorbell: the outbox table is the durable log and every hub checks sequence
numbers, so a message that Redis loses, repeats or delivers late costs latency, never
correctness (see docs/realtime.md). Each committed batch becomes one message per room on
``giftflow:room:{room_id}``: ``{"src": <process instance>, "events": [...]}``. Every process
subscribes to the pattern ``giftflow:room:*`` and feeds the hubs it has; a process skips its own
messages (its hubs were fed directly at commit).

Publishing runs on the event loop from a bounded queue (never in the writer thread); while Redis
is away messages are dropped (the outbox poll delivers them) and both sides reconnect with
exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from giftflow.jsontext import dumps
from giftflow.realtime import metrics
from giftflow.realtime.frames import Event

log = logging.getLogger("giftflow.realtime.bus")

CHANNEL_PREFIX = "giftflow:room:"
PATTERN = CHANNEL_PREFIX + "*"
MAX_QUEUED = 10_000  # messages waiting to be published; past it the oldest are dropped
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 5.0

Deliver = Callable[[int, list[Event]], None]


def channel(room_id: int) -> str:
    return f"{CHANNEL_PREFIX}{room_id}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisBus:
    """Publisher and pattern subscriber on one Redis server."""

    def __init__(
        self,
        url: str,
        instance: str,
        deliver: Deliver,
        wants: Callable[[int], bool],
        on_reconnect: Callable[[], None] | None = None,
    ) -> None:
        self.url = url
        self.instance = instance
        self.deliver = deliver  # (room_id, events): feed that room's hub
        self.wants = wants  # whether this process has a hub for the room (skip parsing if not)
        self.on_reconnect = on_reconnect
        self._queue: deque[tuple[int, str]] = deque(maxlen=MAX_QUEUED)
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._client: aioredis.Redis | None = None
        self.subscribed = asyncio.Event()  # set while the pattern subscription is live

    async def start(self) -> None:
        self._client = aioredis.from_url(self.url, socket_connect_timeout=2)
        self._tasks = [
            asyncio.create_task(self._publishing(), name="realtime-redis-publish"),
            asyncio.create_task(self._listening(), name="realtime-redis-listen"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None

    def publish(self, by_room: Mapping[int, list[Event]]) -> None:
        """Queue one message per room (event loop, never blocks)."""
        for room_id, events in by_room.items():
            body = dumps({"src": self.instance, "events": events})
            self._queue.append((room_id, body))
        self._ready.set()

    async def _publishing(self) -> None:
        backoff = BACKOFF_FIRST
        while True:
            if not self._queue:
                self._ready.clear()
                await self._ready.wait()
                continue
            room_id, body = self._queue.popleft()
            assert self._client is not None
            try:
                await self._client.publish(channel(room_id), body)
                backoff = BACKOFF_FIRST
            except (RedisError, OSError) as exc:
                # dropped: the other processes' outbox poll delivers it
                metrics.BUS_ERRORS.labels(side="publish").inc()
                log.warning("redis publish failed (retrying in %.1fs): %s", backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)

    async def _listening(self) -> None:
        backoff = BACKOFF_FIRST
        first = True
        while True:
            assert self._client is not None
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(PATTERN)
                self.subscribed.set()
                if not first and self.on_reconnect is not None:
                    self.on_reconnect()
                    log.info("redis subscription restored")
                first = False
                backoff = BACKOFF_FIRST
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None:
                        self._handle(message)
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                metrics.BUS_ERRORS.labels(side="subscribe").inc()
                log.warning("redis subscription lost (retrying in %.1fs): %s", backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _handle(self, message: Mapping[str, Any]) -> None:
        if message.get("type") != "pmessage":
            return
        name = _text(message.get("channel", ""))
        if not name.startswith(CHANNEL_PREFIX):
            return
        try:
            room_id = int(name[len(CHANNEL_PREFIX) :])
        except ValueError:
            return
        if not self.wants(room_id):
            return
        try:
            body = json.loads(message["data"])
        except (TypeError, ValueError):
            log.warning("unreadable message on %s", name)
            return
        if not isinstance(body, dict) or body.get("src") == self.instance:
            return
        events = body.get("events")
        if isinstance(events, list):
            self.deliver(room_id, [e for e in events if isinstance(e, dict)])
