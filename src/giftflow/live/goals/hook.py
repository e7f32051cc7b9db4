"""How goals follow every gift inside its batch.

The gift's live is announced with its room (``rooms.announce``), so the batch's first
``observe`` reads the goals of every announced live in one statement (a live without goals then
costs a memo lookup per gift): ``announce`` has nothing to add.
``observe`` adds the gift to each goal it counts for — a coins goal adds the gift's coins, a
gift goal adds ``count`` when the gift is its gift — and appends, after the gift's own event,
one ``goal_progress`` per goal it advanced and one ``goal_completed`` when a goal first reaches
its target. A completed goal stays completed: later gifts still add to its stored total (exact)
but write no more events for it. Only gifts to active lives are observed, so the goals of an
ended live never move.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from giftflow.ledger.commands import BatchContext
from giftflow.ledger.model import AccountRef
from giftflow.live.gifting.hooks import GiftFact, GiftIntent
from giftflow.live.goals import batch as goals
from giftflow.live.goals.repository import GoalRow
from giftflow.live.goals.views import completed_event, progress_event
from giftflow.live.rooms import batch as rooms
from giftflow.live.rooms.combos import sender_view
from giftflow.realtime import outbox


class GoalsHook:
    name = "goals"

    def announce(self, ctx: BatchContext, intent: GiftIntent) -> Iterable[AccountRef]:
        goals.announce(ctx, intent.live_id)  # read with the batch's first round trip
        return ()

    def observe(self, ctx: BatchContext, fact: GiftFact) -> None:
        current = goals.goals(ctx, fact.live_id)
        if not current:
            return
        changed: list[GoalRow] = []
        events: list[tuple[str, GoalRow]] = []
        for goal in current:
            if goal.kind == "coins":
                added = fact.coins
            elif goal.gift_id == fact.gift_id:
                added = fact.count
            else:
                continue
            was_done = goal.completed
            goal = replace(goal, progress=goal.progress + added)
            if not was_done:
                events.append(("goal_progress", goal))
                if goal.progress >= goal.target:
                    goal = replace(goal, completed_at=fact.at)
                    events.append(("goal_completed", goal))
            changed.append(goal)
        if not changed:
            return
        goals.save(ctx, fact.live_id, changed)
        for type_, goal in events:
            if type_ == "goal_progress":
                outbox.append(ctx, fact.live_id, type_, progress_event(goal))
            else:
                viewer = rooms.user(ctx, fact.viewer_id)  # read by the gift: in the memo
                sender = (
                    sender_view(viewer)
                    if viewer
                    else {"id": fact.viewer_id, "name": fact.viewer_id}
                )
                outbox.append(ctx, fact.live_id, type_, completed_event(goal, sender, fact.txn_id))


HOOK = GoalsHook()
