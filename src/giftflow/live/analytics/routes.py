"""Analytics: ``GET /v1/creators/{id}/analytics`` and ``GET /v1/lives/{id}/analytics``.

Who may read them: the creator (their user token) and platform or admin API keys; any other user
gets 404, as for a creator or live that does not exist (so nobody learns what exists); an API key
without either scope is 403. Both read only; neither takes an Idempotency-Key.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from giftflow.auth.deps import get_principal
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.fields import UserIdPath
from giftflow.http.ids import parse_id
from giftflow.live.analytics import service
from giftflow.live.analytics.schemas import CreatorAnalyticsOut, LiveAnalyticsOut

router = APIRouter(prefix="/v1", tags=["live"])
REFUSALS: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "validation_error: a malformed `from`/`to`, `from` not before `to`, or "
        "more than 1,500 buckets."
    },
}
_TIME = (
    "An RFC 3339 time with an offset (`2026-01-01T10:00:00Z`), or a day (`YYYY-MM-DD`) in the "
    "policy's time zone."
)


@router.get(
    "/creators/{creator_id}/analytics",
    response_model=CreatorAnalyticsOut,
    responses=REFUSALS,
)
async def creator_analytics(
    creator_id: UserIdPath,
    from_: str | None = Query(
        default=None,
        alias="from",
        max_length=40,
        description=f"Start of the range. {_TIME} Default: `to` minus an hour (minute "
        "buckets), a day (hour) or 30 local days (day).",
    ),
    to: str | None = Query(
        default=None,
        max_length=40,
        description=f"End of the range: a time is exclusive, a day inclusive. {_TIME} "
        "Default: the end of the current bucket.",
    ),
    bucket: Literal["minute", "hour", "day"] = Query(
        default="hour",
        description="minute and hour: UTC; day: the policy's time zone. At most 1,500 buckets.",
    ),
    principal: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """Gifts, coins and diamonds received per bucket, unique gifters (hour and day buckets),
    follower counts; over the range: top gifts, unique gifters, the creator's lives' viewers and
    watch time, and follower growth. The range is widened to whole buckets."""
    principal.require_owner_or_scope(creator_id, "platform", "admin")
    return await asyncio.to_thread(service.creator_analytics, ctx, creator_id, from_, to, bucket)


@router.get("/lives/{live_id}/analytics", response_model=LiveAnalyticsOut)
async def live_analytics(
    live_id: str,
    principal: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """A live's velocity (gifts, coins and diamonds per minute), unique gifters, top gifts,
    diamonds earned, viewers (now, peak, unique) and watch time, and its creator's follower
    growth during it. The live's creator, or platform and admin keys."""
    viewer: str | None = None
    if principal.kind == "api_key":
        principal.require_scope("platform", "admin")
    else:
        viewer = principal.require_user()
    return await asyncio.to_thread(service.live_analytics, ctx, parse_id(live_id), viewer)
