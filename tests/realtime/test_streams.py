"""``GET /v1/lives/{id}/events`` end to end, on SQLite and PostgreSQL: WebSocket and SSE clients
that leave and resume get every event exactly once and in order; history past retention is not
recovered; combos arrive merged; a lost publish still arrives; unknown rooms are refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from giftflow.db import make_engine
from giftflow.ledger.writer import LedgerWriter
from giftflow.realtime.service import purge_room_events

from .conftest import (
    Emit,
    StreamApp,
    gift,
    read_ws_until,
    recv,
    seqs_of,
    sse_messages,
    viewers,
    wait_for,
)

ROOM = 7
pytestmark = pytest.mark.timeout(30)


def plain(n: int) -> list[tuple[str, dict[str, Any]]]:
    """``n`` events that never merge (so each seq shows)."""
    return [viewers(i) for i in range(n)]


class Background:
    """Emit batches from a thread while the test reads a stream."""

    def __init__(self, app: StreamApp, room: int, batches: int, size: int) -> None:
        def run() -> None:
            for _ in range(batches):
                app.emit(room, *plain(size))
                time.sleep(0.005)

        self.thread = threading.Thread(target=run)

    def __enter__(self) -> Background:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.thread.join(30)


def test_websocket_resume_gets_every_event_once_in_order(app: StreamApp) -> None:
    app.create_room(ROOM)
    app.emit(ROOM, *plain(10))
    got: list[dict[str, Any]] = []
    with app.ws(ROOM) as ws:
        welcome = recv(ws)
        assert welcome == {
            "type": "welcome",
            "room_id": "7",
            "seq": 10,
            "recovered": False,
            "state": None,
        }
        with Background(app, ROOM, batches=10, size=3):  # 11..40 while we read
            got += read_ws_until(ws, 25)
        # leave mid-stream (frames up to 40 may be queued, unread)
    app.emit(ROOM, *plain(10))  # 41..50 while away
    last = got[-1]["seq"]
    with app.ws(ROOM, after=last) as ws:
        welcome = recv(ws)
        assert welcome["recovered"] is True and welcome["seq"] == 50
        with Background(app, ROOM, batches=5, size=2):  # 51..60 during the replay
            got += read_ws_until(ws, 60)
    assert [e["seq"] for e in got] == list(range(11, 61))
    assert all(e["room_id"] == "7" and e["type"] == "viewer_count" for e in got)
    wait_for(lambda: not app.ctx.realtime.hubs, what="the streams to detach")


def test_sse_resume_with_last_event_id_gets_every_event_once_in_order(app: StreamApp) -> None:
    app.create_room(ROOM)
    app.emit(ROOM, *plain(5))
    got: list[dict[str, Any]] = []
    last_id = None
    with app.sse(ROOM) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        messages = sse_messages(response)
        welcome = next(messages)
        assert welcome.event == "welcome" and welcome.id == "5"
        assert welcome.data["seq"] == 5 and welcome.data["recovered"] is False
        with Background(app, ROOM, batches=8, size=2):  # 6..21
            for message in messages:
                assert message.event == "events" and message.id == str(message.data["seq"])
                got += message.data["events"]
                last_id = message.id
                if message.data["seq"] >= 12:
                    break
    app.emit(ROOM, *plain(4))  # 22..25
    # EventSource reconnects to the same URL (its old ?after=) and adds Last-Event-ID: it wins
    assert last_id is not None
    with app.sse(ROOM, headers={"Last-Event-ID": last_id}, query="?after=1") as response:
        messages = sse_messages(response)
        welcome = next(messages)
        assert welcome.data["recovered"] is True and welcome.id == last_id
        for message in messages:
            got += message.data["events"]
            if message.data["seq"] >= 25:
                break
    assert [e["seq"] for e in got] == list(range(6, 26))
    wait_for(lambda: not app.ctx.realtime.hubs, what="the streams to detach")


def test_past_retention_the_client_reloads_state_instead(app: StreamApp) -> None:
    app.create_room(ROOM)
    app.create_room(8)
    app.emit(ROOM, *plain(6))
    app.emit(8, *plain(2))
    app.clock.advance(timedelta(hours=25))
    app.emit(ROOM, *plain(2))  # 7, 8: recent
    before = app.clock.now() - timedelta(hours=24)
    assert purge_room_events(app.ctx.engine, before, chunk=2) == 7  # 1..6 and room 8's first
    with app.ws(8, after=0) as ws:  # room 8 keeps its last event: it can say where it stands
        assert recv(ws)["recovered"] is False
    with app.ws(8, after=1) as ws:
        assert recv(ws)["recovered"] is True
    with app.ws(ROOM, after=0) as ws:
        welcome = recv(ws)
        assert welcome["recovered"] is False and welcome["seq"] == 8
        app.emit(ROOM, *plain(1))
        assert [e["seq"] for e in read_ws_until(ws, 9)] == [9]  # live only, no replay
    with app.ws(ROOM, after=6) as ws:  # 7.. is still stored
        assert recv(ws)["recovered"] is True
        assert [e["seq"] for e in read_ws_until(ws, 9)] == [7, 8, 9]
    with app.ws(ROOM, after=99) as ws:  # a position the room never had
        assert recv(ws)["recovered"] is False


def test_a_combo_in_one_flush_window_arrives_merged_and_adds_up(
    open_app: Callable[..., AbstractContextManager[StreamApp]],
) -> None:
    with open_app(realtime_flush_ms=300) as app:
        app.create_room(ROOM)
        with app.ws(ROOM) as ws:
            assert recv(ws)["seq"] == 0
            batches = [
                [gift("c1", count=2, coins=2, combo_count=2 * i + 2), gift("c2", coins=5)]
                for i in range(20)
            ]
            batches.append([gift(None, coins=99), gift("c1", combo_count=41, end=True)])
            app.emit_many(ROOM, batches)
            got = read_ws_until(ws, 42)
    c1 = [e for e in got if e.get("combo_id") == "c1"]
    c2 = [e for e in got if e.get("combo_id") == "c2"]
    assert len(c1) < 21 and len(c2) < 20  # merged
    assert sum(e["count"] for e in c1) == 41 and sum(e["coins"] for e in c1) == 41
    assert sum(e["diamonds"] for e in c1) == 41 * 50
    assert sum(e["count"] for e in c2) == 20 and sum(e["coins"] for e in c2) == 100
    assert c1[-1]["combo_count"] == 41 and c1[-1]["combo_end"] is True
    assert [e["coins"] for e in got if e["combo_id"] is None] == [99]
    assert all("seq_from" in e for e in c1 if e["count"] > 2)
    assert got[-1]["seq"] == 42


def test_a_lost_publish_is_delivered_by_the_outbox_poll(app: StreamApp, database_url: str) -> None:
    """Events committed without any announcement (another writer whose publish is lost)."""
    app.create_room(ROOM)
    engine = make_engine(database_url, writer=True, pool_size=1)
    silent = LedgerWriter(engine, app.clock, shard=3)  # no commit listener: nothing announced
    silent.start()
    try:
        with app.ws(ROOM) as ws:
            recv(ws)
            outcome = silent.execute(Emit(ROOM, plain(3)))
            assert outcome.ok
            started = time.monotonic()
            assert [e["seq"] for e in read_ws_until(ws, 3)] == [1, 2, 3]
            assert time.monotonic() - started < 5
    finally:
        silent.stop()
        engine.dispose()


def test_unknown_rooms_are_not_found(app: StreamApp) -> None:
    for room in ("404", "nope"):
        r = app.client.get(f"/v1/lives/{room}/events", headers={"Accept": "text/event-stream"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        with app.ws(room) as ws, pytest.raises(WebSocketDisconnect) as closed:
            recv(ws)
        assert closed.value.code == 4404


def test_a_plain_get_answers_the_welcome_as_json(app: StreamApp) -> None:
    app.create_room(ROOM)
    app.emit(ROOM, *plain(3))
    r = app.client.get(f"/v1/lives/{ROOM}/events", params={"after": 1})
    assert r.status_code == 200
    assert r.json() == {
        "type": "welcome",
        "room_id": "7",
        "seq": 3,
        "recovered": True,
        "state": None,
    }
    assert app.client.get(f"/v1/lives/{ROOM}/events?after=-1").status_code == 422


def test_the_state_provider_fills_the_welcome(app: StreamApp) -> None:
    app.create_room(ROOM)
    seen: list[int] = []

    def state(conn: Any, room_id: int) -> dict[str, Any]:
        seen.append(room_id)
        return {"viewers": 3, "title": "hello"}

    app.ctx.realtime.set_state_provider(state)
    with app.ws(ROOM) as ws:
        assert recv(ws)["state"] == {"viewers": 3, "title": "hello"}
    assert seen == [ROOM]


def test_a_dropped_websocket_is_told_where_to_resume(app: StreamApp) -> None:
    app.create_room(ROOM)
    with app.ws(ROOM) as ws:
        recv(ws)
        app.emit(ROOM, *plain(2))
        assert [e["seq"] for e in read_ws_until(ws, 2)] == [1, 2]
        hub = app.ctx.realtime.hubs[ROOM]

        def drop_all() -> None:
            for sub in list(hub.subscribers):
                sub.drop()

        app.on_loop(drop_all)
        with pytest.raises(WebSocketDisconnect) as closed:
            recv(ws)
        assert closed.value.code == 4008
        assert closed.value.reason == "slow consumer, resume with after=2"
    wait_for(lambda: ROOM not in app.ctx.realtime.hubs, what="the hub to go")


def test_keepalive_pings(
    open_app: Callable[..., AbstractContextManager[StreamApp]],
) -> None:
    with open_app(realtime_ping_seconds=0.05) as app:
        app.create_room(ROOM)
        with app.ws(ROOM) as ws:
            recv(ws)
            assert recv(ws) == {"type": "ping"}
        with app.sse(ROOM) as response:
            messages = sse_messages(response)
            assert next(messages).event == "welcome"
            assert next(messages).comment


def test_merged_replay_and_live_frames_cover_each_event_once(app: StreamApp) -> None:
    """A combo that spans the replay and the live part still adds up."""
    app.create_room(ROOM)
    app.emit(ROOM, *[gift("k") for _ in range(30)])
    with app.ws(ROOM, after=0) as ws:
        assert recv(ws)["recovered"] is True
        app.emit(ROOM, *[gift("k") for _ in range(5)])
        got = read_ws_until(ws, 35)
    assert sum(e["count"] for e in got) == 35 and seqs_of(got) == list(range(1, 36))
