"""``GET /v1/lives/{live_id}/events``: the room's stream over WebSocket, or SSE.

Public (browsers' EventSource and WebSocket cannot send an Authorization header; events carry
only public room data). The wire protocol is in docs/realtime.md. A plain GET that does not ask
for ``text/event-stream`` gets the welcome message as JSON (where the room stands, its state).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, WebSocket
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from giftflow.context import AppContext, get_context
from giftflow.errors import NotFound
from giftflow.http.ids import parse_id
from giftflow.jsontext import dumps
from giftflow.realtime.schemas import MAX_SEQ, WelcomeOut
from giftflow.realtime.service import Stream

router = APIRouter(prefix="/v1", tags=["live"])

PATH = "/lives/{live_id}/events"
SSE = "text/event-stream"
WS_PING = dumps({"type": "ping"})
SSE_PING = ": ping\n\n"
CLOSE_NOT_FOUND = 4404
CLOSE_SLOW = 4008
CLOSE_GOING_AWAY = 1001
DROP_GRACE_SECONDS = 1.0  # a dropped subscriber's frame in flight may finish

AFTER = Query(
    None,
    ge=0,
    le=MAX_SEQ,
    description="Resume: the seq of the last event received; the missed ones are replayed.",
)
SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "With `Accept: text/event-stream`, the room's Server-Sent Events "
        "(`welcome`, then `events` frames with `id:` = the frame's seq, `: ping` comments); "
        "otherwise the welcome message as JSON. The same path is a WebSocket (see "
        "docs/realtime.md).",
        "content": {SSE: {"schema": {"type": "string"}}},
    }
}


def _sse(data: str, event: str, seq: int | None) -> str:
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n"


async def _sse_body(stream: Stream, ping_seconds: float) -> AsyncIterator[str]:
    try:
        yield _sse(dumps(stream.welcome), "welcome", stream.start)
        async for frame in stream.frames(ping_seconds):
            yield SSE_PING if frame is None else _sse(frame.text, "events", frame.seq)
    finally:
        stream.close()


@router.get(PATH, response_model=WelcomeOut, responses=SSE_RESPONSE)
async def room_events(
    live_id: str,
    request: Request,
    after: int | None = AFTER,
    last_event_id: int | None = Header(
        None,
        alias="Last-Event-ID",
        ge=0,
        le=MAX_SEQ,
        description="Sent by EventSource when it reconnects; wins over `after`.",
    ),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """The room's events: SSE with `Accept: text/event-stream`, else the welcome as JSON."""
    room_id = parse_id(live_id)
    resume = last_event_id if last_event_id is not None else after
    realtime = ctx.realtime
    if SSE not in request.headers.get("accept", ""):
        welcome, _ = await realtime.welcome(room_id, resume)
        return JSONResponse(WelcomeOut.model_validate(welcome).model_dump(mode="json"))
    stream = await realtime.open(room_id, resume)
    return _SseResponse(stream, ctx.settings.realtime_ping_seconds)


class _SseResponse(StreamingResponse):
    """The room's SSE body; the subscriber is detached as soon as the response ends, however it
    ends. When the client goes away Starlette cancels the sending task: if that happens while the
    body's generator is suspended at a ``yield`` (its frame being written), the generator's own
    ``finally`` would run only when the garbage collector finalises it, seconds later, and the
    room would keep a subscriber nobody reads (and a hub) until then."""

    def __init__(self, stream: Stream, ping_seconds: float) -> None:
        super().__init__(
            _sse_body(stream, ping_seconds),
            media_type=SSE,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.stream.close()


def _retrieve(task: asyncio.Task[Any]) -> None:
    """A helper task's error (the client went away mid-send) is expected: mark it seen."""
    if not task.cancelled():
        task.exception()


async def _until_disconnect(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends until it goes away."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _send_stream(websocket: WebSocket, stream: Stream, ping_seconds: float) -> None:
    await websocket.send_text(dumps(stream.welcome))
    async for frame in stream.frames(ping_seconds):
        await websocket.send_text(WS_PING if frame is None else frame.text)


@router.websocket(PATH)
async def room_events_ws(websocket: WebSocket, live_id: str, after: int | None = AFTER) -> None:
    ctx: AppContext = websocket.app.state.giftflow
    try:
        stream = await ctx.realtime.open(parse_id(live_id), after)
    except NotFound:
        await websocket.accept()
        await websocket.close(code=CLOSE_NOT_FOUND, reason="not_found")
        return
    try:
        await websocket.accept()
        sender = asyncio.create_task(
            _send_stream(websocket, stream, ctx.settings.realtime_ping_seconds)
        )
        receiver = asyncio.create_task(_until_disconnect(websocket))
        ended = asyncio.create_task(stream.subscriber.ended.wait())
        tasks = {sender, receiver, ended}
        for task in tasks:
            task.add_done_callback(_retrieve)
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if done == {ended}:
                # dropped or stopping: the frame being written may finish, then we close
                await asyncio.wait({sender, receiver}, timeout=DROP_GRACE_SECONDS)
        finally:
            for task in tasks:
                task.cancel()
            # asyncio.wait, not gather: a cancellation of this task must stay its own (gather
            # would raise the children's CancelledError in place of the server's)
            await asyncio.wait(tasks)
        if receiver.done() and not receiver.cancelled() and receiver.exception() is None:
            return  # the client left
        if stream.dropped:
            code, reason = CLOSE_SLOW, f"slow consumer, resume with after={stream.position}"
        elif ctx.realtime.stopping:
            code, reason = CLOSE_GOING_AWAY, "server stopping"
        else:
            code, reason = 1000, ""
        with contextlib.suppress(Exception):
            await websocket.close(code=code, reason=reason)
    finally:
        stream.close()
