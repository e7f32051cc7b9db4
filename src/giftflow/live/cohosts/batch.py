"""Co-hosts as a batch sees them: announced from ``account_hints`` (gifts that name a recipient
other than the host, and the co-host commands), read for every announced live in one statement,
after the lives' rooms are locked; a co-host command's change is remembered in the memo (a gift
later in the batch sees it, a refused command's change is undone) and staged for
``COHOST_WRITES``."""

from __future__ import annotations

from giftflow.ledger.commands import BatchContext
from giftflow.live.cohosts.repository import COHOST_WRITES, CohostBatchRepository

_ANNOUNCED = ("cohosts.announced",)


def announce(ctx: BatchContext, live_id: int) -> None:
    lives: set[int] = ctx.book.memo.setdefault(_ANNOUNCED, set())
    lives.add(live_id)


def current(ctx: BatchContext, live_id: int) -> frozenset[str]:
    """Who co-hosts ``live_id`` now (a read under the live's room lock, which every change of
    its co-hosts also takes)."""
    key = ("cohosts.of", live_id)
    if key not in ctx.book.memo:
        announced: set[int] = ctx.book.memo.get(_ANNOUNCED, set())
        wanted = {i for i in announced | {live_id} if ("cohosts.of", i) not in ctx.book.memo}
        for found_id, found in ctx.repository(CohostBatchRepository).cohosts(wanted).items():
            ctx.book.memo[("cohosts.of", found_id)] = frozenset(found)
    found_now: frozenset[str] = ctx.book.memo[key]
    return found_now


def is_cohost(ctx: BatchContext, live_id: int, user_id: str) -> bool:
    """Whether ``user_id`` co-hosts ``live_id`` now."""
    return user_id in current(ctx, live_id)


def change(ctx: BatchContext, live_id: int, user_id: str, *, added: bool) -> frozenset[str]:
    """Add or remove a co-host (the caller holds the live's room lock); the new set."""
    before = current(ctx, live_id)
    after = before | {user_id} if added else before - {user_id}
    ctx.book.remember(("cohosts.of", live_id), after)
    ctx.book.stage(COHOST_WRITES, (live_id, user_id, added, ctx.now))
    return after
