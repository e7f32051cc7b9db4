"""The gift catalog's SQL: gifts (reads on the reader engine, writes in a unit of work) and the
viewer's region.

Catalog writes move no value: the service runs each in one ``unit_of_work``. An update reads the
row ``FOR UPDATE`` first (PostgreSQL; SQLite's unit of work already holds the write lock), so two
operators changing the two ends of a window cannot together leave ``from >= until``. The writer's
gift command reads gifts through ``model.GiftBatchRepository`` on its own connection, never here.

The catalog is a handful of rows: the public list reads them all, in catalog order, and the
service keeps those ``model.unavailable_reason`` allows (the rule lives there, once, shared with
the gift command; it is not repeated in SQL).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import Connection, select, update

from giftflow.db import upsert_insert
from giftflow.live.catalog.model import GiftRow, gift_row, regions_column
from giftflow.schema import gifts, users

CATALOG_ORDER = (gifts.c.sort, gifts.c.price_coins, gifts.c.id)


def get_gift(conn: Connection, gift_id: str, *, lock: bool = False) -> GiftRow | None:
    stmt = select(gifts).where(gifts.c.id == gift_id)
    if lock:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    return gift_row(row) if row is not None else None


def list_gifts(conn: Connection) -> list[GiftRow]:
    """Every gift, inactive ones included, by ``sort``, then price, then id."""
    return [gift_row(r) for r in conn.execute(select(gifts).order_by(*CATALOG_ORDER)).mappings()]


def create_gift(conn: Connection, gift: GiftRow) -> bool:
    """Insert the gift; False (and nothing written) if its id is taken, even by a racing insert."""
    values = asdict(gift) | {"regions": regions_column(gift.regions)}
    inserted = conn.execute(
        upsert_insert(conn, gifts)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(gifts.c.id)
    ).scalar_one_or_none()
    return inserted is not None


def update_gift(conn: Connection, gift: GiftRow, now: datetime) -> None:
    """Write every changeable column of ``gift`` (the id and ``created_at`` stay)."""
    values = asdict(gift) | {"regions": regions_column(gift.regions), "updated_at": now}
    del values["id"], values["created_at"]
    conn.execute(update(gifts).where(gifts.c.id == gift.id).values(**values))


def user_region(conn: Connection, user_id: str) -> str | None:
    """The region on the user's profile (set by the platform); None if none or no such user."""
    region: str | None = conn.execute(
        select(users.c.region).where(users.c.id == user_id)
    ).scalar_one_or_none()
    return region
