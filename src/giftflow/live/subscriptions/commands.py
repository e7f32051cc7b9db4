"""Subscribing, cancelling and renewing: commands in the writer's batch, like a gift.

- ``Subscribe``: the plan's price in coins leaves the subscriber's wallet through the wallet's
  ``spend`` (bonus first, lots oldest first, frozen wallet, spending caps, ``insufficient_funds``)
  to ``platform:revenue:subscriptions``, and the creator's share is credited as diamonds
  (``platform:diamonds:issued → creator:{c}:diamonds``, or the hold and its bucket under a hold
  policy, exactly as a gift's) in the same transaction (kind ``subscription``); the row becomes
  active for one period from now. If the creator is live, a ``subscription`` event goes on the
  room's stream.
- ``CancelSubscription``: the subscriber stops renewal; the paid period runs to its end.
- ``RenewSubscription``: the job's command for one subscription whose period is over. It re-reads
  the row under the lock and acts only if its ``period_end`` is still the one the job saw, so
  running it twice, late, or from two processes renews (or expires) once. An active row is
  charged the plan's current price for the next period; when that cannot be paid (too few coins,
  a frozen wallet, a cap, no plan any more…) the row expires and nothing moves. A canceled row
  expires.

Every command that changes a row locks the subscriber's coin accounts first (the batch's ordered
lock), which is also what a gift of that viewer locks: the row is read after it, so no two
writers of one pair ever interleave, and a gift later in the same batch sees the change
(``batch.remember``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from giftflow.clock import rfc3339
from giftflow.errors import (
    AccountFrozen,
    AgeRestricted,
    CapExceeded,
    CreatorNotEligible,
    InsufficientFunds,
    InvalidTransition,
    NoSubscriptionPlan,
    NotFound,
    SelfGift,
)
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.model import AccountRef, Posting, StagedTransaction
from giftflow.live.gifting.commands import ISSUED, diamonds_account
from giftflow.live.rooms import batch as rooms
from giftflow.live.rooms.combos import sender_view
from giftflow.live.rooms.model import LiveState, UserFacts, age_problem, ineligibility
from giftflow.live.rooms.repository import LIVE_WRITES
from giftflow.live.subscriptions import batch
from giftflow.live.subscriptions.repository import (
    ACTIVE,
    CANCELED,
    EXPIRED,
    SubscriptionBatchRepository,
    SubscriptionRow,
)
from giftflow.live.subscriptions.views import share_percent, subscription_view
from giftflow.money import convert
from giftflow.money.amounts import amount_view
from giftflow.money.policy import Policy
from giftflow.realtime import outbox
from giftflow.wallet.purchases.batch import SpendCaps, coin_accounts, spend, spend_hints
from giftflow.wallet.purchases.caps import spending_rules

REVENUE = "platform:revenue:subscriptions"
TXN_KIND = "subscription"
EVENT = "subscription"
# what makes a renewal impossible, so the subscription expires instead (nothing moves)
RENEWAL_REFUSALS = (
    InsufficientFunds,
    AccountFrozen,
    CapExceeded,
    AgeRestricted,
    CreatorNotEligible,
    NoSubscriptionPlan,
)


def _payment_hints(
    ctx: BatchContext, policy: Policy, subscriber: str, creator: str
) -> Iterable[AccountRef]:
    """What paying a period locks and reads: the subscriber's coins (the pair's lock), revenue,
    the creator's diamonds, the pair's row, the plan, both users, and the creator's room if they
    are live (for the event)."""
    yield from spend_hints(ctx, subscriber, REVENUE)
    yield ctx.book.debit_ref(ISSUED, "DIAMOND")
    yield ctx.book.key_for(diamonds_account(policy, creator), "DIAMOND")
    batch.announce_row(ctx, subscriber, creator)
    batch.announce_plan(ctx, creator, subscriber, creator)
    live_id = ctx.repository(SubscriptionBatchRepository).active_live_of(creator)
    ctx.book.memo[("subscriptions.live", creator)] = live_id  # derived, not an effect
    if live_id is not None:
        rooms.announce(ctx, live_id)


def _refusal(ctx: BatchContext, policy: Policy, subscriber: str, creator: str) -> None:
    """Raise what forbids ``subscriber`` paying ``creator`` a period now: the policy, the plan,
    the subscriber (frozen, age) and the creator (may they receive: followers, age, frozen)."""
    if not policy.subscriptions.enabled:
        raise NoSubscriptionPlan(creator_id=creator, reason="disabled")
    if batch.plan(ctx, creator) is None:
        raise NoSubscriptionPlan(creator_id=creator, reason="no_plan")
    viewer = batch.user(ctx, subscriber)
    if viewer is None:
        raise NotFound("No such user.", id=subscriber)
    if viewer.frozen:
        raise AccountFrozen("This account is frozen.", frozen="account")
    today = policy.local_date(ctx.now)
    too_young = age_problem(viewer, policy.age.minimum_to_send, today)
    if too_young is not None:
        raise AgeRestricted(reason=too_young, minimum_age=policy.age.minimum_to_send)
    not_eligible = ineligibility(batch.user(ctx, creator), policy, today)
    if not_eligible is not None:
        raise CreatorNotEligible(
            reason=not_eligible,
            creator_id=creator,
            followers_needed=policy.gifts.followers_to_receive,
        )


def _pay(
    ctx: BatchContext, policy: Policy, row: SubscriptionRow, *, renewal: bool
) -> tuple[StagedTransaction, int]:
    """Charge one period of ``row`` at the plan's price: coins to revenue and the creator's
    share as diamonds, one transaction; returns it and the diamonds."""
    plan = batch.plan(ctx, row.creator_id)
    assert plan is not None  # checked by ``_refusal``
    viewer = batch.user(ctx, row.subscriber_id)
    assert viewer is not None
    coins = plan.price_coins
    diamonds = convert.gift_diamonds(coins, share_percent(policy))
    credit = diamonds_account(policy, row.creator_id)
    txn = spend(
        ctx,
        user_id=row.subscriber_id,
        coins=coins,
        destination=REVENUE,
        kind=TXN_KIND,
        policy_version=policy.version_label,
        caps=SpendCaps(spending_rules(policy, viewer.region or "*"), policy.timezone),
        meta={
            "subscription": str(row.id),
            "creator": row.creator_id,
            "period_end": rfc3339(row.period_end),
            "renewal": "true" if renewal else "false",
        },
        extra=[Posting(ISSUED, credit, "DIAMOND", diamonds)] if diamonds else [],
    )
    hold = policy.cashout.hold_days
    if diamonds and hold > 0:
        release_on = policy.local_date(ctx.now) + timedelta(days=hold)
        ctx.book.stage(LIVE_WRITES, ("hold", (row.creator_id, release_on, diamonds)))
    row.price_coins = coins
    row.policy_version = policy.version_label
    return txn, diamonds


def _announce_on_air(
    ctx: BatchContext,
    viewer: UserFacts,
    row: SubscriptionRow,
    txn: StagedTransaction,
    diamonds: int,
    *,
    renewal: bool,
) -> int | None:
    """The ``subscription`` event on the creator's room if they are live; its sequence."""
    live_id: int | None = ctx.book.memo.get(("subscriptions.live", row.creator_id))
    if live_id is None:
        return None
    live = rooms.live(ctx, live_id)
    if live.state is not LiveState.ACTIVE:
        return None
    return outbox.append(
        ctx,
        live.id,
        EVENT,
        {
            "subscriber": sender_view(viewer),
            "creator_id": row.creator_id,
            "subscription_id": str(row.id),
            "renewal": renewal,
            "coins": row.price_coins,
            "diamonds": diamonds,
            "period_end": rfc3339(row.period_end),
            "transaction_id": str(txn.id),
        },
    )


