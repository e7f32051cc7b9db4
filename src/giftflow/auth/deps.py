"""FastAPI dependencies that yield the calling principal.

They are ``async``: a synchronous dependency costs a thread-pool hop per request, and under load
each hop waits for the GIL. API keys are remembered for a short time (``ApiKeyCache``), so a
request with a known key reads no table; JWTs are checked in memory, and a token that passed is
remembered (``VerifiedTokens``: its signature is not checked again, its expiry always is).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import Depends, Request

from giftflow.auth.apikeys import KEY_PREFIX, ApiKeyRecord, digest, find_api_key
from giftflow.auth.principal import Principal
from giftflow.auth.sessions import (
    COOKIE,
    CSRF_HEADER,
    UNSAFE_METHODS,
    ConsoleSession,
    csrf_ok,
    find_session,
)
from giftflow.auth.tokencache import VerifiedTokens
from giftflow.context import AppContext, get_context
from giftflow.errors import CsrfFailed, Unauthenticated


async def _api_key(ctx: AppContext, credential: str) -> ApiKeyRecord:
    key_digest = digest(credential)
    record = ctx.api_keys.get(key_digest)
    if record is None:

        def lookup() -> ApiKeyRecord | None:
            with ctx.engine.connect() as conn:
                return find_api_key(conn, credential)

        record = await asyncio.to_thread(lookup)
        if record is None:
            raise Unauthenticated("Unknown or revoked API key.")
        ctx.api_keys.put(key_digest, record)
    return record


USER_TOKENS = VerifiedTokens()
"""User tokens this process verified (bounded; keyed by the token, its secret and max lifetime)."""


def verify_user(ctx: AppContext, token: str) -> str:
    """The user a token speaks for (``Unauthenticated`` otherwise), as of ``ctx``'s clock."""
    return USER_TOKENS.verify(
        token,
        ctx.settings.jwt_secret,
        ctx.clock.now(),
        ctx.settings.jwt_leeway_seconds,
        max_ttl_seconds=ctx.settings.jwt_max_ttl_seconds,
    )


async def authenticate(ctx: AppContext, header: str) -> Principal:
    """The principal an ``Authorization`` header value names; ``Unauthenticated`` otherwise."""
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("Send 'Authorization: Bearer <API key or user token>'.")
    credential = credential.strip()
    if credential.startswith(KEY_PREFIX):
        record = await _api_key(ctx, credential)
        return Principal("api_key", f"apikey:{record.id}", record.scopes, name=record.name)
    user_id = verify_user(ctx, credential)
    return Principal("user", f"user:{user_id}", user_id=user_id)


async def console_session(ctx: AppContext, token: str) -> ConsoleSession | None:
    """The live console session a cookie value names (remembered a few seconds), or None."""
    session = ctx.console_sessions.get(token)
    if session is None:

        def lookup() -> ConsoleSession | None:
            with ctx.engine.connect() as conn:
                return find_session(conn, token, ctx.clock.now())

        session = await asyncio.to_thread(lookup)
        if session is None:
            return None
        ctx.console_sessions.put(token, session)
    return session if session.expires_at > ctx.clock.now() else None


def session_principal(session: ConsoleSession) -> Principal:
    """A session speaks with the credential it was opened with."""
    if session.kind == "user" and session.user_id is not None:
        return Principal("user", f"user:{session.user_id}", user_id=session.user_id)
    return Principal(
        "api_key", f"apikey:{session.api_key_id}", session.scopes, name=session.api_key_name or ""
    )


async def get_principal(request: Request, ctx: AppContext = Depends(get_context)) -> Principal:
    """The ``Authorization`` header's principal; without one, the console's session cookie (an
    unsafe method then needs the session's CSRF token in ``X-CSRF-Token``)."""
    header = request.headers.get("authorization")
    token = request.cookies.get(COOKIE) if header is None else None
    if not token:
        return await authenticate(ctx, header or "")
    session = await console_session(ctx, token)
    if session is None:
        raise Unauthenticated("The console session has ended: sign in again.")
    if request.method in UNSAFE_METHODS and not csrf_ok(
        ctx.settings.jwt_secret, session.digest, request.headers.get(CSRF_HEADER)
    ):
        raise CsrfFailed()
    return session_principal(session)


def require_scope(*any_of: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def dependency(principal: Principal = Depends(get_principal)) -> Principal:
        principal.require_scope(*any_of)
        return principal

    return dependency


async def require_user(principal: Principal = Depends(get_principal)) -> Principal:
    principal.require_user()
    return principal
