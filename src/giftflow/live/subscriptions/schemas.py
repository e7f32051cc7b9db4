"""Request and response models of subscriptions and plans."""

from __future__ import annotations

from pydantic import BaseModel, Field, StrictInt

from giftflow.http.schemas import AmountOut, StrictModel
from giftflow.ids import UserId


class PlanIn(StrictModel):
    price_coins: StrictInt = Field(
        ge=1,
        le=10**12,
        description="The price of one period in coins, within the policy's "
        "subscriptions.min_price_coins and max_price_coins.",
        examples=[100],
    )


class PlanOut(BaseModel):
    object: str = "subscription_plan"
    creator_id: str
    price: AmountOut = Field(description="Coins charged at the start of every period.")
    period_days: int
    creator_share_percent: int = Field(description="The creator's share of the coins, as diamonds.")
    available: bool = Field(description="False while the policy in force disables subscriptions.")
    updated_at: str


class SubscribeIn(StrictModel):
    creator_id: UserId


class SubscriptionOut(BaseModel):
    id: str
    object: str = "subscription"
    subscriber_id: str
    creator_id: str
    state: str = Field(description="active, canceled (runs to period_end) or expired.")
    in_force: bool = Field(
        description="Whether the subscription counts now (subscriber-only lives, gifts)."
    )
    price: AmountOut = Field(description="What the current period cost.")
    period_start: str
    period_end: str
    renews_at: str | None = Field(description="When renewal is due (active only).")
    renewals: int
    canceled_at: str | None
    policy_version: str
    created_at: str
    updated_at: str


class SubscribedOut(SubscriptionOut):
    transaction_id: str
    coins: AmountOut = Field(description="Coins paid for the first period.")
    diamonds: AmountOut = Field(description="Diamonds credited to the creator (hundredths).")
    balance: AmountOut = Field(description="The subscriber's coins left (all sub-accounts).")
    seq: int | None = Field(
        description="The subscription event's sequence on the creator's room, if they are live."
    )


class SubscriptionsOut(BaseModel):
    object: str = "list"
    data: list[SubscriptionOut]
    next_cursor: str | None = None