class Subscribe(Command):
    """A user subscribes to a creator for one period at the plan's price."""

    kind = "live.subscription.subscribe"

    def __init__(self, subscriber_id: str, creator_id: str, *, policy: Policy) -> None:
        self.subscriber_id = subscriber_id
        self.creator_id = creator_id
        self.policy = policy

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        if self.subscriber_id == self.creator_id:
            return  # refused in ``apply``; nothing to lock
        yield from _payment_hints(ctx, self.policy, self.subscriber_id, self.creator_id)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        s, c, policy = self.subscriber_id, self.creator_id, self.policy
        if s == c:
            raise SelfGift("You cannot subscribe to yourself.", creator_id=c)
        current = batch.row(ctx, s, c)
        if current is not None and current.in_force(ctx.now):
            raise InvalidTransition(
                "Already subscribed to this creator.",
                subscription_id=str(current.id),
                state=current.state,
                period_end=rfc3339(current.period_end),
            )
        _refusal(ctx, policy, s, c)
        end = ctx.now + timedelta(days=policy.subscriptions.period_days)
        if current is None:  # the pair's row, for good: a later subscription reuses it
            row = SubscriptionRow(
                id=ctx.book.next_id(),
                subscriber_id=s,
                creator_id=c,
                price_coins=0,
                state=ACTIVE,
                period_start=ctx.now,
                period_end=end,
                renewals=0,
                canceled_at=None,
                policy_version=policy.version_label,
                created_at=ctx.now,
                updated_at=ctx.now,
            )
        else:  # expired, or its period ended unrenewed: a fresh period from now
            row = current
            row.state, row.period_start, row.period_end = ACTIVE, ctx.now, end
            row.renewals, row.canceled_at = 0, None
        txn, diamonds = _pay(ctx, policy, row, renewal=False)
        batch.save_row(ctx, row)
        viewer = batch.user(ctx, s)
        assert viewer is not None
        seq = _announce_on_air(ctx, viewer, row, txn, diamonds, renewal=False)
        balance = sum(ctx.book.balance(path, "COIN") for path in coin_accounts(s))
        return {
            **subscription_view(row, ctx.now),
            "transaction_id": str(txn.id),
            "coins": amount_view("COIN", row.price_coins),
            "diamonds": amount_view("DIAMOND", diamonds),
            "balance": amount_view("COIN", balance),
            "seq": seq,
        }


