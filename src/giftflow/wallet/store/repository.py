"""What the coin store reads: a user's region and whether they have ever completed a purchase
(the same rule the purchases service applies when it grants a first-purchase bonus)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from giftflow.wallet.purchases.repository import has_purchased, profile


@dataclass(frozen=True, slots=True)
class StoreUser:
    region: str | None  # None: the platform set no region
    has_purchased: bool  # a purchase went through (its money arrived), whatever came after


def store_user(conn: Connection, user_id: str) -> StoreUser | None:
    """The user's region and purchase status; None for a user the platform never created."""
    facts = profile(conn, user_id)
    if facts is None:
        return None
    return StoreUser(region=facts["region"], has_purchased=has_purchased(conn, user_id))
