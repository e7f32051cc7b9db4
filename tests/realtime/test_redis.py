"""Several processes: two apps on one PostgreSQL database, each with its own writer, share rooms
over a real Redis server; while Redis is away the outbox poll keeps subscribers whole."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from giftflow.realtime import metrics
from giftflow.realtime.service import Realtime

from .conftest import (
    RedisServer,
    StreamApp,
    read_ws_until,
    recv,
    redis_available,
    viewers,
    wait_for,
)

ROOM = 11
POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
pytestmark = [POSTGRES_ONLY, pytest.mark.timeout(60)]

OpenApp = Callable[..., AbstractContextManager[StreamApp]]


def plain(n: int) -> list[tuple[str, dict[str, Any]]]:
    return [viewers(i) for i in range(n)]


def gap_fills() -> float:
    return sum(float(metrics.GAP_FILLS.labels(cause=c)._value.get()) for c in ("gap", "poll"))


def subscribed(app: StreamApp) -> bool:
    bus = app.ctx.realtime.bus
    return bus is not None and bus.subscribed.is_set()


def test_events_from_another_process_arrive_in_order_over_redis(
    open_app: OpenApp, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Realtime, "poll_seconds", 3600.0)  # nothing but Redis may deliver
    url = redis_server.url
    with (
        open_app(redis_url=url, writer_shard=1) as a,
        open_app(redis_url=url, writer_shard=2) as b,
    ):
        a.create_room(ROOM)
        wait_for(lambda: subscribed(a), what="app A's Redis subscription")
        with a.ws(ROOM) as ws:
            assert recv(ws)["seq"] == 0
            for _ in range(10):
                b.emit(ROOM, *plain(3))  # only B's writer commits: A hears it over Redis
            got = read_ws_until(ws, 30, timeout=5)
            assert [e["seq"] for e in got] == list(range(1, 31))
            # both writers at once: A's own events come directly, B's over Redis, in any
            # order; A's subscriber still sees one sequence
            for _ in range(10):
                b.emit(ROOM, *plain(2))
                a.emit(ROOM, *plain(1))
            got = read_ws_until(ws, 60, timeout=5)
            assert [e["seq"] for e in got] == list(range(31, 61))
        with b.ws(ROOM, after=55) as ws:  # and B resumes from the shared outbox
            assert recv(ws)["recovered"] is True
            assert [e["seq"] for e in read_ws_until(ws, 60)] == [56, 57, 58, 59, 60]


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    redis_available()
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


def test_while_redis_is_down_the_outbox_keeps_subscribers_whole(
    open_app: OpenApp, own_redis: RedisServer
) -> None:
    url = own_redis.url
    with (
        open_app(redis_url=url, writer_shard=1) as a,
        open_app(redis_url=url, writer_shard=2) as b,
    ):
        a.create_room(ROOM)
        wait_for(lambda: subscribed(a), what="app A's Redis subscription")
        with a.ws(ROOM) as ws:
            recv(ws)
            b.emit(ROOM, *plain(2))
            assert [e["seq"] for e in read_ws_until(ws, 2)] == [1, 2]
            own_redis.stop()
            wait_for(lambda: not subscribed(a), timeout=10, what="A to notice")
            b.emit(ROOM, *plain(3))  # published into the void
            assert [e["seq"] for e in read_ws_until(ws, 5)] == [3, 4, 5]  # the poll found them
            own_redis.start()
            wait_for(lambda: subscribed(a), timeout=15, what="the subscription to come back")
            wait_for(lambda: subscribed(b), timeout=15, what="B's subscription to come back")
            fills = gap_fills()
            b.emit(ROOM, *plain(2))
            assert [e["seq"] for e in read_ws_until(ws, 7)] == [6, 7]
            assert gap_fills() == fills  # Redis delivered them, not the outbox
