"""A live's goals as the writer's batch sees them.

Gifts and goal commands announce their live from ``account_hints`` (a gift through
``rooms.announce``, which every command on a live calls anyway); the first read of the batch
(after the rooms are locked) fetches the goals of every announced live in one statement. The
goals stay in the book's memo as a tuple per live; a change replaces the tuple through
``book.remember`` (undone with a refused command) and stages the goal's new state.
"""

from __future__ import annotations

from collections.abc import Iterable

from giftflow.ledger import prefetch
from giftflow.ledger.commands import BatchContext
from giftflow.ledger.prefetch import Read
from giftflow.live.goals.repository import GOAL_WRITES, GoalBatchRepository, GoalRow
from giftflow.live.rooms import batch as rooms

_ANNOUNCED = ("goals.announced",)


def announce(ctx: BatchContext, live_id: int) -> None:
    lives: set[int] = ctx.book.memo.setdefault(_ANNOUNCED, set())
    lives.add(live_id)


def _prefetch_goals(ctx: BatchContext) -> Iterable[Read]:
    """The announced lives' goals in the batch's first round trip (``ledger.prefetch``), after
    their rooms are locked, as ``goals`` reads them."""
    memo = ctx.book.memo
    wanted = prefetch.unread(ctx, _ANNOUNCED, "goals.of")
    if not wanted:
        return ()

    def into(read: dict[int, list[GoalRow]]) -> None:
        for i in wanted:
            memo[("goals.of", i)] = tuple(read.get(i, ()))

    return (GoalBatchRepository.goals_read(wanted, into),)


prefetch.register(40, "live.goals", _prefetch_goals)


def goals(ctx: BatchContext, live_id: int) -> tuple[GoalRow, ...]:
    """The live's goals, oldest first (call only once the live's room is locked)."""
    key = ("goals.of", live_id)
    found: tuple[GoalRow, ...] | None = ctx.book.memo.get(key)
    if found is not None:
        return found
    announced: set[int] = ctx.book.memo.get(_ANNOUNCED, set())
    every = announced | rooms.announced(ctx) | {live_id}
    wanted = {i for i in every if ("goals.of", i) not in ctx.book.memo}
    read = ctx.repository(GoalBatchRepository).goals(wanted)
    for i in wanted:  # reads under the lock: they stay when a command is rolled back
        ctx.book.memo[("goals.of", i)] = tuple(read.get(i, ()))
    current: tuple[GoalRow, ...] = ctx.book.memo[key]
    return current


def save(ctx: BatchContext, live_id: int, changed: list[GoalRow]) -> None:
    """Goals created or advanced by the current command (new goals are appended)."""
    by_id = {g.id: g for g in goals(ctx, live_id)}
    for goal in changed:
        by_id[goal.id] = goal
        ctx.book.stage(GOAL_WRITES, goal)
    ctx.book.remember(("goals.of", live_id), tuple(g for _, g in sorted(by_id.items())))
