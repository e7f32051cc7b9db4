"""What the coin store reads: a user's region and whether they have ever completed a purchase."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, exists, select

from giftflow.schema import purchases, users

# A purchase that went through: the money arrived, whatever happened to it later. Any of these
# means the user's next purchase is not their first (pending, failed and canceled ones do not).
COMPLETED_STATES = ("succeeded", "refunded", "disputed", "won", "lost")


@dataclass(frozen=True, slots=True)
class StoreUser:
    region: str | None  # None: the platform set no region
    has_purchased: bool  # a purchase in one of COMPLETED_STATES


def has_completed_purchase(conn: Connection, user_id: str) -> bool:
    """Whether the user has a purchase in a completed state (so no first-purchase bonus)."""
    query = select(
        exists().where(purchases.c.user_id == user_id, purchases.c.state.in_(COMPLETED_STATES))
    )
    return bool(conn.execute(query).scalar())


def store_user(conn: Connection, user_id: str) -> StoreUser | None:
    """The user's region and purchase status; None for a user the platform never created."""
    row = conn.execute(select(users.c.region).where(users.c.id == user_id)).first()
    if row is None:
        return None
    return StoreUser(region=row.region, has_purchased=has_completed_purchase(conn, user_id))
