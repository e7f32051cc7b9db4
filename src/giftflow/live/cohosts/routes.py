"""Co-hosts of a live: ``POST /v1/lives/{id}/cohosts {user_id}`` (the live's creator adds
one; Idempotency-Key, since it writes a room event through the writer),
``DELETE /v1/lives/{id}/cohosts/{user_id}`` (the creator removes one, or a co-host leaves;
removing is idempotent by nature: a second DELETE finds no co-host, 404, and writes nothing)
and ``GET /v1/lives/{id}/cohosts``. Viewers choose a co-host as a gift's ``recipient``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from giftflow.auth.deps import get_principal, require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.fields import UserIdPath
from giftflow.http.idempotent import IdempotencyKeyHeader, outcome_response, submit_idempotent
from giftflow.live.cohosts import service
from giftflow.live.cohosts.schemas import CohostChangeOut, CohostIn, CohostsOut
from giftflow.live.rooms.service import check_live_id

router = APIRouter(prefix="/v1", tags=["live"])
REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "forbidden: only the live's creator (or, to leave, the co-host)."},
    409: {
        "description": "live_not_active, creator_not_eligible (details.reason), or "
        "invalid_transition (the live has its maximum of co-hosts)."
    },
    422: {"description": "user_not_found, or the host named as their own co-host."},
}


@router.post(
    "/lives/{live_id}/cohosts", status_code=201, response_model=CohostChangeOut, responses=REFUSALS
)
async def add_cohost(
    live_id: str,
    body: CohostIn,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """The live's creator adds a co-host (an existing user who can receive gifts, not the
    host): ``cohost_added`` on the room's stream; viewers may then send them gifts."""
    command = service.add_command(
        ctx, check_live_id(live_id), principal.require_user(), body.user_id
    )
    return await submit_idempotent(ctx, request, principal, command, body)


@router.delete(
    "/lives/{live_id}/cohosts/{user_id}", response_model=CohostChangeOut, responses=REFUSALS
)
async def remove_cohost(
    live_id: str,
    user_id: UserIdPath,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """The live's creator removes a co-host, or the co-host leaves: ``cohost_removed``; gifts
    to them are refused from then on (``recipient_not_in_live``)."""
    outcome = await service.remove(ctx, check_live_id(live_id), user_id, principal.require_user())
    return outcome_response(outcome)


@router.get("/lives/{live_id}/cohosts", response_model=CohostsOut)
async def list_cohosts(
    live_id: str, _: Principal = Depends(get_principal), ctx: AppContext = Depends(get_context)
) -> Any:
    """The live's host and current co-hosts, first added first."""
    return await asyncio.to_thread(service.listing, ctx, check_live_id(live_id))
