"""The hot path of ``POST /v1/lives/{id}/gifts``: a well-formed gift skips FastAPI's machinery.

The route stays an ordinary FastAPI route (``routes.send_gift``): the OpenAPI document, its
security and error responses are read from that endpoint's signature and dependency tree as for
every other route, and every request that is not plainly well formed is served by it. What
``GiftRoute`` adds is a short way for the common request, the one that carries a JSON object
pydantic accepts as ``GiftIn`` and a user token that verifies: it reads the body once, validates
it with the same model, authenticates with the same function (``giftflow.auth.deps.authenticate``,
whose verified tokens are remembered), builds the same command (``service.gift_command``), makes
the same idempotency request (scope, key and fingerprint as ``idempotency_request`` makes them,
which it calls itself for anything but a plain key and no query string), submits it through
``AppContext.submit`` and answers the outcome as ``submit_idempotent`` does (``Idempotent-Replayed``
on a replay).

Anything else before the command is submitted — a body that is empty, not JSON, not an object,
or that ``GiftIn`` refuses; an API key, a missing or bad credential; a malformed live id; a count
over the policy's maximum — is handed, unread, to the FastAPI endpoint, which answers it exactly
as it always has (which error, in which order). Nothing has happened by then: no key is in
flight and nothing is queued. Past that point errors are raised as in the endpoint
(``idempotency_key_required``, a key in flight, an overloaded writer) and the app's error
handlers answer them; the writer's answers (a live that does not exist, every refusal) are the
command's, as ever. ``tests/live/test_gift_fast_path.py`` sends every kind of request both ways
and compares what comes back.

What it saves (``python -m bench.gift_route_profile``, in-process on the 2-core machine): FastAPI's
dependency solving, its request/response wrapper (two exit stacks), the ``Request`` and its
parsed headers, URL and query, and most of the JWT check: 557 → 333 µs of event-loop CPU per gift,
of which ~165 µs is now FastAPI finding the route (see docs/architecture.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from giftflow.auth.deps import authenticate
from giftflow.auth.principal import Principal
from giftflow.context import AppContext
from giftflow.errors import GiftflowError
from giftflow.http.idempotent import MAX_KEY_LENGTH, idempotency_request
from giftflow.http.limits import is_json_media_type
from giftflow.ledger.idempotency import IdempotencyRequest, fingerprint
from giftflow.live.gifting import service
from giftflow.live.gifting.commands import SendGift
from giftflow.live.gifting.schemas import GiftIn
from giftflow.live.rooms.service import check_live_id


class GiftRoute(APIRoute):
    """An ``APIRoute`` for ``POST /v1/lives/{live_id}/gifts`` that serves a well-formed request
    itself and hands anything else to its FastAPI endpoint (see the module's doc)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await super().handle(scope, receive, send)
            return
        body, replay = await _read_body(receive)
        prepared = await _prepare(scope, body) if body else None
        if prepared is None:
            await super().handle(scope, replay, send)
            return
        ctx, gift_request, command = prepared
        outcome = await ctx.submit(command, _idempotency(scope, gift_request))
        headers = dict(outcome.headers)
        if outcome.replayed:
            headers["Idempotent-Replayed"] = "true"
        response = JSONResponse(outcome.body, status_code=outcome.status, headers=headers)
        await response(scope, replay, send)


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body (None if the client went away), and a ``receive`` that hands out what was
    read again, then the server's own messages."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    complete = False
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            complete = True
            break
    pending = messages[::-1]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    body = (chunks[0] if len(chunks) == 1 else b"".join(chunks)) if complete else None
    return body, replay


@dataclass(frozen=True, slots=True)
class GiftRequest:
    """What the endpoint's key is made of: the caller, the body and the key header."""

    principal: Principal
    gift: GiftIn
    key: str | None


async def _prepare(scope: Scope, body: bytes) -> tuple[AppContext, GiftRequest, SendGift] | None:
    """Everything the endpoint has before it submits, or None: let the endpoint answer."""
    authorization = content_type = key = None
    for name, value in scope["headers"]:  # the first of each, as Request.headers.get gives it
        if name == b"authorization":
            if authorization is None:
                authorization = value.decode("latin-1")
        elif name == b"content-type":
            if content_type is None:
                content_type = value.decode("latin-1")
        elif name == b"idempotency-key" and key is None:
            key = value.decode("latin-1")
    if authorization is None or content_type is None or not is_json_media_type(content_type):
        return None
    try:
        gift = GiftIn.model_validate(json.loads(body))
    except (ValueError, RecursionError):  # JSONDecodeError, pydantic's ValidationError
        return None
    ctx: AppContext = scope["app"].state.giftflow
    try:
        principal = await authenticate(ctx, authorization)
        user_id = principal.require_user()
        live_id = check_live_id(scope["path_params"]["live_id"])
        command = service.gift_command(ctx, live_id, user_id, gift)
    except GiftflowError:
        return None
    return ctx, GiftRequest(principal, gift, key), command


def _idempotency(scope: Scope, req: GiftRequest) -> IdempotencyRequest:
    """``idempotency_request`` of the endpoint, without building a ``Request`` for the common
    case (a key within its length, no query string); the same scope and fingerprint."""
    key = (req.key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH or scope["query_string"]:
        return idempotency_request(Request(scope), req.principal, req.gift)  # or raises
    route = scope["route"].path
    payload: dict[str, Any] = {
        "path": dict(scope["path_params"]),
        "query": [],
        "body": req.gift.model_dump(mode="json"),
    }
    return IdempotencyRequest(f"{req.principal.ident} POST {route}", key, fingerprint(payload))
