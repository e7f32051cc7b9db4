"""Housekeeping commands the server runs on a timer, through the writer like every write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from giftflow.ledger.commands import BatchContext, Command


class PurgeIdempotencyKeys(Command):
    """Forget idempotency keys older than the retention (at least 24 h), a bounded slice at once.

    A withdrawal or purchase keeps its own longer-lived id, so purging keys never lets a payout
    or a provider event apply twice.
    """

    kind = "idempotency.purge"
    success_status = 200

    def __init__(self, retention: timedelta, limit: int = 5000) -> None:
        if retention < timedelta(hours=24):
            raise ValueError("idempotency keys are kept at least 24 hours")
        self.retention = retention
        self.limit = limit

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        purged = ctx.repo.purge_idempotency_keys(ctx.now - self.retention, self.limit)
        return {"purged": purged}
