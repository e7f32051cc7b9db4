"""Room streams without the live feature: a test command appends events through the writer.

``Emit`` does what a gift will do for its room: ``outbox.announce`` in ``account_hints`` and
``outbox.append`` in ``apply``. ``StreamApp`` wraps a running app (TestClient) with helpers to
create rooms, emit events, and read WebSocket / SSE streams. A session ``redis-server`` on
loopback serves the Redis bus tests.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from giftflow.api import create_app
from giftflow.clock import FrozenClock
from giftflow.context import AppContext
from giftflow.db import unit_of_work
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.model import AccountRef
from giftflow.realtime import outbox
from giftflow.settings import Settings
from tests.api.conftest import SECRET

REDIS_BIN = "/usr/bin/redis-server"
SSE = {"Accept": "text/event-stream"}


class Emit(Command):
    """Append ``events`` ((type, payload) pairs) to a room, as a live command will."""

    kind = "test.room_events"

    def __init__(self, room_id: int, events: list[tuple[str, dict[str, Any]]]) -> None:
        self.room_id = room_id
        self.events = events

    def account_hints(self, ctx: BatchContext) -> list[AccountRef]:
        outbox.announce(ctx, self.room_id)
        return []

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        seqs = [outbox.append(ctx, self.room_id, t, p) for t, p in self.events]
        return {"seqs": seqs}


def gift(
    combo: str | None, count: int = 1, coins: int = 1, combo_count: int = 1, end: bool = False
) -> tuple[str, dict[str, Any]]:
    return (
        "gift",
        {
            "sender": {"id": "v1", "name": "Viewer"},
            "gift": {"id": "rose", "name": "Rose", "tier": 1, "image": "/static/gifts/rose.svg"},
            "count": count,
            "coins": coins,
            "diamonds": coins * 50,
            "combo_id": combo,
            "combo_count": combo_count,
            "combo_end": end,
        },
    )


def viewers(n: int) -> tuple[str, dict[str, Any]]:
    return ("viewer_count", {"viewers": n})


def seqs_of(events: list[dict[str, Any]]) -> list[int]:
    """Every seq an event list covers, when merged gifts are not interleaved with other events
    (a merged gift then covers seq_from..seq)."""
    out: list[int] = []
    for e in events:
        first = e.get("seq_from", e["seq"])
        out.extend(range(first, e["seq"] + 1))
    return out


@dataclass
class StreamApp:
    client: TestClient
    clock: FrozenClock

    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self.client.app.state.giftflow  # type: ignore[attr-defined]
        return ctx

    def create_room(self, room_id: int) -> None:
        with unit_of_work(self.ctx.engine) as conn:
            outbox.create_room(conn, room_id)

    def emit(self, room_id: int, *events: tuple[str, dict[str, Any]]) -> list[int]:
        outcome = self.ctx.writer.execute(Emit(room_id, list(events)))
        assert outcome.ok, outcome.body
        seqs: list[int] = outcome.body["seqs"]
        return seqs

    def emit_many(self, room_id: int, batches: list[list[tuple[str, dict[str, Any]]]]) -> None:
        """Submit every command at once (they share batches), then wait for all."""
        futures = [self.ctx.writer.submit_future(Emit(room_id, b)) for b in batches]
        for f in futures:
            assert f.result(30).ok

    def ws(self, room_id: int | str, after: int | None = None) -> WebSocketTestSession:
        query = "" if after is None else f"?after={after}"
        return self.client.websocket_connect(f"/v1/lives/{room_id}/events{query}")

    def sse(
        self, room_id: int | str, headers: dict[str, str] | None = None, query: str = ""
    ) -> AbstractContextManager[httpx.Response]:
        opened: AbstractContextManager[httpx.Response] = self.client.stream(
            "GET", f"/v1/lives/{room_id}/events{query}", headers={**SSE, **(headers or {})}
        )
        return opened

    def on_loop(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the app's event loop (hubs live there)."""

        async def call() -> Any:
            return fn()

        portal = self.client.portal
        assert portal is not None
        return portal.call(call)


def settings_for(database_url: str, **overrides: Any) -> Settings:
    return Settings(
        database_url=database_url,
        jwt_secret=SECRET,
        pending_sweep_seconds=0,
        **{"realtime_flush_ms": 20, **overrides},
    )


@pytest.fixture
def open_app(database_url: str) -> Callable[..., AbstractContextManager[StreamApp]]:
    """``with open_app(realtime_flush_ms=200) as app:`` — a running app on the test database."""

    @contextmanager
    def opened(**overrides: Any) -> Iterator[StreamApp]:
        clock = FrozenClock()
        with TestClient(create_app(settings_for(database_url, **overrides), clock)) as client:
            opened = StreamApp(client, clock)
            # these rooms have no live behind them: no state (a test may set its own provider)
            opened.ctx.realtime.set_state_provider(lambda conn, room_id: None)
            yield opened

    return opened


@pytest.fixture
def app(open_app: Callable[..., AbstractContextManager[StreamApp]]) -> Iterator[StreamApp]:
    with open_app() as opened:
        yield opened


# --- reading streams ------------------------------------------------------------------------
def recv(ws: WebSocketTestSession, timeout: float = 10.0) -> Any:
    """``ws.receive_json()`` that fails after ``timeout`` seconds instead of hanging."""

    async def receive() -> Any:
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    message = ws.portal.call(receive)
    ws._raise_on_close(message)
    return json.loads(message["text"])


def read_ws_until(
    ws: WebSocketTestSession, seq: int, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Frames' events until one covers ``seq`` (pings skipped)."""
    events: list[dict[str, Any]] = []
    while True:
        message = recv(ws, timeout)
        if message["type"] == "ping":
            continue
        assert message["type"] == "events", message
        assert message["seq"] == message["events"][-1]["seq"]
        events.extend(message["events"])
        if message["seq"] >= seq:
            return events


@dataclass
class SseMessage:
    id: str | None
    event: str | None
    data: Any
    comment: bool = False


def sse_messages(response: httpx.Response) -> Iterator[SseMessage]:
    """Parse an SSE body as it streams."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if fields:
                data = fields.get("data")
                yield SseMessage(
                    fields.get("id"),
                    fields.get("event"),
                    json.loads(data) if data else None,
                    comment="comment" in fields,
                )
            fields = {}
            continue
        if line.startswith(":"):
            fields["comment"] = line[1:].strip()
            continue
        name, _, value = line.partition(":")
        fields[name] = value[1:] if value.startswith(" ") else value


# --- redis ----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A throwaway ``redis-server`` on loopback (no persistence)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [
                REDIS_BIN,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--bind",
                "127.0.0.1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


def redis_available() -> None:
    """Skip (or, when PostgreSQL-backed tests are required, fail) without redis-server."""
    if shutil.which(REDIS_BIN) is None:
        if os.environ.get("GIFTFLOW_REQUIRE_PG"):
            pytest.fail(f"{REDIS_BIN} is missing (make system-deps installs redis-server)")
        pytest.skip(f"{REDIS_BIN} is not installed: the Redis bus tests need it")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    redis_available()
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.01)
