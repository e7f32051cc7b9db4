"""Housekeeping commands the server runs on a timer, through the writer like every write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, tuple_

from giftflow.ledger.commands import BatchContext, Command
from giftflow.schema import idempotency_keys


class PurgeIdempotencyKeys(Command):
    """Forget idempotency keys older than the retention (at least 24 h), a bounded slice at once.

    A withdrawal or purchase keeps its own longer-lived id, so purging keys never lets a payout
    or a provider event apply twice.
    """

    kind = "idempotency.purge"
    success_status = 200

    def __init__(self, retention: timedelta, limit: int = 5000) -> None:
        super().__init__()
        if retention < timedelta(hours=24):
            raise ValueError("idempotency keys are kept at least 24 hours")
        self.retention = retention
        self.limit = limit

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        cutoff = ctx.now - self.retention
        old = (
            select(idempotency_keys.c.scope, idempotency_keys.c.key)
            .where(idempotency_keys.c.created_at < cutoff)
            .limit(self.limit)
        )
        doomed = [tuple(r) for r in ctx.conn.execute(old)]
        if doomed:
            ctx.conn.execute(
                delete(idempotency_keys).where(
                    tuple_(idempotency_keys.c.scope, idempotency_keys.c.key).in_(doomed)
                )
            )
        return {"purged": len(doomed)}
