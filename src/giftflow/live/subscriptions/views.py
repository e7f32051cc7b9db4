"""JSON shapes of a subscription and a plan, shared by the commands' answers and the reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from giftflow.clock import rfc3339
from giftflow.live.subscriptions.repository import ACTIVE, PlanRow, SubscriptionRow
from giftflow.money.amounts import amount_view
from giftflow.money.policy import Policy


def subscription_view(row: SubscriptionRow, now: datetime) -> dict[str, Any]:
    in_force = row.in_force(now)
    return {
        "id": str(row.id),
        "object": "subscription",
        "subscriber_id": row.subscriber_id,
        "creator_id": row.creator_id,
        "state": row.state,
        "in_force": in_force,
        "price": amount_view("COIN", row.price_coins),
        "period_start": rfc3339(row.period_start),
        "period_end": rfc3339(row.period_end),
        "renews_at": rfc3339(row.period_end) if row.state == ACTIVE else None,
        "renewals": row.renewals,
        "canceled_at": rfc3339(row.canceled_at) if row.canceled_at else None,
        "policy_version": row.policy_version,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
    }


def share_percent(policy: Policy) -> int:
    """The creator's share of a subscription's coins, as diamonds: the subscriptions' own share,
    or the gifts' when the policy sets none."""
    share = policy.subscriptions.creator_share_percent
    return policy.gifts.creator_share_percent if share is None else share


def plan_view(plan: PlanRow, policy: Policy) -> dict[str, Any]:
    rules = policy.subscriptions
    return {
        "object": "subscription_plan",
        "creator_id": plan.creator_id,
        "price": amount_view("COIN", plan.price_coins),
        "period_days": rules.period_days,
        "creator_share_percent": share_percent(policy),
        "available": rules.enabled,
        "updated_at": rfc3339(plan.updated_at),
    }
