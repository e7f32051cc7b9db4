"""The admin back office."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from giftflow.context import AppContext, get_context
from giftflow.web.console.templating import page_session, render

router = APIRouter(include_in_schema=False)


@router.get("/admin", response_model=None)
async def back_office(
    request: Request, ctx: AppContext = Depends(get_context)
) -> HTMLResponse | RedirectResponse:
    session = await page_session(request, ctx, "admin")
    if isinstance(session, RedirectResponse):
        return session
    return render(request, ctx, "admin.html", session=session, title="Back office", page="admin")
