"""Reading the audit log: filters, pages, and the stored JSON turned back into values."""

from __future__ import annotations

import json
from typing import Any

from giftflow.audit.repository import list_entries
from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.operations.audit.schemas import AuditEntryOut, AuditPage


def _value(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


def entry_out(row: dict[str, Any]) -> AuditEntryOut:
    return AuditEntryOut(
        id=str(row["id"]),
        at=rfc3339(row["at"]),
        actor=row["actor"],
        action=row["action"],
        target=row["target"],
        method=row["method"],
        path=row["path"],
        status_code=int(row["status_code"]),
        request=_value(row["request"]),
        before=_value(row["before"]),
        after=_value(row["after"]),
    )


def page(
    ctx: AppContext,
    *,
    target: str | None,
    actor: str | None,
    action: str | None,
    limit: int,
    before_id: int | None,
) -> AuditPage:
    with ctx.engine.connect() as conn:
        rows = list_entries(
            conn, target=target, actor=actor, action=action, limit=limit + 1, before_id=before_id
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        data=[entry_out(r) for r in rows], next_cursor=str(rows[-1]["id"]) if more else None
    )
