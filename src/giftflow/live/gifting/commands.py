"""Sending a gift: one command, one transaction, one room event, in the writer's batch.

``SendGift`` (all inside the batch, so every check and the money move are one atomic step):

1. the live (its room locked, ``live_not_active`` once ended), the gift (``unknown_gift``,
   ``gift_unavailable`` for the viewer's region or outside its window), the viewer
   (``self_gift``, ``account_frozen``, ``age_restricted``) and the creator
   (``creator_not_eligible``: followers, age, frozen — under the policy in force now);
2. ``spend``: price × count coins from the viewer (bonus, exchanged, then paid coins, lots oldest
   first; frozen wallet, spending caps, ``insufficient_funds``) to ``platform:revenue:gifts``,
   and in the same transaction ``platform:diamonds:issued → creator:{c}:diamonds`` at the
   policy's share, exact in hundredths — into ``creator:{c}:diamonds:pending`` and the hold bucket
   of its release date when the policy holds earnings;
3. the combo (a streakable gift sent again by the same viewer within the policy's window keeps
   its ``combo_id`` and counts on), the room's ``gift`` event with its sequence number, and the
   live's totals.

A refusal raises before anything is staged or is rolled back with the command: nothing moves.
Streaks end in ``live.rooms.combos`` (``CloseCombos``, and when the live ends).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from giftflow.clock import rfc3339
from giftflow.errors import (
    AccountFrozen,
    AgeRestricted,
    CreatorNotEligible,
    GiftUnavailable,
    LiveNotActive,
    NotFound,
    RecipientNotInLive,
    SelfGift,
    SubscribersOnly,
    UnknownGift,
)
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.model import AccountRef, Posting
from giftflow.live.catalog.model import (
    GiftBatchRepository,
    GiftRow,
    announce_gift,
    unavailable_reason,
)
from giftflow.live.cohosts import batch as cohosts
from giftflow.live.gifting.hooks import GiftFact, GiftIntent, hooks
from giftflow.live.rooms import batch as rooms
from giftflow.live.rooms.combos import (
    ComboRow,
    announce_combo,
    end_combo,
    gift_view,
    load_combo,
    save_combo,
    sender_view,
)
from giftflow.live.rooms.model import LiveState, age_problem, ineligibility
from giftflow.live.rooms.repository import LIVE_WRITES
from giftflow.live.subscriptions import batch as subscriptions
from giftflow.money.amounts import amount_view
from giftflow.money.policy import Policy
from giftflow.realtime import outbox
from giftflow.wallet.purchases.batch import SpendCaps, coin_accounts, spend, spend_hints
from giftflow.wallet.purchases.caps import spending_rules

REVENUE = "platform:revenue:gifts"
ISSUED = "platform:diamonds:issued"
TXN_KIND = "gift"


def diamonds_account(policy: Policy, creator_id: str) -> str:
    """Where a gift's diamonds go: the hold when the policy holds new earnings."""
    held = policy.cashout.hold_days > 0
    return f"creator:{creator_id}:diamonds:pending" if held else f"creator:{creator_id}:diamonds"


# --- sending -----------------------------------------------------------------------------------
class _Terms:
    """What a policy makes of the batch's time, worked out once per batch (and policy version)
    instead of once per gift: the local day, the hold's release date, the spending caps by region,
    the version label and the response's ``created_at``."""

    __slots__ = ("_caps", "created_at", "policy", "release_on", "today", "version_label")

    def __init__(self, policy: Policy, now: datetime) -> None:
        self.policy = policy
        self.today = policy.local_date(now)
        hold = policy.cashout.hold_days
        self.release_on = self.today + timedelta(days=hold) if hold > 0 else None
        self.version_label = policy.version_label
        self.created_at = rfc3339(now)
        self._caps: dict[str, SpendCaps] = {}

    def caps(self, region: str) -> SpendCaps:
        found = self._caps.get(region)
        if found is None:
            found = SpendCaps(spending_rules(self.policy, region), self.policy.timezone)
            self._caps[region] = found
        return found


def _terms(ctx: BatchContext, policy: Policy) -> _Terms:
    # keyed by the version (a stored version never changes) and checked to be this very policy
    key = ("gift.terms", policy.id, policy.version)
    found: _Terms | None = ctx.book.memo.get(key)
    if found is None or found.policy is not policy:
        found = ctx.book.memo[key] = _Terms(policy, ctx.now)  # derived, not an effect
    return found


@dataclass(frozen=True, slots=True)
class GiftOrder:
    live_id: int
    user_id: str
    gift_id: str
    count: int
    recipient: str | None = None  # a co-host; None: the live's host


