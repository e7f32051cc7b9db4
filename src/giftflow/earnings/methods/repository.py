"""Payout methods' SQL. The details (e-mail, IBAN and holder) are stored sealed; the masked form
is stored beside them for lists. A removed method keeps its row (``removed_at``): withdrawals
refer to it.

Writes move no value: the service runs each in one ``unit_of_work``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, RowMapping, select, update

from giftflow.clock import rfc3339
from giftflow.errors import MethodCoolingOff, NotFound
from giftflow.schema import payout_methods

# the connection type services pass back to these functions (services import no SQLAlchemy)
Conn = Connection


@dataclass(frozen=True, slots=True)
class MethodRow:
    id: int
    user_id: str
    kind: str  # paypal | bank
    details_encrypted: str
    masked: str
    usable_from: datetime
    created_at: datetime
    updated_at: datetime
    removed_at: datetime | None

    def usable_at(self, now: datetime) -> bool:
        return self.removed_at is None and now >= self.usable_from


def _row(row: RowMapping) -> MethodRow:
    return MethodRow(
        id=int(row["id"]),
        user_id=row["user_id"],
        kind=row["kind"],
        details_encrypted=row["details_encrypted"],
        masked=row["masked"],
        usable_from=row["usable_from"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        removed_at=row["removed_at"],
    )


def method_of(
    conn: Connection,
    user_id: str,
    method_id: int,
    *,
    lock: bool = False,
    include_removed: bool = False,
) -> MethodRow | None:
    """The user's method (not removed, unless ``include_removed``: a withdrawal already
    requested is paid to the method it named); None for another user's or none."""
    stmt = select(payout_methods).where(
        payout_methods.c.id == method_id,
        payout_methods.c.user_id == user_id,
    )
    if not include_removed:
        stmt = stmt.where(payout_methods.c.removed_at.is_(None))
    if lock:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    return _row(row) if row is not None else None


def methods_of(conn: Connection, user_id: str) -> list[MethodRow]:
    """The user's methods that are not removed, oldest first."""
    rows = conn.execute(
        select(payout_methods)
        .where(payout_methods.c.user_id == user_id, payout_methods.c.removed_at.is_(None))
        .order_by(payout_methods.c.id)
    ).mappings()
    return [_row(r) for r in rows]


def usable_method(conn: Connection, user_id: str, method_id: int, now: datetime) -> MethodRow:
    """The method a withdrawal may pay to: the user's, not removed, past its cooling-off period.
    ``NotFound`` otherwise (another user's looks like none), ``MethodCoolingOff`` (with
    ``details.usable_from``) while it cools off."""
    method = method_of(conn, user_id, method_id)
    if method is None:
        raise NotFound("No such payout method.", id=str(method_id))
    if not method.usable_at(now):
        raise MethodCoolingOff(
            id=str(method.id),
            usable_from=rfc3339(method.usable_from),
        )
    return method


def insert_method(
    conn: Connection,
    user_id: str,
    kind: str,
    details_encrypted: str,
    masked: str,
    usable_from: datetime,
    now: datetime,
) -> int:
    new_id = conn.execute(
        payout_methods.insert()
        .values(
            user_id=user_id,
            kind=kind,
            details_encrypted=details_encrypted,
            masked=masked,
            usable_from=usable_from,
            created_at=now,
            updated_at=now,
            removed_at=None,
        )
        .returning(payout_methods.c.id)
    ).scalar_one()
    return int(new_id)


def update_method(
    conn: Connection,
    method_id: int,
    kind: str,
    details_encrypted: str,
    masked: str,
    usable_from: datetime,
    now: datetime,
) -> None:
    conn.execute(
        update(payout_methods)
        .where(payout_methods.c.id == method_id)
        .values(
            kind=kind,
            details_encrypted=details_encrypted,
            masked=masked,
            usable_from=usable_from,
            updated_at=now,
        )
    )


def remove_method(conn: Connection, method_id: int, now: datetime) -> None:
    conn.execute(
        update(payout_methods)
        .where(payout_methods.c.id == method_id)
        .values(removed_at=now, updated_at=now)
    )


def get_method(conn: Connection, method_id: int) -> MethodRow | None:
    row = conn.execute(select(payout_methods).where(payout_methods.c.id == method_id)).mappings()
    found = row.first()
    return _row(found) if found is not None else None


def sealed_details(conn: Connection, *, lock: bool = False) -> list[tuple[int, str, str]]:
    """(id, user id, sealed details) of every method, removed ones too (for re-sealing)."""
    stmt = select(
        payout_methods.c.id, payout_methods.c.user_id, payout_methods.c.details_encrypted
    ).order_by(payout_methods.c.id)
    if lock:
        stmt = stmt.with_for_update()
    return [(int(r[0]), r[1], r[2]) for r in conn.execute(stmt)]


def set_details(conn: Connection, method_id: int, details_encrypted: str) -> None:
    conn.execute(
        update(payout_methods)
        .where(payout_methods.c.id == method_id)
        .values(details_encrypted=details_encrypted)
    )
