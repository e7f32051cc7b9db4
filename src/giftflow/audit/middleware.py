"""The audit middleware: one ``audit_log`` row per admin request that could change something.

A plain ASGI middleware (no ``BaseHTTPMiddleware``, no task per request). It only looks at
unsafe methods (POST, PUT, PATCH, DELETE) under ``/v1/`` sent with an API key or a console
session cookie; requests with a user token pass straight through, untouched and uncopied. For
those it does look at, it keeps a copy of the request and response bodies (up to
``MAX_CAPTURE`` each) while passing them on unchanged, and once the response is complete it
writes the row in a worker thread:

- who: the principal's ``actor`` — from the route's ``audited`` intent, else authenticated
  again from the request's credential (cached, so no query); only admins are written;
- what: the declared action, else ``METHOD route-template``; only matched routes are written;
- when: the app clock when the request arrived;
- target: the declared one, else ``object:id`` of a successful JSON answer;
- request (secret-looking fields redacted), before (the route's loader), after (the JSON
  answer) and the status code — refusals (4xx) and failures (5xx) included.

A row that cannot be written is logged and counted (``giftflow_audit_write_failures_total``);
the caller already has its answer.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from giftflow import metrics
from giftflow.audit.intent import SCOPE_KEY, AuditIntent, is_admin
from giftflow.audit.repository import AuditRow, write_entry
from giftflow.audit.values import MAX_CAPTURE, dumps, parse_body, redact
from giftflow.auth.apikeys import KEY_PREFIX
from giftflow.auth.deps import authenticate, console_session, session_principal
from giftflow.auth.principal import Principal
from giftflow.auth.sessions import COOKIE, UNSAFE_METHODS
from giftflow.context import AppContext
from giftflow.errors import GiftflowError

log = logging.getLogger("giftflow.audit")

AUDITED_PREFIX = "/v1/"


class _Capture:
    """Chunks of a body, kept up to ``MAX_CAPTURE`` bytes, and its full size."""

    __slots__ = ("chunks", "size")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, chunk: bytes) -> None:
        if chunk:
            if self.size + len(chunk) <= MAX_CAPTURE:
                self.chunks.append(chunk)
            self.size += len(chunk)

    def body(self) -> bytes:
        return b"".join(self.chunks)


def _credential(headers: Headers) -> tuple[str, str] | None:
    """("authorization", value) for an API key, ("cookie", token) for a console session,
    None for anything that cannot be an admin (a user token, nothing)."""
    header = headers.get("authorization")
    if header is not None:
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "bearer" and credential.strip().startswith(KEY_PREFIX):
            return "authorization", header
        return None
    # the same parser as ``request.cookies`` (the last of duplicate names, quotes removed): a
    # cookie the app reads one way and the audit another would be an admin action with no row
    value = cookie_parser(headers.get("cookie", "")).get(COOKIE)
    return ("cookie", value) if value else None


async def _principal(ctx: AppContext, credential: tuple[str, str]) -> Principal | None:
    """The caller, for a route that declared nothing (the key and session caches answer)."""
    kind, value = credential
    try:
        if kind == "authorization":
            return await authenticate(ctx, value)
        session = await console_session(ctx, value)
    except GiftflowError:
        return None
    return session_principal(session) if session is not None else None


class AuditLog:
    """Writes the audit log (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in UNSAFE_METHODS
            or not scope["path"].startswith(AUDITED_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        credential = _credential(headers)
        ctx: AppContext | None = getattr(scope["app"].state, "giftflow", None)
        if credential is None or ctx is None:
            await self.app(scope, receive, send)
            return
        arrived = ctx.clock.now()
        request, response = _Capture(), _Capture()
        answer: dict[str, Any] = {"status": 500, "content_type": "", "started": False}

        async def receive_and_copy() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request.add(message.get("body", b""))
            return message

        async def send_and_copy(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["started"] = True
                answer["status"] = message["status"]
                answer["content_type"] = Headers(raw=message.get("headers", [])).get(
                    "content-type", ""
                )
            elif message["type"] == "http.response.body":
                response.add(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive_and_copy, send_and_copy)
        except asyncio.CancelledError:
            raise
        except Exception:
            if not answer["started"]:  # else the caller had its answer (a background task failed)
                answer["status"] = 500
            await self._record(ctx, scope, headers, credential, arrived, request, response, answer)
            raise
        await self._record(ctx, scope, headers, credential, arrived, request, response, answer)

    async def _record(
        self,
        ctx: AppContext,
        scope: Scope,
        headers: Headers,
        credential: tuple[str, str],
        arrived: datetime,
        request: _Capture,
        response: _Capture,
        answer: dict[str, Any],
    ) -> None:
        route = getattr(scope.get("route"), "path", None)
        if route is None:  # no route matched: nothing was acted on
            return
        intent = scope.get(SCOPE_KEY)
        if isinstance(intent, AuditIntent):
            principal: Principal | None = intent.principal
        else:
            intent = None
            principal = await _principal(ctx, credential)
        if principal is None or not is_admin(principal):
            return
        status = int(answer["status"])
        after = parse_body(response.body(), response.size, str(answer["content_type"]))
        target = intent.target if intent is not None else None
        if (
            target is None
            and status < 400
            and isinstance(after, dict)
            and isinstance(after.get("object"), str)
            and after.get("id") is not None
        ):
            target = f"{after['object']}:{after['id']}"
        path = scope["path"]
        query = scope.get("query_string", b"")
        if query:
            path = f"{path}?{query.decode('latin-1')}"
        # a NUL decoded from %00 in the path would make the row unwritable on PostgreSQL (and
        # the attempt unrecorded): written as it was sent
        path = path.replace("\x00", "%00")
        if target is not None:
            target = target.replace("\x00", "%00")
        row = AuditRow(
            at=arrived,
            actor=principal.actor,
            action=(intent.action if intent is not None else None) or f"{scope['method']} {route}",
            target=target,
            method=scope["method"],
            path=path,
            status_code=status,
            request=dumps(
                redact(parse_body(request.body(), request.size, headers.get("content-type", "")))
            ),
            before=dumps(intent.before) if intent is not None else None,
            after=dumps(after),
        )
        try:
            await asyncio.to_thread(write_entry, ctx.engine, row)
        except Exception:
            metrics.AUDIT_WRITE_FAILURES.inc()
            log.exception("audit: could not write %s %s by %s", row.action, row.target, row.actor)


def install_audit(app: Any) -> None:
    """Install the middleware that writes the audit log."""
    app.add_middleware(AuditLog)
