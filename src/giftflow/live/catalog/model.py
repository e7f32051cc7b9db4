"""A gift as stored, and the one rule of whether a viewer may send it here and now.

Shared by the catalog's endpoints (``GET /v1/gifts`` lists what ``unavailable_reason`` allows)
and by the gift command, which applies the same rule inside its batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, text

from giftflow.ledger import prefetch
from giftflow.ledger.commands import BatchContext
from giftflow.ledger.prefetch import Read
from giftflow.schema import gifts


@dataclass(frozen=True, slots=True)
class GiftRow:
    id: str
    name: str
    price_coins: int
    image: str | None
    tier: int
    streakable: bool
    available_from: datetime | None
    available_until: datetime | None
    regions: tuple[str, ...] | None  # None: everywhere
    sort: int
    active: bool
    created_at: datetime
    updated_at: datetime


def gift_row(row: Any) -> GiftRow:
    values = dict(row)
    raw = values.pop("regions")
    regions = tuple(r for r in raw.split(",") if r) if raw else None
    return GiftRow(**values, regions=regions)


def regions_column(regions: tuple[str, ...] | list[str] | None) -> str | None:
    return ",".join(sorted(set(regions))) if regions else None


def unavailable_reason(gift: GiftRow, region: str | None, now: datetime) -> str | None:
    """Why ``gift`` cannot be sent by a viewer in ``region`` at ``now`` (None: it can).

    ``inactive`` (withdrawn by an operator), ``not_yet`` / ``ended`` (outside a limited
    edition's window: from included, until excluded), ``region`` (not offered in the viewer's
    region; a viewer with no region only sees gifts offered everywhere)."""
    if not gift.active:
        return "inactive"
    if gift.available_from is not None and now < gift.available_from:
        return "not_yet"
    if gift.available_until is not None and now >= gift.available_until:
        return "ended"
    if gift.regions is not None and region not in gift.regions:
        return "region"
    return None


class GiftBatchRepository:
    """Gifts as a command in the writer's batch reads them (no lock: price changes and sends are
    ordered by the database; the batch reads each gift once)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._cache: dict[str, GiftRow | None] = {}

    def gift(self, gift_id: str) -> GiftRow | None:
        if gift_id not in self._cache:  # not announced, or on SQLite
            row = self.conn.execute(select(gifts).where(gifts.c.id == gift_id)).mappings().first()
            self._cache[gift_id] = gift_row(row) if row is not None else None
        return self._cache[gift_id]


# --- the batch's first round trip (PostgreSQL, ``ledger.prefetch``) ---------------------------
_ANNOUNCED = ("catalog.gifts",)
# the columns named, as ``select(gifts)`` names them (a column added by a newer migration is not
# read by an older process)
_GIFT_COLUMNS = tuple(gifts.c)
_GIFTS_PG = text(
    f"SELECT {', '.join(c.name for c in gifts.c)} FROM gifts WHERE id = ANY(CAST(:ids AS text[]))"
).columns(*gifts.c)


def announce_gift(ctx: BatchContext, gift_id: str) -> None:
    """From ``account_hints``: this command will read ``gift_id`` (read with the batch's others
    in its first round trip)."""
    wanted: set[str] = ctx.book.memo.setdefault(_ANNOUNCED, set())
    wanted.add(gift_id)


def _prefetch_gifts(ctx: BatchContext) -> Iterable[Read]:
    repo = ctx.repository(GiftBatchRepository)
    announced: set[str] = ctx.book.memo.get(_ANNOUNCED, set())
    wanted = sorted(g for g in announced if g not in repo._cache)
    if not wanted:
        return ()

    def done(rows: list[dict[str, Any]]) -> None:
        found = {r["id"]: gift_row(r) for r in rows}
        for gift_id in wanted:
            repo._cache[gift_id] = found.get(gift_id)

    return (Read(_GIFTS_PG, {"ids": wanted}, done, _GIFT_COLUMNS),)


prefetch.register(13, "live.gifts", _prefetch_gifts)  # no lock: after the rooms and lives
