"""How analytics follow every gift inside its batch.

The hook reads nothing and locks nothing: it stages the gift's ``GiftFact`` as it is (no copy,
no arithmetic on the hot path) into ``ANALYTICS_WRITES``, whose flush aggregates the batch per
key and writes each analytics table once. A gift refused later in its own command is unstaged
with the command's other rows (``Book.rollback_command``), so only committed gifts count.
"""

from __future__ import annotations

from collections.abc import Iterable

from giftflow.ledger.commands import BatchContext
from giftflow.ledger.model import AccountRef
from giftflow.live.analytics.repository import ANALYTICS_WRITES
from giftflow.live.gifting.hooks import GiftFact, GiftIntent


class AnalyticsHook:
    name = "analytics"

    def announce(self, ctx: BatchContext, intent: GiftIntent) -> Iterable[AccountRef]:
        """Nothing to read or lock: analytics rows are only added to, in the flush."""
        return ()

    def observe(self, ctx: BatchContext, fact: GiftFact) -> None:
        ctx.book.stage(ANALYTICS_WRITES, fact)


HOOK = AnalyticsHook()
