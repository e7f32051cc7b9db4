"""The rules of subscriptions, between the routes and the writer.

- A creator's plan (a monthly price in coins within the policy's bounds) is a plain row: setting
  it moves nothing, so it is written directly, not through the writer. The price a subscriber pays
  is read again inside the writer's batch when they subscribe or renew.
- Subscribing and cancelling are commands through the writer (``commands``), under the request's
  Idempotency-Key.
- Renewal is a job: ``tick`` (called by the engagement loop four times a second) looks for due
  subscriptions at most every ``RENEW_EVERY`` of the clock, and ``renew_due`` submits one
  ``RenewSubscription`` per due row, together, so they share the writer's batches. Each command
  re-checks its row under the lock, so a second run, a late run or another process renews once.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from giftflow.context import AppContext
from giftflow.db import unit_of_work
from giftflow.errors import NoSubscriptionPlan, NotFound, UserNotFound, ValidationFailed
from giftflow.live.subscriptions import repository
from giftflow.live.subscriptions.commands import CancelSubscription, RenewSubscription, Subscribe
from giftflow.live.subscriptions.views import plan_view, subscription_view

log = logging.getLogger("giftflow.live")

RENEW_EVERY = timedelta(seconds=5)
RENEW_BATCH = 500  # due subscriptions submitted per run; more are taken by the next tick
MAX_SUBSCRIPTION_ID = 2**62


def check_subscription_id(raw: str) -> int:
    """A path id that cannot name a subscription is simply not found."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        raise NotFound("No such subscription.", id=raw[:32])
    value = int(raw)
    if not 0 < value < MAX_SUBSCRIPTION_ID:
        raise NotFound("No such subscription.", id=raw[:32])
    return value


# --- plans -------------------------------------------------------------------------------------
def set_plan(ctx: AppContext, creator_id: str, price_coins: int) -> dict[str, Any]:
    now = ctx.clock.now()
    policy = ctx.policies.in_force(now)
    rules = policy.subscriptions
    if not rules.enabled:
        raise NoSubscriptionPlan(creator_id=creator_id, reason="disabled")
    if not rules.min_price_coins <= price_coins <= rules.max_price_coins:
        raise ValidationFailed(
            f"The price is {rules.min_price_coins} to {rules.max_price_coins} coins a period.",
            field="price_coins",
            minimum=rules.min_price_coins,
            maximum=rules.max_price_coins,
        )
    with unit_of_work(ctx.engine) as conn:
        if not repository.user_exists(conn, creator_id):
            raise UserNotFound(user_id=creator_id)
        repository.put_plan(conn, creator_id, price_coins, now)
    return plan(ctx, creator_id)


def withdraw_plan(ctx: AppContext, creator_id: str) -> None:
    """No new subscriptions; the running ones end with their paid period (renewal finds no
    plan and expires them)."""
    with unit_of_work(ctx.engine) as conn:
        if not repository.delete_plan(conn, creator_id):
            raise NotFound("This creator has no subscription plan.", creator_id=creator_id)


def plan(ctx: AppContext, creator_id: str) -> dict[str, Any]:
    policy = ctx.policies.in_force(ctx.clock.now())
    with ctx.engine.connect() as conn:
        found = repository.plan(conn, creator_id)
    if found is None:
        raise NotFound("This creator has no subscription plan.", creator_id=creator_id)
    return plan_view(found, policy)


# --- subscriptions -----------------------------------------------------------------------------
def subscribe_command(ctx: AppContext, subscriber_id: str, creator_id: str) -> Subscribe:
    policy = ctx.policies.in_force(ctx.clock.now())
    return Subscribe(subscriber_id, creator_id, policy=policy)


def cancel_command(ctx: AppContext, subscription_id: int, user_id: str) -> CancelSubscription:
    return CancelSubscription(subscription_id, user_id)


