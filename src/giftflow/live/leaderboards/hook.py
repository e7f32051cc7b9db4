"""How leaderboards follow every gift inside its batch: no read at all. ``observe`` stages one
tuple per gift (who, to whom, coins, the gift's seq and transaction id, its local day);
``LEADERBOARD_WRITES`` folds the batch's rows per key and writes each score table with one
upsert. Scores are therefore exactly the coins that left the viewers' wallets in committed gift
transactions: a refused gift stages nothing (its row is rolled back with it).
"""

from __future__ import annotations

from collections.abc import Iterable

from giftflow.ledger.commands import BatchContext
from giftflow.ledger.model import AccountRef
from giftflow.live.gifting.hooks import GiftFact, GiftIntent
from giftflow.live.leaderboards.repository import LEADERBOARD_WRITES, GiftScore


class LeaderboardsHook:
    name = "leaderboards"

    def announce(self, ctx: BatchContext, intent: GiftIntent) -> Iterable[AccountRef]:
        return ()

    def observe(self, ctx: BatchContext, fact: GiftFact) -> None:
        ctx.book.stage(
            LEADERBOARD_WRITES,
            GiftScore(
                fact.live_id,
                fact.viewer_id,
                fact.recipient_id,
                fact.coins,
                fact.count,
                fact.at,
                fact.seq,
                fact.txn_id,
                fact.today,
            ),
        )


HOOK = LeaderboardsHook()
