"""Run a value-moving request through the ledger writer under its Idempotency-Key.

The key's scope is the caller and the matched route template, and the fingerprint covers the
path parameters, the query and the body, all taken from the request itself: a route only builds
its command and hands it over, so nothing is typed twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from giftflow.auth.principal import Principal
from giftflow.context import AppContext
from giftflow.errors import IdempotencyKeyRequired, ValidationFailed
from giftflow.ledger.commands import Command
from giftflow.ledger.idempotency import IdempotencyRequest, Outcome, fingerprint, replay
from giftflow.ledger.read_repository import stored_outcome

MAX_KEY_LENGTH = 255

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description=(
            "Required on every request that moves value: a unique key per intended effect. "
            "Retrying with the same key and body returns the first outcome; see the API guide."
        ),
    ),
]


def idempotency_request(
    request: Request,
    principal: Principal,
    body: BaseModel | None,
    exclude: set[str] | None = None,
) -> IdempotencyRequest:
    key = (request.headers.get("idempotency-key") or "").strip()
    if not key:
        raise IdempotencyKeyRequired()
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters.")
    route = getattr(request.scope.get("route"), "path", request.url.path)
    payload: dict[str, Any] = {
        "path": dict(request.path_params),
        "query": sorted(request.query_params.multi_items()),
        "body": body.model_dump(mode="json", exclude=exclude) if body is not None else None,
    }
    return IdempotencyRequest(
        f"{principal.ident} {request.method} {route}", key, fingerprint(payload)
    )


async def submit_idempotent(
    ctx: AppContext,
    request: Request,
    principal: Principal,
    command: Command,
    body: BaseModel | None = None,
) -> JSONResponse:
    """Submit ``command`` under the request's key and answer its outcome.

    Build the command first: input errors are 422 and never reach the writer or the key store.
    A second request with a key this process is still working on gets 409 with Retry-After; a
    duplicate that races in from another process is settled at commit by the unique key.
    """
    outcome = await ctx.submit(command, idempotency_request(request, principal, body))
    return outcome_response(outcome)


async def submit_idempotent_guarded(
    ctx: AppContext,
    request: Request,
    principal: Principal,
    command: Command,
    body: BaseModel | None,
    guard: Callable[[], Awaitable[None]],
    guard_fields: set[str],
) -> JSONResponse:
    """``submit_idempotent`` for a request that must pass a one-time check first (a
    second-factor code, which is accepted once): a key that already has an outcome replays it
    without running ``guard`` again, so a retried request is answered as the first was instead
    of being refused for reusing its code. ``guard`` raises to refuse; it runs while the key is
    held in this process, so a concurrent duplicate gets 409 rather than a second check.
    ``guard_fields`` (the code) are left out of the fingerprint: a retry that sends a fresh code
    is the same request."""
    idem = idempotency_request(request, principal, body, exclude=guard_fields)
    ctx.inflight.acquire(idem)
    try:
        stored = await asyncio.to_thread(_stored, ctx, idem)
        if stored is None:
            await guard()
            stored = await ctx.writer.submit(command, idempotency=idem)
    finally:
        ctx.inflight.release(idem)
    return outcome_response(stored)


def _stored(ctx: AppContext, idem: IdempotencyRequest) -> Outcome | None:
    with ctx.engine.connect() as conn:
        found = stored_outcome(conn, idem.scope, idem.key)
    if found is None:
        return None
    request_hash, status, stored_body = found
    return replay(idem, request_hash, status, stored_body)


def outcome_response(outcome: Outcome) -> JSONResponse:
    """The HTTP answer of an outcome: its status and body, its headers, and
    ``Idempotent-Replayed: true`` when the outcome is a stored one replayed for the same key."""
    headers = dict(outcome.headers)
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)
