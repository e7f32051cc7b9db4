"""Guardian links: who may limit whose purchases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from giftflow.schema import guardian_links


def links_of_ward(conn: Connection, ward_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(guardian_links).where(guardian_links.c.ward_id == ward_id))
    return [dict(r) for r in rows.mappings()]


def get_link(conn: Connection, link_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(guardian_links).where(guardian_links.c.id == link_id)).mappings()
    found = row.first()
    return dict(found) if found is not None else None


def find_link(conn: Connection, guardian_id: str, ward_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(guardian_links).where(
            guardian_links.c.guardian_id == guardian_id, guardian_links.c.ward_id == ward_id
        )
    ).mappings()
    found = row.first()
    return dict(found) if found is not None else None


def create_link(conn: Connection, guardian_id: str, ward_id: str, now: datetime) -> int:
    found = conn.execute(
        guardian_links.insert()
        .values(guardian_id=guardian_id, ward_id=ward_id, created_at=now, updated_at=now)
        .returning(guardian_links.c.id)
    ).scalar_one()
    return int(found)


def update_link(conn: Connection, link_id: int, fields: dict[str, Any], now: datetime) -> None:
    conn.execute(
        update(guardian_links)
        .where(guardian_links.c.id == link_id)
        .values(updated_at=now, **fields)
    )


def links_of_user(conn: Connection, user_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(guardian_links)
        .where((guardian_links.c.guardian_id == user_id) | (guardian_links.c.ward_id == user_id))
        .order_by(guardian_links.c.id)
    )
    return [dict(r) for r in rows.mappings()]
