"""The console's routes: sign-in, the home page and each area's page (viewer, creator, admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from giftflow.auth.deps import console_session
from giftflow.auth.sessions import COOKIE
from giftflow.context import AppContext, get_context
from giftflow.web.console import admin, creator, signin, viewer
from giftflow.web.console.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_model=None)
async def home(
    request: Request, ctx: AppContext = Depends(get_context)
) -> HTMLResponse | RedirectResponse:
    """Signed out: the sign-in page. An operator: the back office. A user: the live rooms."""
    token = request.cookies.get(COOKIE)
    session = await console_session(ctx, token) if token else None
    if session is None:
        return RedirectResponse("/signin", status_code=303)
    if session.kind == "admin":
        return RedirectResponse("/admin", status_code=303)
    return render(request, ctx, "home.html", session=session, title="Live now", page="home")


def mount_console(app: FastAPI) -> None:
    for area in (router, signin.router, viewer.router, creator.router, admin.router):
        app.include_router(area)
