"""In-app items: operators keep the catalog; users list it, buy items with coins, see theirs.

Admin (``admin`` API key): ``POST /v1/admin/items``, ``PUT /v1/admin/items/{id}``,
``GET /v1/admin/items``. Anyone authenticated: ``GET /v1/items`` (what is on sale). Users:
``POST /v1/items/{id}/purchase`` (Idempotency-Key) and ``GET /v1/items/owned``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from giftflow.audit import audited
from giftflow.audit.loaders import row_of
from giftflow.auth.deps import get_principal, require_scope, require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.idempotent import IdempotencyKeyHeader, submit_idempotent
from giftflow.wallet.items import service
from giftflow.wallet.items.schemas import (
    ItemIn,
    ItemOut,
    ItemPurchaseIn,
    ItemPurchaseOut,
    ItemsOut,
    ItemUpdateIn,
    OwnedItemsOut,
)

router = APIRouter(prefix="/v1", tags=["items"])
admin = require_scope("admin")
REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Refused: item_unavailable, insufficient_funds, account_frozen, …"},
}


@router.post(
    "/admin/items",
    status_code=201,
    response_model=ItemOut,
    tags=["admin: items"],
    dependencies=[Depends(audited("item.create"))],
)
def create_item(
    body: ItemIn, _: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> ItemOut:
    """Add an item to the catalog. An id already taken: 422 ``validation_error`` with
    ``details.reason = "exists"`` (change that item with PUT instead)."""
    return service.create(ctx, body)


@router.put(
    "/admin/items/{item_id}",
    response_model=ItemOut,
    tags=["admin: items"],
    dependencies=[Depends(audited("item.update", "item:{item_id}", row_of("items", "item_id")))],
)
def update_item(
    item_id: str,
    body: ItemUpdateIn,
    _: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> ItemOut:
    """Change an item's name, price, image or whether it is on sale; omitted fields keep their
    value. Items are never deleted (owned items and purchase history keep naming them):
    ``{"active": false}`` takes one off sale."""
    return service.update(ctx, service.check_item_id(item_id), body)


@router.get("/admin/items", response_model=ItemsOut, tags=["admin: items"])
def list_all_items(
    _: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> ItemsOut:
    """Every item, inactive ones included, by id."""
    return ItemsOut(data=service.catalog(ctx, active_only=False))


@router.get("/items", response_model=ItemsOut)
def list_items(
    _: Principal = Depends(get_principal), ctx: AppContext = Depends(get_context)
) -> ItemsOut:
    """The items on sale, with their prices in coins, by id."""
    return ItemsOut(data=service.catalog(ctx, active_only=True))


@router.get("/items/owned", response_model=OwnedItemsOut)
def owned_items(
    principal: Principal = Depends(require_user), ctx: AppContext = Depends(get_context)
) -> OwnedItemsOut:
    """The caller's items and how many of each (items taken off sale since included)."""
    return OwnedItemsOut(data=service.owned(ctx, principal.require_user()))


@router.post(
    "/items/{item_id}/purchase",
    status_code=201,
    response_model=ItemPurchaseOut,
    responses=REFUSALS,
)
async def purchase_item(
    item_id: str,
    request: Request,
    body: ItemPurchaseIn | None = None,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Buy ``quantity`` (default 1) of an item with coins at its current price: bonus coins first,
    then exchanged, then paid coins (oldest lot first), to ``platform:revenue:items``."""
    body = body or ItemPurchaseIn()
    user_id, item = principal.require_user(), service.check_item_id(item_id)
    # the buyer's profile is a database read: off the event loop, like the auth lookups
    command = await asyncio.to_thread(service.purchase_command, ctx, user_id, item, body.quantity)
    return await submit_idempotent(ctx, request, principal, command, body)
