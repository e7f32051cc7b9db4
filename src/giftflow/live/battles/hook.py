"""How battles follow every gift inside its batch.

The gift's live is announced with its room; the first ``observe`` of the batch reads, in one
statement, the open battles of every announced live (nothing more when none is in a battle). A gift
counts for its live's side when the battle is active and the gift's time (the batch's) is
inside the window, ``started_at`` ≤ t < ``ends_at`` — both read under the live's room lock,
which the end of a battle also takes, so a gift committed after the end never counts. The
side's score and the sender's supporter score grow in the memo and are staged as increments
(one statement per kind per batch); the coalesced ``battle_score`` events come from the timer,
not from each gift.
"""

from __future__ import annotations

from collections.abc import Iterable

from giftflow.ledger.commands import BatchContext
from giftflow.ledger.model import AccountRef
from giftflow.live.battles import batch as battles
from giftflow.live.gifting.hooks import GiftFact, GiftIntent


class BattlesHook:
    name = "battles"

    def announce(self, ctx: BatchContext, intent: GiftIntent) -> Iterable[AccountRef]:
        battles.announce_live(ctx, intent.live_id)  # asked in the batch's first round trip
        return ()

    def observe(self, ctx: BatchContext, fact: GiftFact) -> None:
        for battle_id in battles.of_live(ctx, fact.live_id):
            row = battles.battle(ctx, battle_id)
            if row is None:
                continue
            side = row.side(fact.live_id)
            if side is None or not side.playing:
                continue
            points = row.points(fact.gift_id, fact.coins, fact.at)
            if points:
                battles.add_points(ctx, battle_id, fact.live_id, fact.viewer_id, points, fact.seq)


HOOK = BattlesHook()
