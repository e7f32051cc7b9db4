"""The creator dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from giftflow.context import AppContext, get_context
from giftflow.web.console.templating import page_session, render

router = APIRouter(include_in_schema=False)


@router.get("/creator", response_model=None)
async def creator_dashboard(
    request: Request, ctx: AppContext = Depends(get_context)
) -> HTMLResponse | RedirectResponse:
    session = await page_session(request, ctx, "user")
    if isinstance(session, RedirectResponse):
        return session
    return render(
        request, ctx, "creator.html", session=session, title="Creator dashboard", page="creator"
    )