class CancelSubscription(Command):
    """The subscriber cancels: no renewal; in force until the paid period ends."""

    kind = "live.subscription.cancel"
    success_status = 200

    def __init__(self, subscription_id: int, user_id: str) -> None:
        self.subscription_id = subscription_id
        self.user_id = user_id

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        # the caller's coin accounts: the lock every writer of their subscriptions takes
        for path in coin_accounts(self.user_id):
            yield ctx.book.debit_ref(path, "COIN")
        pair = batch.pair_of(ctx, self.subscription_id)
        if pair is not None and pair[0] == self.user_id:
            batch.announce_row(ctx, *pair)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        pair = batch.pair_of(ctx, self.subscription_id)
        row = batch.row(ctx, *pair) if pair is not None and pair[0] == self.user_id else None
        if row is None:  # someone else's is not found either
            raise NotFound("No such subscription.", id=str(self.subscription_id))
        if row.state != ACTIVE:
            raise InvalidTransition(
                "Only an active subscription can be canceled.",
                state=row.state,
                period_end=rfc3339(row.period_end),
            )
        row.state = CANCELED
        row.canceled_at = ctx.now
        batch.save_row(ctx, row)
        return subscription_view(row, ctx.now)


class RenewSubscription(Command):
    """Renew (or expire) one subscription whose period ended at ``period_end``: once per period."""

    kind = "live.subscription.renew"
    success_status = 200

    def __init__(
        self,
        subscription_id: int,
        subscriber_id: str,
        creator_id: str,
        period_end: datetime,
        *,
        policy: Policy,
    ) -> None:
        self.subscription_id = subscription_id
        self.subscriber_id = subscriber_id
        self.creator_id = creator_id
        self.period_end = period_end
        self.policy = policy

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        yield from _payment_hints(ctx, self.policy, self.subscriber_id, self.creator_id)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        row = batch.row(ctx, self.subscriber_id, self.creator_id)
        outcome: dict[str, Any] = {
            "object": "subscription_renewal",
            "subscription_id": str(self.subscription_id),
            "transaction_id": None,
        }
        if (
            row is None
            or row.id != self.subscription_id
            or row.period_end != self.period_end
            or row.state not in (ACTIVE, CANCELED)
            or row.period_end > ctx.now
        ):
            return {**outcome, "outcome": "skipped"}  # done already (this period or another)
        if row.state == CANCELED:
            row.state = EXPIRED
            batch.save_row(ctx, row)
            return {**outcome, "outcome": "expired", "reason": "canceled"}
        try:
            return {**outcome, **self._renew(ctx, row)}
        except RENEWAL_REFUSALS as refused:
            expired = batch.row(ctx, self.subscriber_id, self.creator_id)
            assert expired is not None
            expired.state = EXPIRED
            batch.save_row(ctx, expired)
            return {**outcome, "outcome": "expired", "reason": refused.code}

    def _renew(self, ctx: BatchContext, row: SubscriptionRow) -> dict[str, Any]:
        policy = self.policy
        _refusal(ctx, policy, row.subscriber_id, row.creator_id)
        period = timedelta(days=policy.subscriptions.period_days)
        # the next period follows the last one; after a long outage it starts now instead
        start = row.period_end if row.period_end + period > ctx.now else ctx.now
        row.period_start, row.period_end = start, start + period
        txn, diamonds = _pay(ctx, policy, row, renewal=True)
        row.renewals += 1
        batch.save_row(ctx, row)
        viewer = batch.user(ctx, row.subscriber_id)
        assert viewer is not None
        _announce_on_air(ctx, viewer, row, txn, diamonds, renewal=True)
        return {
            "outcome": "renewed",
            "transaction_id": str(txn.id),
            "period_end": rfc3339(row.period_end),
        }
