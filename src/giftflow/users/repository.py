"""Queries of the users table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from giftflow.schema import users


def get_user(conn: Connection, user_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).mappings().first()
    return dict(row) if row else None


def upsert_user(
    conn: Connection, user_id: str, fields: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], bool]:
    """Create or update; returns the row and whether it was created."""
    existing = get_user(conn, user_id)
    if existing is None:
        conn.execute(users.insert().values(id=user_id, created_at=now, updated_at=now, **fields))
    else:
        conn.execute(update(users).where(users.c.id == user_id).values(updated_at=now, **fields))
    row = get_user(conn, user_id)
    if row is None:  # pragma: no cover - the row was just written in this transaction
        raise RuntimeError(f"user {user_id} vanished inside its own transaction")
    return row, existing is None
