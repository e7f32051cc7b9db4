"""Run a value-moving request through the ledger writer under its Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from giftflow.auth.principal import Principal
from giftflow.context import AppContext
from giftflow.errors import IdempotencyKeyRequired, ValidationFailed
from giftflow.ledger.commands import Command
from giftflow.ledger.idempotency import IdempotencyRequest, fingerprint


def idempotency_request(
    request: Request, principal: Principal, route: str, payload: Any
) -> IdempotencyRequest:
    key = request.headers.get("idempotency-key", "").strip()
    if not key:
        raise IdempotencyKeyRequired()
    if len(key) > 255:
        raise ValidationFailed("Idempotency-Key is longer than 255 characters.")
    return IdempotencyRequest(f"{principal.ident} {route}", key, fingerprint(payload))


async def run_idempotent(
    ctx: AppContext,
    request: Request,
    principal: Principal,
    route: str,
    payload: Any,
    build: Callable[[IdempotencyRequest], Command],
) -> JSONResponse:
    """Build the command (input errors are 422 and never stored), submit it, answer its outcome.

    A second request with a key this process is still working on gets 409 with Retry-After; a
    duplicate that races in from another process is settled at commit by the unique key.
    """
    ireq = idempotency_request(request, principal, route, payload)
    ctx.inflight.acquire(ireq)
    try:
        command = build(ireq)
        outcome = await ctx.writer.submit(command)
    finally:
        ctx.inflight.release(ireq)
    headers = dict(outcome.headers)
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)