class SendGift(Command):
    kind = "live.gift.send"

    def __init__(self, order: GiftOrder, *, policy: Policy) -> None:
        self.order = order
        self.policy = policy

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        o = self.order
        creator = rooms.creator_of(ctx, o.live_id)
        if creator is None:
            raise NotFound("No such live.", id=str(o.live_id))
        recipient = o.recipient or creator
        rooms.announce(ctx, o.live_id, o.user_id, recipient)
        if recipient != creator:
            cohosts.announce(ctx, o.live_id)
        subscriptions.announce(ctx, o.user_id, creator)  # read only for subscriber-only lives
        announce_combo(ctx, (o.live_id, o.user_id, o.gift_id))
        announce_gift(ctx, o.gift_id)
        yield from spend_hints(ctx, o.user_id, REVENUE)
        yield ctx.book.debit_ref(ISSUED, "DIAMOND")
        yield ctx.book.key_for(diamonds_account(self.policy, recipient), "DIAMOND")
        intent = GiftIntent(o.live_id, creator, recipient, o.user_id, o.gift_id, o.count)
        for hook in hooks():
            yield from hook.announce(ctx, intent)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        o, policy = self.order, self.policy
        live = rooms.live(ctx, o.live_id)
        if live.state is not LiveState.ACTIVE:
            raise LiveNotActive(live_id=str(live.id))
        gift = ctx.repository(GiftBatchRepository).gift(o.gift_id)
        if gift is None:
            raise UnknownGift(f"No gift {o.gift_id!r} in the catalog.", gift_id=o.gift_id)
        recipient = o.recipient or live.creator_id
        if recipient != live.creator_id and not cohosts.is_cohost(ctx, live.id, recipient):
            raise RecipientNotInLive(live_id=str(live.id), recipient=recipient)
        if o.user_id == recipient:
            raise SelfGift(live_id=str(live.id))
        if (
            live.subscribers_only
            and o.user_id != live.creator_id
            and not subscriptions.is_subscriber(ctx, o.user_id, live.creator_id)
        ):
            raise SubscribersOnly(live_id=str(live.id), creator_id=live.creator_id)
        viewer = rooms.user(ctx, o.user_id)
        if viewer is None:
            raise NotFound("No such user.", id=o.user_id)
        reason = unavailable_reason(gift, viewer.region, ctx.now)
        if reason is not None:
            raise GiftUnavailable(gift_id=gift.id, reason=reason)
        if viewer.frozen:
            raise AccountFrozen("This account is frozen.", frozen="account")
        terms = _terms(ctx, policy)
        today = terms.today
        too_young = age_problem(viewer, policy.age.minimum_to_send, today)
        if too_young is not None:
            raise AgeRestricted(reason=too_young, minimum_age=policy.age.minimum_to_send)
        creator = rooms.user(ctx, recipient)
        not_eligible = ineligibility(creator, policy, today)
        if not_eligible is not None:
            raise CreatorNotEligible(
                reason=not_eligible,
                creator_id=recipient,
                followers_needed=policy.gifts.followers_to_receive,
            )
        coins = gift.price_coins * o.count
        diamonds = policy.gift_diamonds(coins)
        credit = diamonds_account(policy, recipient)
        extra = [Posting(ISSUED, credit, "DIAMOND", diamonds)] if diamonds else []
        txn = spend(
            ctx,
            user_id=o.user_id,
            coins=coins,
            destination=REVENUE,
            kind=TXN_KIND,
            policy_version=terms.version_label,
            caps=terms.caps(viewer.region or "*"),
            meta={
                "live": str(live.id),
                "gift": gift.id,
                "count": str(o.count),
                **({"recipient": recipient} if recipient != live.creator_id else {}),
            },
            extra=extra,
        )
        if diamonds and terms.release_on is not None:
            ctx.book.stage(LIVE_WRITES, ("hold", (recipient, terms.release_on, diamonds)))
        combo_id, combo_count, combo_end = self._combo(ctx, gift, coins)
        seq = outbox.append(
            ctx,
            live.id,
            "gift",
            {
                "sender": sender_view(viewer),
                "gift": gift_view(gift),
                "count": o.count,
                "coins": coins,
                "diamonds": diamonds,
                "combo_id": combo_id,
                "combo_count": combo_count,
                "combo_end": combo_end,
                "recipient_id": recipient,
                "transaction_id": str(txn.id),
            },
        )
        fact = GiftFact(
            live_id=live.id,
            host_id=live.creator_id,
            recipient_id=recipient,
            viewer_id=o.user_id,
            gift_id=gift.id,
            count=o.count,
            coins=coins,
            diamonds=diamonds,
            seq=seq,
            txn_id=txn.id,
            at=ctx.now,
            today=today,
            policy=policy,
        )
        for hook in hooks():
            hook.observe(ctx, fact)
        live.gifts_count += o.count
        live.coins_total += coins
        live.diamonds_total += diamonds
        rooms.save_live(ctx, live)
        balance = sum(ctx.book.balance(path, "COIN") for path in coin_accounts(o.user_id))
        return {
            "object": "gift",
            "transaction_id": str(txn.id),
            "live_id": str(live.id),
            "gift_id": gift.id,
            "count": o.count,
            "coins": amount_view("COIN", coins),
            "diamonds": amount_view("DIAMOND", diamonds),
            "balance": amount_view("COIN", balance),
            "seq": seq,
            "combo_id": combo_id,
            "combo_count": combo_count,
            "policy_version": terms.version_label,
            "created_at": terms.created_at,
        }

    def _combo(self, ctx: BatchContext, gift: GiftRow, coins: int) -> tuple[str | None, int, bool]:
        o = self.order
        if not gift.streakable:
            return None, o.count, True
        key = (o.live_id, o.user_id, gift.id)
        window = timedelta(milliseconds=self.policy.gifts.combo_window_ms)
        combo = load_combo(ctx, key)
        if combo is not None and ctx.now - combo.last_at > window:
            end_combo(ctx, combo, gift)  # the old streak ended before this send
            combo = None
        if combo is None:
            combo = ComboRow(o.live_id, o.user_id, gift.id, ctx.book.next_id(), 0, 0, ctx.now)
        combo.combo_count += o.count
        combo.coins += coins
        combo.last_at = ctx.now
        save_combo(ctx, key, combo)
        return str(combo.combo_id), combo.combo_count, False
