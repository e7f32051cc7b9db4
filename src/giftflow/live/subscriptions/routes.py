"""Subscriptions: a creator's plan, subscribing, cancelling, and one's own subscriptions.

- ``PUT /v1/creator/subscription-plan`` / ``DELETE`` (the creator's user token): the price of a
  period, within the policy's bounds; no value moves.
- ``GET /v1/creators/{id}/subscription-plan`` (any caller).
- ``POST /v1/subscriptions {creator_id}`` (user token, Idempotency-Key): pays the first period.
- ``POST /v1/subscriptions/{id}/cancel`` (the subscriber, Idempotency-Key): no renewal; the paid
  period runs to its end. Someone else's subscription is not found.
- ``GET /v1/subscriptions[?creator_id=]``, ``GET /v1/subscriptions/{id}``: the caller's own.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from giftflow.auth.deps import get_principal, require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.fields import ObjectIdPath, UserIdPath
from giftflow.http.idempotent import IdempotencyKeyHeader, submit_idempotent
from giftflow.http.ids import parse_cursor
from giftflow.ids import USER_ID_CHARS
from giftflow.live.subscriptions import service
from giftflow.live.subscriptions.schemas import (
    PlanIn,
    PlanOut,
    SubscribedOut,
    SubscribeIn,
    SubscriptionOut,
    SubscriptionsOut,
)

router = APIRouter(prefix="/v1", tags=["live"])
SUBSCRIBE_REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "no_subscription_plan, invalid_transition (already subscribed), "
        "self_gift (yourself), insufficient_funds, cap_exceeded, account_frozen, "
        "age_restricted or creator_not_eligible: nothing moved."
    },
}
CANCEL_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such subscription of the caller's."},
    409: {"description": "invalid_transition: already canceled or expired."},
}
PLAN_REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {"description": "no_subscription_plan: the policy in force disables subscriptions."},
    422: {"description": "validation_error: the price is outside the policy's bounds."},
}


@router.put("/creator/subscription-plan", response_model=PlanOut, responses=PLAN_REFUSALS)
async def set_plan(
    body: PlanIn,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """The caller (a creator) sets the price of a subscription period, within the policy's
    ``subscriptions`` bounds. Running subscriptions pay the new price from their next renewal."""
    return await asyncio.to_thread(
        service.set_plan, ctx, principal.require_user(), body.price_coins
    )


@router.delete(
    "/creator/subscription-plan",
    status_code=204,
    responses={404: {"description": "`not_found`: the caller offers no subscription plan."}},
)
async def withdraw_plan(
    principal: Principal = Depends(require_user), ctx: AppContext = Depends(get_context)
) -> Response:
    """The caller stops offering subscriptions: no new ones, and running ones expire at the end
    of their paid period instead of renewing."""
    await asyncio.to_thread(service.withdraw_plan, ctx, principal.require_user())
    return Response(status_code=204)


@router.get("/creators/{creator_id}/subscription-plan", response_model=PlanOut)
async def get_plan(
    creator_id: UserIdPath,
    _: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """A creator's subscription price and terms; 404 if they offer none."""
    return await asyncio.to_thread(service.plan, ctx, creator_id)


@router.post(
    "/subscriptions", status_code=201, response_model=SubscribedOut, responses=SUBSCRIBE_REFUSALS
)
async def subscribe(
    body: SubscribeIn,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Subscribe to a creator for one period: the plan's price in coins leaves the caller's
    wallet (bonus first, then lots oldest first) and the creator's share is credited as
    diamonds, in one commit; refused with nothing moved otherwise."""
    command = service.subscribe_command(ctx, principal.require_user(), body.creator_id)
    return await submit_idempotent(ctx, request, principal, command, body)


@router.post(
    "/subscriptions/{subscription_id}/cancel",
    response_model=SubscriptionOut,
    responses=CANCEL_REFUSALS,
)
async def cancel(
    subscription_id: ObjectIdPath,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Cancel the caller's subscription: it is not renewed, and stays in force until the end of
    the paid period."""
    command = service.cancel_command(
        ctx, service.check_subscription_id(subscription_id), principal.require_user()
    )
    return await submit_idempotent(ctx, request, principal, command)


@router.get("/subscriptions", response_model=SubscriptionsOut)
async def my_subscriptions(
    creator_id: str | None = Query(default=None, pattern=f"^{USER_ID_CHARS}$"),
    limit: int = Query(default=50, ge=1, le=100),
    cursor: str | None = Query(
        default=None, max_length=18, description="`next_cursor` of the previous page."
    ),
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """The caller's subscriptions (every state), newest first, paged by ``next_cursor``."""
    data, next_cursor = await asyncio.to_thread(
        service.listing, ctx, principal.require_user(), creator_id, limit, parse_cursor(cursor)
    )
    return {"object": "list", "data": data, "next_cursor": next_cursor}


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut)
async def my_subscription(
    subscription_id: ObjectIdPath,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """One of the caller's subscriptions; anyone else's is not found."""
    return await asyncio.to_thread(
        service.one, ctx, service.check_subscription_id(subscription_id), principal.require_user()
    )
