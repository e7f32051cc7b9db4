"""The rules of live goals between the routes and the writer: the request builds ``CreateGoal``
under the policy in force (its ``goals.max_per_live``); the list reads the stored goals. Goals
have no timed work: ``tick`` is there for the engagement loop and does nothing."""

from __future__ import annotations

from typing import Any

from giftflow.context import AppContext
from giftflow.errors import NotFound, ValidationFailed
from giftflow.live.goals import repository
from giftflow.live.goals.commands import CreateGoal, GoalSpec
from giftflow.live.goals.schemas import GoalIn
from giftflow.live.goals.views import goal_view


def create_command(ctx: AppContext, live_id: int, user_id: str, body: GoalIn) -> CreateGoal:
    if body.kind == "gift" and body.gift_id is None:
        raise ValidationFailed("A gift goal names its gift_id.", field="gift_id")
    if body.kind == "coins" and body.gift_id is not None:
        raise ValidationFailed("A coins goal counts every gift: no gift_id.", field="gift_id")
    policy = ctx.policies.in_force(ctx.clock.now())
    spec = GoalSpec(kind=body.kind, gift_id=body.gift_id, target=body.target, title=body.title)
    return CreateGoal(live_id, user_id, spec, max_per_live=policy.goals.max_per_live)


def listing(ctx: AppContext, live_id: int) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        if not repository.live_exists(conn, live_id):
            raise NotFound("No such live.", id=str(live_id))
        rows = repository.goals_of(conn, live_id)
    return [goal_view(g) for g in rows]


async def tick(ctx: AppContext) -> None:
    """Called by the engagement loop every 250 ms: goals have nothing timed to do."""
    return
