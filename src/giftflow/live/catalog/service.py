"""The rules of the gift catalog: what operators may change, and what a viewer may send now.

Operators create gifts and change them (name, price, image, tier, streakable, window, regions,
sort, active); these writes move no value and run in one ``unit_of_work`` each. There is no hard
delete: ``DELETE`` deactivates, because every gift transaction's metadata and every room event
name the gift, and freeing the id would let a different gift take it over.

What a viewer may send is decided by ``model.unavailable_reason`` alone (active, inside its
window at the server's clock, offered in the viewer's region), the rule the gift command applies
again inside its batch. A viewer's region is the one the platform set on their profile; a caller
with no region (an API key that passes none, a user without one) sees only the gifts offered
everywhere.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.db import unit_of_work
from giftflow.errors import NotFound, ValidationFailed
from giftflow.http.schemas import AmountOut
from giftflow.live.catalog import repository
from giftflow.live.catalog.model import GiftRow, unavailable_reason
from giftflow.live.catalog.schemas import (
    GIFT_ID_PATTERN,
    CatalogGiftOut,
    CatalogOut,
    GiftIn,
    GiftOut,
    GiftUpdateIn,
    GiftViewOut,
    check_window,
)
from giftflow.money.amounts import amount_view


# --- views -------------------------------------------------------------------------------------
def _time(value: datetime | None) -> str | None:
    return rfc3339(value) if value is not None else None


def _shown(row: GiftRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "price": AmountOut(**amount_view("COIN", row.price_coins)),
        "image": row.image,
        "tier": row.tier,
        "streakable": row.streakable,
        "available_from": _time(row.available_from),
        "available_until": _time(row.available_until),
        "regions": list(row.regions) if row.regions is not None else None,
    }


def catalog_gift(row: GiftRow) -> CatalogGiftOut:
    return CatalogGiftOut(**_shown(row))


def gift_view(row: GiftRow, reason: str | None) -> GiftViewOut:
    return GiftViewOut(**_shown(row), available=reason is None, unavailable_reason=reason)


def gift_out(row: GiftRow) -> GiftOut:
    return GiftOut(
        **_shown(row),
        sort=row.sort,
        active=row.active,
        created_at=rfc3339(row.created_at),
        updated_at=rfc3339(row.updated_at),
    )


def check_gift_id(gift_id: str) -> str:
    """A path id that cannot name a gift is simply not found (404), like a missing one."""
    if not GIFT_ID_PATTERN.fullmatch(gift_id):
        raise NotFound("No such gift.", id=gift_id[:64])
    return gift_id


def _regions(value: list[str] | None) -> tuple[str, ...] | None:
    """Sorted and without duplicates; an empty list means everywhere, as null does."""
    return tuple(sorted(set(value))) if value else None


# --- the operators' side -----------------------------------------------------------------------
def create(ctx: AppContext, body: GiftIn) -> GiftOut:
    """Add a gift. An id already taken is refused with ``validation_error`` (422,
    ``details.reason = "exists"``): ids are permanent, so the operator changes the existing gift
    with PUT instead."""
    now = ctx.clock.now()
    row = GiftRow(
        id=body.id,
        name=body.name,
        price_coins=body.price,
        image=body.image,
        tier=body.tier,
        streakable=body.streakable,
        available_from=body.available_from,  # in UTC (``Instant``)
        available_until=body.available_until,
        regions=_regions(body.regions),
        sort=body.sort,
        active=body.active,
        created_at=now,
        updated_at=now,
    )
    with unit_of_work(ctx.engine) as conn:
        created = repository.create_gift(conn, row)
    if not created:
        raise ValidationFailed(
            f"A gift with id {body.id!r} already exists; change it with "
            f"PUT /v1/admin/gifts/{body.id} (gifts are never deleted, only deactivated).",
            id=body.id,
            reason="exists",
        )
    return gift_out(row)


NULLABLE = frozenset({"image", "available_from", "available_until", "regions"})


def _changes(body: GiftUpdateIn) -> dict[str, Any]:
    """The body as ``GiftRow`` fields; ``null`` only where it means something."""
    fields: dict[str, Any] = body.model_dump(exclude_unset=True)
    nulls = sorted(k for k, v in fields.items() if v is None and k not in NULLABLE)
    if nulls:
        raise ValidationFailed(f"{nulls[0]} cannot be null.", fields=nulls)
    if "price" in fields:
        fields["price_coins"] = fields.pop("price")
    if "regions" in fields:
        fields["regions"] = _regions(fields["regions"])
    return fields


def update(ctx: AppContext, gift_id: str, body: GiftUpdateIn) -> GiftOut:
    """Change the fields given. The window is checked as it will be stored (a new
    ``available_until`` against the stored ``available_from``); a refused change writes nothing.
    A change that changes nothing leaves ``updated_at`` as it was."""
    changes = _changes(body)
    with unit_of_work(ctx.engine) as conn:
        row = repository.get_gift(conn, gift_id, lock=True)
        if row is None:
            raise NotFound("No such gift.", id=gift_id)
        changed = replace(row, **changes)
        try:
            check_window(changed.available_from, changed.available_until)
        except ValueError as exc:
            raise ValidationFailed(
                f"{exc}.",
                reason="window",
                available_from=_time(changed.available_from),
                available_until=_time(changed.available_until),
            ) from None
        if changed != row:
            changed = replace(changed, updated_at=ctx.clock.now())
            repository.update_gift(conn, changed, changed.updated_at)
    return gift_out(changed)


def deactivate(ctx: AppContext, gift_id: str) -> GiftOut:
    """Withdraw a gift: it is no longer listed or sendable, and its row stays for history."""
    return update(ctx, gift_id, GiftUpdateIn(active=False))


def all_gifts(ctx: AppContext) -> list[GiftOut]:
    with ctx.engine.connect() as conn:
        rows = repository.list_gifts(conn)
    return [gift_out(r) for r in rows]


# --- the viewers' side -------------------------------------------------------------------------
def catalog(ctx: AppContext, *, user_id: str | None, region: str | None) -> CatalogOut:
    """What the viewer may send now, in catalog order. ``user_id`` (a user's own token) reads
    the region from their profile; otherwise ``region`` is the one the API key passed."""
    now = ctx.clock.now()
    with ctx.engine.connect() as conn:
        if user_id is not None:
            region = repository.user_region(conn, user_id)
        rows = repository.list_gifts(conn)
    return CatalogOut(
        region=region,
        data=[catalog_gift(r) for r in rows if unavailable_reason(r, region, now) is None],
    )


def gift(ctx: AppContext, gift_id: str, *, user_id: str | None, region: str | None) -> GiftViewOut:
    """One gift, available or not, and why not for this viewer at this moment."""
    now = ctx.clock.now()
    with ctx.engine.connect() as conn:
        if user_id is not None:
            region = repository.user_region(conn, user_id)
        row = repository.get_gift(conn, gift_id)
    if row is None:
        raise NotFound("No such gift.", id=gift_id)
    return gift_view(row, unavailable_reason(row, region, now))
