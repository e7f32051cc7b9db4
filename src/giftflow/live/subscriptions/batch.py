"""Subscriptions as a batch sees them.

- Whether a viewer subscribes to a creator (``announce`` / ``is_subscriber``): pairs announced
  from ``account_hints`` (only for subscriber-only lives' gifts and joins is it asked), read
  together in one statement.
- The subscription rows and plans of the batch's subscription commands (``announce_row`` /
  ``row``, ``announce_plan`` / ``plan``), each read once for every announced pair or creator and
  kept in the book's memo, so commands of one batch see each other's changes (``save_row``) and
  a refused command's changes are undone by the book.

A subscription command locks the subscriber's coin accounts, as a gift does, so a gift and a
subscription change of the same viewer never pass each other, within a batch or across batches
and processes: the rows are read after that lock is held.
"""

from __future__ import annotations

from dataclasses import replace

from giftflow.ledger.commands import BatchContext
from giftflow.live.rooms.model import UserFacts
from giftflow.live.rooms.repository import LiveBatchRepository
from giftflow.live.subscriptions.repository import (
    SUBSCRIPTION_WRITES,
    PlanRow,
    SubscriptionBatchRepository,
    SubscriptionRow,
)

_ANNOUNCED = ("subscriptions.announced",)
_ROWS = ("subscriptions.rows.announced",)
_PLANS = ("subscriptions.plans.announced",)
_USERS = ("subscriptions.users.announced",)


def _repo(ctx: BatchContext) -> SubscriptionBatchRepository:
    return ctx.repository(SubscriptionBatchRepository)


# --- in force ----------------------------------------------------------------------------------
def announce(ctx: BatchContext, subscriber_id: str, creator_id: str) -> None:
    pairs: set[tuple[str, str]] = ctx.book.memo.setdefault(_ANNOUNCED, set())
    pairs.add((subscriber_id, creator_id))


def is_subscriber(ctx: BatchContext, subscriber_id: str, creator_id: str) -> bool:
    key = ("subscriptions.in_force", subscriber_id, creator_id)
    if key not in ctx.book.memo:
        announced: set[tuple[str, str]] = ctx.book.memo.get(_ANNOUNCED, set())
        wanted = {
            p
            for p in announced | {(subscriber_id, creator_id)}
            if ("subscriptions.in_force", *p) not in ctx.book.memo
        }
        found = _repo(ctx).subscribed(wanted, ctx.now)
        for pair in wanted:
            ctx.book.memo[("subscriptions.in_force", *pair)] = pair in found
    subscribed: bool = ctx.book.memo[key]
    return subscribed


def remember(ctx: BatchContext, subscriber_id: str, creator_id: str, in_force: bool) -> None:
    """A subscription command changed the pair in this batch (rolled back with the command)."""
    ctx.book.remember(("subscriptions.in_force", subscriber_id, creator_id), in_force)


# --- rows --------------------------------------------------------------------------------------
def announce_row(ctx: BatchContext, subscriber_id: str, creator_id: str) -> None:
    """From ``account_hints``, after the subscriber's coin accounts: this command reads the
    pair's row."""
    pairs: set[tuple[str, str]] = ctx.book.memo.setdefault(_ROWS, set())
    pairs.add((subscriber_id, creator_id))


def row(ctx: BatchContext, subscriber_id: str, creator_id: str) -> SubscriptionRow | None:
    """The pair's row as this batch sees it (None: the pair never subscribed)."""
    key = ("subscriptions.row", subscriber_id, creator_id)
    if key not in ctx.book.memo:
        announced: set[tuple[str, str]] = ctx.book.memo.get(_ROWS, set())
        wanted = {
            p
            for p in announced | {(subscriber_id, creator_id)}
            if ("subscriptions.row", *p) not in ctx.book.memo
        }
        found = _repo(ctx).rows(wanted)
        for pair in wanted:
            # a read under the lock, not an effect: kept if a command rolls back
            ctx.book.memo[("subscriptions.row", *pair)] = found.get(pair)
    cached: SubscriptionRow | None = ctx.book.memo[key]
    return replace(cached) if cached is not None else None


def save_row(ctx: BatchContext, changed: SubscriptionRow) -> None:
    """Keep the row's new state for the batch and stage it for ``SUBSCRIPTION_WRITES``; the
    in-force answer of the pair follows (a gift later in the batch sees it)."""
    changed.updated_at = ctx.now
    ctx.book.remember(("subscriptions.row", *changed.pair), replace(changed))
    ctx.book.stage(SUBSCRIPTION_WRITES, replace(changed))
    remember(ctx, changed.subscriber_id, changed.creator_id, changed.in_force(ctx.now))


def pair_of(ctx: BatchContext, subscription_id: int) -> tuple[str, str] | None:
    """Whose subscription an id is (for ``account_hints``: it never changes)."""
    key = ("subscriptions.pair", subscription_id)
    if key not in ctx.book.memo:
        ctx.book.memo[key] = _repo(ctx).pair_of(subscription_id)
    found: tuple[str, str] | None = ctx.book.memo[key]
    return found


# --- plans and people --------------------------------------------------------------------------
def announce_plan(ctx: BatchContext, creator_id: str, *user_ids: str) -> None:
    """From ``account_hints``: this command reads the creator's plan and these users' facts."""
    creators: set[str] = ctx.book.memo.setdefault(_PLANS, set())
    creators.add(creator_id)
    people: set[str] = ctx.book.memo.setdefault(_USERS, set())
    people.update(user_ids)


def plan(ctx: BatchContext, creator_id: str) -> PlanRow | None:
    """The creator's plan as committed (plans change outside the writer: a creator's ``PUT``)."""
    key = ("subscriptions.plan", creator_id)
    if key not in ctx.book.memo:
        announced: set[str] = ctx.book.memo.get(_PLANS, set())
        wanted = {
            c for c in announced | {creator_id} if ("subscriptions.plan", c) not in ctx.book.memo
        }
        found = _repo(ctx).plans(wanted)
        for creator in wanted:
            ctx.book.memo[("subscriptions.plan", creator)] = found.get(creator)
    cached: PlanRow | None = ctx.book.memo[key]
    return cached


def user(ctx: BatchContext, user_id: str) -> UserFacts | None:
    """A user's facts (frozen, birth date, followers), every announced user in one query."""
    key = ("subscriptions.user", user_id)
    if key not in ctx.book.memo:
        announced: set[str] = ctx.book.memo.get(_USERS, set())
        wanted = {
            u for u in announced | {user_id} if ("subscriptions.user", u) not in ctx.book.memo
        }
        found = ctx.repository(LiveBatchRepository).users(wanted)
        for u in wanted:
            ctx.book.memo[("subscriptions.user", u)] = found.get(u)
    facts: UserFacts | None = ctx.book.memo[key]
    return facts
