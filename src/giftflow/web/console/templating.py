"""Rendering console pages: one Jinja2 environment, the signed-in session, strict headers.

Every page is a shell rendered here (layout, labels, the CSRF token in a ``<meta>``) and filled
by its ES module from the ``/v1`` API, with the session cookie. No inline script or style is
allowed by the Content-Security-Policy, so a page's behaviour lives in ``/static/console/*.js``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from giftflow import __version__
from giftflow.auth.deps import console_session
from giftflow.auth.sessions import COOKIE, ConsoleSession, csrf_token
from giftflow.context import AppContext

TEMPLATES = Path(__file__).parent.parent / "templates"

ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(
    request: Request,
    ctx: AppContext,
    template: str,
    *,
    session: ConsoleSession | None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """A page: ``values`` plus ``session``, ``csrf`` (empty when signed out) and ``version``."""
    html = ENV.get_template(template).render(
        request=request,
        session=session,
        csrf=csrf_token(ctx.settings.jwt_secret, session.digest) if session else "",
        version=__version__,
        **values,
    )
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def safe_next(path: str | None, default: str = "/") -> str:
    """Where to go after signing in: a path on this site only (no ``//host`` or scheme)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    return path


async def page_session(
    request: Request, ctx: AppContext, kind: str
) -> ConsoleSession | RedirectResponse:
    """The signed-in session of ``kind`` (``user`` or ``admin``), or a redirect to sign in."""
    token = request.cookies.get(COOKIE)
    session = await console_session(ctx, token) if token else None
    if session is None or session.kind != kind:
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/signin?next={target}&as={kind}", status_code=303)
    return session
