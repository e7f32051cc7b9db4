"""Queries of the users table (and the follower series the platform's reports make)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from giftflow.db import upsert_insert
from giftflow.ledger.read_repository import balances, held_by_pending
from giftflow.schema import follower_series, guardian_links, users, wallet_state


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


# --- the back office's reads ------------------------------------------------------------------
def search_users(
    conn: Connection, q: str | None, *, limit: int, after_id: str | None
) -> list[dict[str, Any]]:
    """Users by id; with ``q``, those whose id or display name starts with it (the display
    name without regard to case)."""
    stmt = select(users)
    if q:
        stmt = stmt.where(
            or_(
                users.c.id.startswith(q, autoescape=True),
                func.lower(users.c.display_name).startswith(q.lower(), autoescape=True),
            )
        )
    if after_id is not None:
        stmt = stmt.where(users.c.id > after_id)
    rows = conn.execute(stmt.order_by(users.c.id).limit(limit)).mappings()
    return [dict(r) for r in rows]


def links_of(conn: Connection, user_id: str) -> list[dict[str, Any]]:
    """Guardian links where the user is the guardian or the ward, oldest first."""
    rows = conn.execute(
        select(guardian_links)
        .where((guardian_links.c.guardian_id == user_id) | (guardian_links.c.ward_id == user_id))
        .order_by(guardian_links.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def money_of(conn: Connection, user_id: str) -> tuple[list[tuple[str, str, int]], dict[str, int]]:
    """The user's accounts (path, asset, balance) and, per asset, what pending transfers hold."""
    return balances(conn, owner_id=user_id), held_by_pending(conn, user_id)


def spending_freeze(conn: Connection, user_id: str) -> str | None:
    """Why the wallet may not spend (an open or owed chargeback), if it may not."""
    found: str | None = conn.execute(
        select(wallet_state.c.frozen_reason).where(wallet_state.c.user_id == user_id)
    ).scalar_one_or_none()
    return found