def listing(
    ctx: AppContext, subscriber_id: str, creator_id: str | None, limit: int, before_id: int | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the subscriber's subscriptions, newest first, and the next page's cursor."""
    now = ctx.clock.now()
    with ctx.engine.connect() as conn:
        rows = repository.subscriptions_of(
            conn, subscriber_id, creator_id=creator_id, limit=limit + 1, before_id=before_id
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return [subscription_view(r, now) for r in rows], (str(rows[-1].id) if more else None)


def one(ctx: AppContext, subscription_id: int, user_id: str) -> dict[str, Any]:
    """The caller's own subscription; anyone else's is not found."""
    with ctx.engine.connect() as conn:
        row = repository.subscription(conn, subscription_id)
    if row is None or row.subscriber_id != user_id:
        raise NotFound("No such subscription.", id=str(subscription_id))
    return subscription_view(row, ctx.clock.now())


# --- renewal -----------------------------------------------------------------------------------
def _due(ctx: AppContext, now: datetime, limit: int) -> list[repository.Due]:
    with ctx.engine.connect() as conn:
        return repository.due(conn, now, limit)


def _next_due(ctx: AppContext) -> datetime | None:
    with ctx.engine.connect() as conn:
        return repository.next_due(conn)


async def renew_due(ctx: AppContext, limit: int = RENEW_BATCH) -> dict[str, Any]:
    """Renew or expire every subscription due now (up to ``limit``): counts by outcome, and
    ``next_due``, when the next period in force ends after this run."""
    now = ctx.clock.now()
    due = await asyncio.to_thread(_due, ctx, now, limit)
    counts: dict[str, Any] = dict.fromkeys(("renewed", "expired", "skipped", "failed"), 0)
    counts["due"] = len(due)
    if due:
        policy = ctx.policies.in_force(now)
        commands = [
            RenewSubscription(d.id, d.subscriber_id, d.creator_id, d.period_end, policy=policy)
            for d in due
        ]
        outcomes = await asyncio.gather(*(ctx.submit(c) for c in commands), return_exceptions=True)
        for command, outcome in zip(commands, outcomes, strict=True):
            if isinstance(outcome, BaseException) or not outcome.ok:
                counts["failed"] += 1
                log.warning("renewing subscription %s failed: %s", command.subscription_id, outcome)
                continue
            counts[str(outcome.body.get("outcome", "skipped"))] += 1
    counts["next_due"] = await asyncio.to_thread(_next_due, ctx)
    return counts


@dataclass
class _Schedule:
    """One app's renewal runs: when the last began and the next period end it saw (by the app's
    clock), and one run at a time."""

    last: datetime | None = None
    next_due: datetime | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def resting(self, now: datetime) -> bool:
        """Nothing to do yet: the last run is recent and the next period it saw has not ended
        (a subscription bought since ends a day or more later: the rest bounds its wait)."""
        if self.last is None or not self.last <= now < self.last + RENEW_EVERY:
            return False
        return self.next_due is None or now < self.next_due


_SCHEDULES: weakref.WeakKeyDictionary[Any, _Schedule] = weakref.WeakKeyDictionary()


async def tick(ctx: AppContext) -> None:
    """Called by the engagement loop every 250 ms: renews what is due, looking at most every
    ``RENEW_EVERY`` of the app's clock unless a period it knows of has ended meanwhile (or the
    last run left work). A run in progress is waited for, so a caller returns only after the
    renewals due at its time are done."""
    schedule = _SCHEDULES.setdefault(ctx.engine, _Schedule())
    async with schedule.lock:
        now = ctx.clock.now()
        if schedule.resting(now):
            return
        counts = await renew_due(ctx)
        schedule.last = now if counts["due"] < RENEW_BATCH else None  # else: more at once
        upcoming: datetime | None = counts["next_due"]
        # one that failed is still due: it waits for the rest, not for its own end
        schedule.next_due = upcoming if upcoming is not None and upcoming > now else None
