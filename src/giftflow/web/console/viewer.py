"""The viewer's live room."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from giftflow.context import AppContext, get_context
from giftflow.web.console.templating import page_session, render

router = APIRouter(include_in_schema=False)


@router.get("/live/{live_id}", response_model=None)
async def live_room(
    live_id: str, request: Request, ctx: AppContext = Depends(get_context)
) -> HTMLResponse | RedirectResponse:
    session = await page_session(request, ctx, "user")
    if isinstance(session, RedirectResponse):
        return session
    return render(
        request, ctx, "live.html", session=session, title="Live", page="live", live_id=live_id
    )
