"""Queries of the users table (and the follower series the platform's reports make)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from giftflow.db import upsert_insert
from giftflow.schema import follower_series, users


def get_user(conn: Connection, user_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    stmt = select(users).where(users.c.id == user_id)
    row = conn.execute(stmt.with_for_update() if lock else stmt).mappings().first()
    return dict(row) if row else None


def upsert_user(
    conn: Connection, user_id: str, fields: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], bool]:
    """Create or update; returns the row and whether it was created.

    A follower count that is new (set at creation, or different from the stored one) is also a
    point of the user's ``follower_series`` (creator analytics' follower growth), in the same
    transaction; the row is read locked so that two concurrent reports record their points in
    the order their counts were stored.
    """
    existing = get_user(conn, user_id, lock=True)
    if existing is None:
        conn.execute(users.insert().values(id=user_id, created_at=now, updated_at=now, **fields))
    else:
        conn.execute(update(users).where(users.c.id == user_id).values(updated_at=now, **fields))
    followers = fields.get("follower_count")
    if followers is not None and (existing is None or existing["follower_count"] != followers):
        _record_followers(conn, user_id, now, followers)
    row = get_user(conn, user_id)
    if row is None:  # pragma: no cover - the row was just written in this transaction
        raise RuntimeError(f"user {user_id} vanished inside its own transaction")
    return row, existing is None


def _record_followers(conn: Connection, user_id: str, at: datetime, count: int) -> None:
    """One point of the series; two reports at the same instant keep the later one."""
    stmt = upsert_insert(conn, follower_series)
    conn.execute(
        stmt.values(user_id=user_id, at=at, follower_count=count).on_conflict_do_update(
            index_elements=["user_id", "at"], set_={"follower_count": stmt.excluded.follower_count}
        )
    )
