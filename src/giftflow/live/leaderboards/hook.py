"""How leaderboards follow every gift inside its batch: no read at all. ``observe`` stages the
gift's ``GiftFact`` as it is (who, to whom, coins, the gift's seq and transaction id, its local
day: nothing is copied per gift); ``LEADERBOARD_WRITES`` writes the batch's gifts into the score
tables, summed per key, once per batch. Scores are therefore exactly the coins that left the
viewers' wallets in committed gift transactions: a refused gift stages nothing (its row is
rolled back with it).
"""

from __future__ import annotations

from collections.abc import Iterable

from giftflow.ledger.commands import BatchContext
from giftflow.ledger.model import AccountRef
from giftflow.live.gifting.hooks import GiftFact, GiftIntent
from giftflow.live.leaderboards.repository import LEADERBOARD_WRITES


class LeaderboardsHook:
    name = "leaderboards"

    def announce(self, ctx: BatchContext, intent: GiftIntent) -> Iterable[AccountRef]:
        return ()

    def observe(self, ctx: BatchContext, fact: GiftFact) -> None:
        ctx.book.stage(LEADERBOARD_WRITES, fact)


HOOK = LeaderboardsHook()
