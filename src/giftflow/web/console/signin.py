"""Signing in to the console: with a user token or an admin API key, or a demo link.

``GET /signin`` shows the form; ``POST /signin`` checks the credential exactly as the API would
and opens a session (cookie ``gf_session``: HttpOnly, SameSite=Lax, Secure over HTTPS); the form
itself is protected by a double-submit token. ``GET /signin/demo?ticket=`` opens a session from a
link ``giftflow demo`` printed, only on a server started with ``GIFTFLOW_DEMO_SIGNIN``.
``POST /signout`` ends the session.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from datetime import timedelta
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from giftflow.auth.apikeys import KEY_PREFIX, find_api_key
from giftflow.auth.deps import console_session, verify_user
from giftflow.auth.sessions import (
    COOKIE,
    CSRF_FIELD,
    close_session,
    csrf_ok,
    open_session,
    read_demo_ticket,
)
from giftflow.context import AppContext, get_context
from giftflow.db import unit_of_work
from giftflow.errors import GiftflowError
from giftflow.schema import api_keys
from giftflow.web.console.templating import render, safe_next

router = APIRouter(include_in_schema=False)

FORM_PATHS = frozenset({"/signin", "/signout"})  # HTML forms (urlencoded bodies)
SIGNIN_COOKIE = "gf_signin"  # the sign-in form's double-submit token
MAX_FORM_BYTES = 16_384


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form's fields (first value of each); empty for anything else."""
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return {}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def _signin_page(
    request: Request, ctx: AppContext, *, error: str = "", status_code: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(16)
    response = render(
        request,
        ctx,
        "signin.html",
        session=None,
        title="Sign in",
        form_token=token,
        next=safe_next(request.query_params.get("next"), ""),
        wanted=request.query_params.get("as", ""),
        error=error,
        demo=ctx.settings.demo_signin,
        status_code=status_code,
    )
    response.set_cookie(
        SIGNIN_COOKIE, token, httponly=True, samesite="strict", secure=_https(request), path="/"
    )
    return response


def _https(request: Request) -> bool:
    return request.url.scheme == "https"


def _signed_in(request: Request, ctx: AppContext, token: str, target: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=ctx.settings.console_session_hours * 3600,
        httponly=True,
        samesite="lax",  # sent on a link followed from elsewhere (a demo link); CSRF tokens guard
        secure=_https(request),
        path="/",
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    return response


@router.get("/signin")
def signin_form(request: Request, ctx: AppContext = Depends(get_context)) -> HTMLResponse:
    return _signin_page(request, ctx)


@router.post("/signin", response_model=None)
async def signin(
    request: Request, ctx: AppContext = Depends(get_context)
) -> HTMLResponse | RedirectResponse:
    form = await read_form(request)
    sent, expected = form.get("form_token", ""), request.cookies.get(SIGNIN_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        return _signin_page(
            request, ctx, error="The form expired: please try again.", status_code=403
        )
    credential = form.get("credential", "").strip()
    now = ctx.clock.now()
    ttl = timedelta(hours=ctx.settings.console_session_hours)
    target = safe_next(form.get("next"), "")

    def open_for_key() -> str | None:
        with unit_of_work(ctx.engine) as conn:
            record = find_api_key(conn, credential)
            if record is None or "admin" not in record.scopes:
                return None
            return open_session(conn, now, ttl, api_key_id=record.id)

    if credential.startswith(KEY_PREFIX):
        token = await asyncio.to_thread(open_for_key)
        if token is None:
            return _signin_page(
                request,
                ctx,
                error="That API key is unknown, revoked or has no admin scope.",
                status_code=401,
            )
        return _signed_in(request, ctx, token, target or "/admin")
    try:
        user_id = verify_user(ctx, credential)
    except GiftflowError:
        return _signin_page(
            request,
            ctx,
            error="That is neither a valid user token nor an admin API key "
            "(user tokens last 15 minutes: ask your app or `giftflow token USER_ID` for one).",
            status_code=401,
        )

    def open_for_user() -> str:
        with unit_of_work(ctx.engine) as conn:
            return open_session(conn, now, ttl, user_id=user_id)

    token = await asyncio.to_thread(open_for_user)
    return _signed_in(request, ctx, token, target or "/")


@router.get("/signin/demo", response_model=None)
async def demo_signin(
    request: Request, ticket: str = "", ctx: AppContext = Depends(get_context)
) -> HTMLResponse | RedirectResponse:
    """A demo link: only with ``GIFTFLOW_DEMO_SIGNIN``, only until the ticket expires."""
    if not ctx.settings.demo_signin:
        return _signin_page(
            request, ctx, error="Demo sign-in links are off on this server.", status_code=404
        )
    now = ctx.clock.now()
    found = read_demo_ticket(ctx.settings.jwt_secret, ticket, now)
    if found is None:
        return _signin_page(
            request,
            ctx,
            error="This demo link has expired or is not valid: run `giftflow demo` for new ones.",
            status_code=401,
        )
    ttl = timedelta(hours=ctx.settings.console_session_hours)

    def open_it() -> str | None:
        with unit_of_work(ctx.engine) as conn:
            if found.api_key_id is not None:
                live_key = conn.execute(
                    api_keys.select().where(
                        api_keys.c.id == found.api_key_id, api_keys.c.revoked_at.is_(None)
                    )
                ).first()
                if live_key is None or "admin" not in live_key.scopes.split(","):
                    return None
                return open_session(conn, now, ttl, api_key_id=found.api_key_id)
            return open_session(conn, now, ttl, user_id=found.user_id)

    token = await asyncio.to_thread(open_it)
    if token is None:
        return _signin_page(request, ctx, error="That admin key was revoked.", status_code=401)
    return _signed_in(request, ctx, token, safe_next(found.next_path))


@router.post("/signout")
async def signout(request: Request, ctx: AppContext = Depends(get_context)) -> Response:
    token = request.cookies.get(COOKIE)
    session = await console_session(ctx, token) if token else None
    form = await read_form(request)
    if session is not None and token is not None:
        if not csrf_ok(ctx.settings.jwt_secret, session.digest, form.get(CSRF_FIELD)):
            return HTMLResponse("Forbidden: missing CSRF token.", status_code=403)

        def close_it() -> None:
            with unit_of_work(ctx.engine) as conn:
                close_session(conn, token, ctx.clock.now())

        await asyncio.to_thread(close_it)
        ctx.console_sessions.forget(token)
    response = RedirectResponse("/signin", status_code=303)
    if token is not None:
        # only a request that carried the cookie clears it: a cross-site form post carries none
        # (SameSite=Lax), and clearing it anyway let any page sign a visitor out
        response.delete_cookie(COOKIE, path="/")
    return response
