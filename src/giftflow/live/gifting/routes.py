"""``POST /v1/lives/{id}/gifts``: a viewer sends a gift (user token, Idempotency-Key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from giftflow.auth.deps import require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.idempotent import IdempotencyKeyHeader, submit_idempotent
from giftflow.live.gifting import service
from giftflow.live.gifting.fast import GiftRoute
from giftflow.live.gifting.schemas import GiftIn, GiftSentOut
from giftflow.live.rooms.service import check_live_id

router = APIRouter(prefix="/v1", tags=["live"])
REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "insufficient_funds, cap_exceeded, live_not_active, creator_not_eligible, "
        "self_gift, gift_unavailable, account_frozen or age_restricted: nothing moved."
    },
    422: {"description": "unknown_gift, or a count over the policy's maximum."},
}


async def send_gift(
    live_id: str,
    body: GiftIn,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Send ``count`` of a gift to the live's creator: coins out of the sender's wallet (bonus
    first, then lots oldest first), diamonds to the creator at the policy's share, the room's
    ``gift`` event — one atomic commit, or a refusal that moves nothing. The answer carries the
    sender's new balance and the event's sequence number."""
    command = service.gift_command(ctx, check_live_id(live_id), principal.require_user(), body)
    return await submit_idempotent(ctx, request, principal, command, body)


# The hot path: a well-formed gift is served by ``GiftRoute`` without FastAPI's dependency
# machinery (same validation, authentication, command, key and answer); everything else, and the
# OpenAPI document, by the endpoint above. See ``giftflow.live.gifting.fast``.
router.add_api_route(
    "/lives/{live_id}/gifts",
    send_gift,
    methods=["POST"],
    status_code=201,
    response_model=GiftSentOut,
    responses=REFUSALS,
    route_class_override=GiftRoute,
)
