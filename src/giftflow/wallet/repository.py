"""What the wallet reads: whether the user exists, balances, holds and history (ledger reads)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from giftflow.ledger.read_repository import balances, held_by_pending, owner_history
from giftflow.schema import users

__all__ = ["balances", "held_by_pending", "owner_history", "user_exists"]


def user_exists(conn: Connection, user_id: str) -> bool:
    return conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is not None
