"""The rules of the in-app item catalog and of buying items with coins.

Operators create items and change them (name, price, image, on sale or not); these writes move no
value and run in one ``unit_of_work`` each. There is no hard delete: an item is withdrawn from
sale by deactivating it, because what was bought stays owned (``owned_items`` names the item) and
every purchase transaction's metadata names it too — deleting the row would leave owned items and
history pointing at nothing, and freeing the id would let a different item take it over.

A purchase is built here (the policy version in force, the spending caps of the buyer's region)
and applied by ``PurchaseItem`` in the writer, which reads the price inside its batch.
"""

from __future__ import annotations

from typing import Any

from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.db import unit_of_work
from giftflow.errors import NotFound, UserNotFound, ValidationFailed
from giftflow.http.schemas import AmountOut
from giftflow.money.amounts import amount_view
from giftflow.wallet.items import repository
from giftflow.wallet.items.commands import PurchaseItem
from giftflow.wallet.items.repository import ItemRow
from giftflow.wallet.items.schemas import (
    ITEM_ID_PATTERN,
    ItemIn,
    ItemOut,
    ItemUpdateIn,
    OwnedItemOut,
)
from giftflow.wallet.purchases.batch import SpendCaps
from giftflow.wallet.purchases.caps import spending_rules
from giftflow.wallet.purchases.repository import profile


def item_out(row: ItemRow) -> ItemOut:
    return ItemOut(
        id=row.id,
        kind=row.kind,
        name=row.name,
        price=AmountOut(**amount_view("COIN", row.price_coins)),
        image=row.image,
        active=row.active,
        created_at=rfc3339(row.created_at),
        updated_at=rfc3339(row.updated_at),
    )


def check_item_id(item_id: str) -> str:
    """A path id that cannot name an item is simply not found (404), like a missing one."""
    if not ITEM_ID_PATTERN.fullmatch(item_id):
        raise NotFound("No such item.", id=item_id[:64])
    return item_id


# --- the catalog -------------------------------------------------------------------------------
def create(ctx: AppContext, body: ItemIn) -> ItemOut:
    """Add an item. An id already taken is refused with ``validation_error`` (422,
    ``details.reason = "exists"``): ids are permanent, so the operator changes the existing item
    with PUT instead."""
    now = ctx.clock.now()
    row = ItemRow(
        id=body.id,
        kind=body.kind,
        name=body.name,
        price_coins=body.price,
        image=body.image,
        active=body.active,
        created_at=now,
        updated_at=now,
    )
    with unit_of_work(ctx.engine) as conn:
        created = repository.create_item(conn, row)
    if not created:
        raise ValidationFailed(
            f"An item with id {body.id!r} already exists; change it with "
            f"PUT /v1/admin/items/{body.id} (items are never deleted, only deactivated).",
            id=body.id,
            reason="exists",
        )
    return item_out(row)


_COLUMNS = {"name": "name", "price": "price_coins", "image": "image", "active": "active"}


def update(ctx: AppContext, item_id: str, body: ItemUpdateIn) -> ItemOut:
    """Change the fields given; ``null`` may only remove the image. A price change applies to
    every purchase whose batch reads the item after it commits."""
    fields: dict[str, Any] = body.model_dump(exclude_unset=True)
    nulls = sorted(k for k, v in fields.items() if v is None and k != "image")
    if nulls:
        raise ValidationFailed(f"{nulls[0]} cannot be null.", fields=nulls)
    with unit_of_work(ctx.engine) as conn:
        if not repository.update_item(
            conn, item_id, {_COLUMNS[k]: v for k, v in fields.items()}, ctx.clock.now()
        ):
            raise NotFound("No such item.", id=item_id)
        row = repository.get_item(conn, item_id)
    assert row is not None
    return item_out(row)


def catalog(ctx: AppContext, *, active_only: bool) -> list[ItemOut]:
    with ctx.engine.connect() as conn:
        rows = repository.list_items(conn, active_only=active_only)
    return [item_out(r) for r in rows]


def owned(ctx: AppContext, user_id: str) -> list[OwnedItemOut]:
    with ctx.engine.connect() as conn:
        rows = repository.owned_by(conn, user_id)
    return [
        OwnedItemOut(
            item=item_out(r.item),
            quantity=r.quantity,
            first_at=rfc3339(r.first_at),
            last_at=rfc3339(r.last_at),
        )
        for r in rows
    ]


# --- buying ------------------------------------------------------------------------------------
def purchase_command(ctx: AppContext, user_id: str, item_id: str, quantity: int) -> PurchaseItem:
    """The command that buys ``quantity`` of the item under the policy in force now, with the
    spending caps of the buyer's region (their profile's, ``*`` if none)."""
    with ctx.engine.connect() as conn:
        facts = profile(conn, user_id)
    if facts is None:
        raise UserNotFound(f"No user {user_id!r}: the platform creates it first.", users=[user_id])
    policy = ctx.policies.in_force(ctx.clock.now())
    region = facts["region"] or "*"
    return PurchaseItem(
        user_id=user_id,
        item_id=item_id,
        quantity=quantity,
        policy_version=policy.version_label,
        caps=SpendCaps(spending_rules(policy, region), policy.timezone),
    )
