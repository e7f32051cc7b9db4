"""Creating a goal: a command through the writer, because it appends ``goal_created`` to the
live's room (its sequence number is given in the batch, under the room's lock) and because the
goal must be counted against the limit together with any other goal of the same batch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from giftflow.errors import Forbidden, GoalLimitReached, LiveNotActive, NotFound, UnknownGift
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.model import AccountRef
from giftflow.live.catalog.model import GiftBatchRepository
from giftflow.live.goals import batch as goals
from giftflow.live.goals.repository import GoalRow
from giftflow.live.goals.views import created_event, goal_view
from giftflow.live.rooms import batch as rooms
from giftflow.live.rooms.model import LiveState
from giftflow.realtime import outbox


@dataclass(frozen=True, slots=True)
class GoalSpec:
    kind: str  # coins | gift
    gift_id: str | None
    target: int
    title: str


class CreateGoal(Command):
    """The live's creator sets a goal: refused for anyone else (``forbidden``), on an ended live
    (``live_not_active``), for a gift not in the catalog (``unknown_gift``) and past the policy's
    ``goals.max_per_live`` (``validation_error``, ``details.maximum``). Progress counts gifts
    committed after the goal."""

    kind = "live.goal.create"

    def __init__(self, live_id: int, user_id: str, spec: GoalSpec, *, max_per_live: int) -> None:
        self.live_id = live_id
        self.user_id = user_id
        self.spec = spec
        self.max_per_live = max_per_live

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        if rooms.creator_of(ctx, self.live_id) is None:
            raise NotFound("No such live.", id=str(self.live_id))
        rooms.announce(ctx, self.live_id)
        goals.announce(ctx, self.live_id)
        return ()

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        live = rooms.live(ctx, self.live_id)
        if live.creator_id != self.user_id:
            raise Forbidden("Only the live's creator can set its goals.")
        if live.state is not LiveState.ACTIVE:
            raise LiveNotActive(live_id=str(live.id))
        spec = self.spec
        if (
            spec.gift_id is not None
            and ctx.repository(GiftBatchRepository).gift(spec.gift_id) is None
        ):
            raise UnknownGift(f"No gift {spec.gift_id!r} in the catalog.", gift_id=spec.gift_id)
        current = goals.goals(ctx, live.id)
        if len(current) >= self.max_per_live:
            raise GoalLimitReached(
                f"A live may have at most {self.max_per_live} goals.",
                maximum=self.max_per_live,
            )
        goal = GoalRow(
            id=ctx.book.next_id(),
            live_id=live.id,
            kind=spec.kind,
            gift_id=spec.gift_id,
            target=spec.target,
            title=spec.title,
            progress=0,
            completed_at=None,
            created_at=ctx.now,
        )
        goals.save(ctx, live.id, [goal])
        seq = outbox.append(ctx, live.id, "goal_created", created_event(goal))
        return {**goal_view(goal), "seq": seq}
