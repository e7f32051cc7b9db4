"""Every query of subscriptions: plans, subscription rows, and the batch's reads and writes.

Endpoint reads (a plan, a user's subscriptions, the renewals that are due) and the plan's own
writes (a creator sets or withdraws a price: no value moves, no room event) are plain functions
on a connection. Inside the writer's batch, ``SubscriptionBatchRepository`` reads who is
subscribed to whom (for subscriber-only lives), the subscription rows and plans commands need,
each in one statement for every pair or creator the batch announced, and ``SUBSCRIPTION_WRITES``
flushes the rows commands staged: one upsert per batch, the latest state of each row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, tuple_

from giftflow.db import upsert_insert
from giftflow.schema import lives, subscription_plans, subscriptions, users

ACTIVE, CANCELED, EXPIRED = "active", "canceled", "expired"
IN_FORCE_STATES = (ACTIVE, CANCELED)  # a cancellation runs to the end of the paid period


@dataclass(frozen=True, slots=True)
class PlanRow:
    creator_id: str
    price_coins: int
    updated_at: datetime


@dataclass(slots=True)
class SubscriptionRow:
    id: int
    subscriber_id: str
    creator_id: str
    price_coins: int  # what the current period cost
    state: str  # active | canceled | expired
    period_start: datetime
    period_end: datetime
    renewals: int
    canceled_at: datetime | None
    policy_version: str
    created_at: datetime
    updated_at: datetime

    @property
    def pair(self) -> tuple[str, str]:
        return (self.subscriber_id, self.creator_id)

    def in_force(self, now: datetime) -> bool:
        return self.state in IN_FORCE_STATES and self.period_end > now


@dataclass(frozen=True, slots=True)
class Due:
    """A subscription whose period is over (a candidate, re-checked under the writer's lock)."""

    id: int
    subscriber_id: str
    creator_id: str
    period_end: datetime


def _row(values: Any) -> SubscriptionRow:
    return SubscriptionRow(
        id=int(values["id"]),
        subscriber_id=str(values["subscriber_id"]),
        creator_id=str(values["creator_id"]),
        price_coins=int(values["price_coins"]),
        state=str(values["state"]),
        period_start=values["period_start"],
        period_end=values["period_end"],
        renewals=int(values["renewals"]),
        canceled_at=values["canceled_at"],
        policy_version=str(values["policy_version"]),
        created_at=values["created_at"],
        updated_at=values["updated_at"],
    )


def _plan(values: Any) -> PlanRow:
    return PlanRow(str(values.creator_id), int(values.price_coins), values.updated_at)


# --- endpoints ---------------------------------------------------------------------------------
def user_exists(conn: Connection, user_id: str) -> bool:
    return conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is not None


def plan(conn: Connection, creator_id: str) -> PlanRow | None:
    row = conn.execute(
        select(subscription_plans).where(subscription_plans.c.creator_id == creator_id)
    ).first()
    return _plan(row) if row is not None else None


def put_plan(conn: Connection, creator_id: str, price_coins: int, now: datetime) -> None:
    stmt = upsert_insert(conn, subscription_plans)
    conn.execute(
        stmt.values(
            creator_id=creator_id, price_coins=price_coins, updated_at=now
        ).on_conflict_do_update(
            index_elements=["creator_id"],
            set_={"price_coins": stmt.excluded.price_coins, "updated_at": stmt.excluded.updated_at},
        )
    )


def delete_plan(conn: Connection, creator_id: str) -> bool:
    result = conn.execute(
        delete(subscription_plans).where(subscription_plans.c.creator_id == creator_id)
    )
    return bool(result.rowcount)


def subscriptions_of(
    conn: Connection,
    subscriber_id: str,
    *,
    creator_id: str | None = None,
    limit: int | None = None,
    before_id: int | None = None,
) -> list[SubscriptionRow]:
    """The subscriber's subscriptions, newest first (ids below ``before_id``, at most ``limit``)."""
    stmt = select(subscriptions).where(subscriptions.c.subscriber_id == subscriber_id)
    if creator_id is not None:
        stmt = stmt.where(subscriptions.c.creator_id == creator_id)
    if before_id is not None:
        stmt = stmt.where(subscriptions.c.id < before_id)
    rows = conn.execute(stmt.order_by(subscriptions.c.id.desc()).limit(limit)).mappings()
    return [_row(r) for r in rows]


def subscription(conn: Connection, subscription_id: int) -> SubscriptionRow | None:
    row = (
        conn.execute(select(subscriptions).where(subscriptions.c.id == subscription_id))
        .mappings()
        .first()
    )
    return _row(row) if row is not None else None


def due(conn: Connection, now: datetime, limit: int) -> list[Due]:
    """Subscriptions in force until ``now`` or earlier: active ones to renew, canceled ones to
    expire; oldest first (the index on ``(state, period_end)``)."""
    s = subscriptions.c
    rows = conn.execute(
        select(s.id, s.subscriber_id, s.creator_id, s.period_end)
        .where(s.state.in_(IN_FORCE_STATES), s.period_end <= now)
        .order_by(s.period_end, s.id)
        .limit(limit)
    )
    return [Due(int(r.id), str(r.subscriber_id), str(r.creator_id), r.period_end) for r in rows]


def next_due(conn: Connection) -> datetime | None:
    """When the next subscription in force runs out (the renewal job's next appointment)."""
    s = subscriptions.c
    found: datetime | None = conn.execute(
        select(func.min(s.period_end)).where(s.state.in_(IN_FORCE_STATES))
    ).scalar()
    return found


# --- inside the writer's batch -----------------------------------------------------------------
class SubscriptionBatchRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def subscribed(self, pairs: Iterable[tuple[str, str]], now: datetime) -> set[tuple[str, str]]:
        """The (subscriber, creator) pairs with a subscription in force at ``now``: active or
        canceled (a cancellation runs to the end of the paid period), not past its end."""
        wanted = sorted(set(pairs))
        if not wanted:
            return set()
        s = subscriptions.c
        rows = self.conn.execute(
            select(s.subscriber_id, s.creator_id).where(
                tuple_(s.subscriber_id, s.creator_id).in_(wanted),
                s.state.in_(IN_FORCE_STATES),
                s.period_end > now,
            )
        )
        return {(str(a), str(b)) for a, b in rows}

    def rows(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], SubscriptionRow]:
        """The rows of these pairs, locked in id order. Every command that changes a row has
        already locked its subscriber's coin accounts (the batch's first, ordered lock), so no
        other writer waits on these rows while holding one this batch needs."""
        wanted = sorted(set(pairs))
        if not wanted:
            return {}
        s = subscriptions.c
        rows = self.conn.execute(
            select(subscriptions)
            .where(tuple_(s.subscriber_id, s.creator_id).in_(wanted))
            .order_by(s.id)
            .with_for_update()
        ).mappings()
        return {r.pair: r for r in (_row(m) for m in rows)}

    def pair_of(self, subscription_id: int) -> tuple[str, str] | None:
        """Whose subscription an id is (it never changes: read before any lock)."""
        s = subscriptions.c
        row = self.conn.execute(
            select(s.subscriber_id, s.creator_id).where(s.id == subscription_id)
        ).first()
        return (str(row[0]), str(row[1])) if row is not None else None

    def plans(self, creator_ids: Iterable[str]) -> dict[str, PlanRow]:
        wanted = sorted(set(creator_ids))
        if not wanted:
            return {}
        rows = self.conn.execute(
            select(subscription_plans).where(subscription_plans.c.creator_id.in_(wanted))
        )
        return {str(r.creator_id): _plan(r) for r in rows}

    def active_live_of(self, creator_id: str) -> int | None:
        """The creator's live on air, if any (read before any lock: the command checks the
        live's state again under its room's lock)."""
        found = self.conn.execute(
            select(lives.c.id)
            .where(lives.c.creator_id == creator_id, lives.c.state == "active")
            .limit(1)
        ).scalar()
        return int(found) if found is not None else None


