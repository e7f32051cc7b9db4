"""The audit log's SQL: one INSERT per admin request, and the filtered list, newest first.

``audit_log`` is append-only: migration 0009 adds triggers that refuse UPDATE and DELETE on
both databases, so nothing here (or anywhere) can change a row once written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, or_, select

from giftflow.db import unit_of_work
from giftflow.schema import audit_log


@dataclass(frozen=True, slots=True)
class AuditRow:
    at: datetime
    actor: str
    action: str
    target: str | None
    method: str
    path: str
    status_code: int
    request: str | None  # JSON text
    before: str | None
    after: str | None


def write_entry(engine: Engine, row: AuditRow) -> int:
    """Append one row in its own transaction; returns its id."""
    with unit_of_work(engine) as conn:
        found = conn.execute(
            audit_log.insert()
            .values(
                at=row.at,
                actor=row.actor[:200],
                action=row.action[:100],
                target=row.target[:200] if row.target is not None else None,
                method=row.method[:8],
                path=row.path[:500],
                status_code=row.status_code,
                request=row.request,
                before=row.before,
                after=row.after,
            )
            .returning(audit_log.c.id)
        ).scalar_one()
    return int(found)


def list_entries(
    conn: Connection,
    *,
    target: str | None,
    actor: str | None,
    action: str | None,
    limit: int,
    before_id: int | None,
) -> list[dict[str, Any]]:
    """Rows newest first. ``actor`` matches the whole actor or its leading credential
    (``apikey:3`` matches ``apikey:3 ops``); ``action`` ending in ``*`` is a prefix."""
    stmt = select(audit_log)
    if target is not None:
        stmt = stmt.where(audit_log.c.target == target)
    if actor is not None:
        stmt = stmt.where(
            or_(
                audit_log.c.actor == actor,
                audit_log.c.actor.startswith(actor + " ", autoescape=True),
            )
        )
    if action is not None:
        if action.endswith("*"):
            stmt = stmt.where(audit_log.c.action.startswith(action[:-1], autoescape=True))
        else:
            stmt = stmt.where(audit_log.c.action == action)
    if before_id is not None:
        stmt = stmt.where(audit_log.c.id < before_id)
    rows = conn.execute(stmt.order_by(audit_log.c.id.desc()).limit(limit)).mappings()
    return [dict(r) for r in rows]
