"""The items feature's SQL: the catalog, owned items, and the batch side of buying one.

Catalog writes move no value: the service runs them in ``unit_of_work``. Buying moves value, so
it runs in a writer batch: ``ItemBatchRepository`` reads the catalog row on the batch's
connection (the price in force when the batch runs, once per item per batch) and the quantity a
user already owns; ``OwnedWrites`` is the batch extension that adds what the batch's purchases
staged to ``owned_items`` with one upsert per batch, summed per (user, item).

Catalog rows are read, not locked: an operator's price change never waits for the writer, and a
purchase is simply ordered before any change that had not committed when its batch read the row.
The owned quantity is read after ``spend`` has locked the buyer's wallet row, so no other batch
can add to it until this one commits: the quantity a purchase answers with is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from giftflow.db import upsert_insert
from giftflow.schema import items, owned_items


@dataclass(frozen=True, slots=True)
class ItemRow:
    id: str
    kind: str
    name: str
    price_coins: int
    image: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


def _item(row: Any) -> ItemRow:
    return ItemRow(
        id=row.id,
        kind=row.kind,
        name=row.name,
        price_coins=int(row.price_coins),
        image=row.image,
        active=bool(row.active),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# --- the catalog (reads on the reader engine, writes in a unit of work) ----------------------
def get_item(conn: Connection, item_id: str) -> ItemRow | None:
    row = conn.execute(select(items).where(items.c.id == item_id)).first()
    return _item(row) if row is not None else None


def list_items(conn: Connection, *, active_only: bool) -> list[ItemRow]:
    stmt = select(items)
    if active_only:
        stmt = stmt.where(items.c.active)
    return [_item(r) for r in conn.execute(stmt.order_by(items.c.id))]


def create_item(conn: Connection, item: ItemRow) -> bool:
    """Insert the item; False (and nothing written) if its id is taken, even by a racing insert."""
    inserted = conn.execute(
        upsert_insert(conn, items)
        .values(
            id=item.id,
            kind=item.kind,
            name=item.name,
            price_coins=item.price_coins,
            image=item.image,
            active=item.active,
            created_at=item.created_at,
            updated_at=item.updated_at,
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(items.c.id)
    ).scalar_one_or_none()
    return inserted is not None


def update_item(conn: Connection, item_id: str, fields: dict[str, Any], now: datetime) -> bool:
    """Change the given columns (``name``, ``price_coins``, ``image``, ``active``); False if
    there is no such item."""
    result = conn.execute(
        update(items).where(items.c.id == item_id).values(updated_at=now, **fields)
    )
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class OwnedRow:
    item: ItemRow
    quantity: int
    first_at: datetime
    last_at: datetime


def owned_by(conn: Connection, user_id: str) -> list[OwnedRow]:
    """The user's items (inactive ones too: what was bought stays owned), by item id."""
    rows = conn.execute(
        select(items, owned_items.c.quantity, owned_items.c.first_at, owned_items.c.last_at)
        .join(owned_items, owned_items.c.item_id == items.c.id)
        .where(owned_items.c.user_id == user_id, owned_items.c.quantity > 0)
        .order_by(items.c.id)
    )
    return [OwnedRow(_item(r), int(r.quantity), r.first_at, r.last_at) for r in rows]


# --- inside a writer batch ---------------------------------------------------------------------
class ItemBatchRepository:
    """What an item purchase reads inside one batch (built with ``ctx.repository(...)``)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._items: dict[str, ItemRow | None] = {}

    def item(self, item_id: str) -> ItemRow | None:
        """The catalog row as this batch sees it: read once, the same for every command."""
        if item_id not in self._items:
            self._items[item_id] = get_item(self.conn, item_id)
        return self._items[item_id]

    def owned_quantity(self, user_id: str, item_id: str) -> int:
        """What the user owned when the batch began (the caller adds the batch's own staging)."""
        found = self.conn.execute(
            select(owned_items.c.quantity).where(
                owned_items.c.user_id == user_id, owned_items.c.item_id == item_id
            )
        ).scalar_one_or_none()
        return int(found or 0)


@dataclass(frozen=True, slots=True)
class OwnedDelta:
    user_id: str
    item_id: str
    quantity: int
    at: datetime


class OwnedWrites:
    """Batch extension: adds the batch's purchases to ``owned_items`` in one upsert.

    Rows are ``OwnedDelta`` values of the commands that succeeded; they are summed per (user,
    item) first, so a batch of many purchases of one item by one user writes one row.
    """

    name = "items.owned"

    def flush(self, conn: Connection, rows: list[OwnedDelta]) -> None:
        summed: dict[tuple[str, str], tuple[int, datetime]] = {}
        for d in rows:
            quantity, last = summed.get((d.user_id, d.item_id), (0, d.at))
            summed[(d.user_id, d.item_id)] = (quantity + d.quantity, max(last, d.at))
        if not summed:
            return
        stmt = upsert_insert(conn, owned_items)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["user_id", "item_id"],
                set_={
                    "quantity": owned_items.c.quantity + stmt.excluded.quantity,
                    "last_at": stmt.excluded.last_at,
                },
            ),
            [
                {
                    "user_id": user_id,
                    "item_id": item_id,
                    "quantity": quantity,
                    "first_at": at,
                    "last_at": at,
                }
                for (user_id, item_id), (quantity, at) in summed.items()
            ],
        )


OWNED = OwnedWrites()