_MUTABLE = (
    "price_coins",
    "state",
    "period_start",
    "period_end",
    "renewals",
    "canceled_at",
    "policy_version",
    "updated_at",
)


class SubscriptionWrites:
    """Batch extension: the latest state of every subscription row a batch changed, in one
    upsert by id (a row's pair never changes; a new pair's row gets a new id)."""

    name = "live.subscriptions"

    def flush(self, conn: Connection, rows: list[SubscriptionRow]) -> None:
        latest: dict[int, SubscriptionRow] = {}
        for row in rows:
            latest[row.id] = row
        if not latest:
            return
        stmt = upsert_insert(conn, subscriptions)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["id"], set_={name: stmt.excluded[name] for name in _MUTABLE}
            ),
            [
                {
                    "id": r.id,
                    "subscriber_id": r.subscriber_id,
                    "creator_id": r.creator_id,
                    "price_coins": r.price_coins,
                    "state": r.state,
                    "period_start": r.period_start,
                    "period_end": r.period_end,
                    "renewals": r.renewals,
                    "canceled_at": r.canceled_at,
                    "policy_version": r.policy_version,
                    "created_at": r.created_at,
                    "updated_at": r.updated_at,
                }
                for _, r in sorted(latest.items())
            ],
        )


SUBSCRIPTION_WRITES = SubscriptionWrites()
