"""Request and response models of purchases, refunds and disputes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictInt, model_validator

from giftflow.http.fields import Text
from giftflow.http.schemas import AmountOut, StrictModel
from giftflow.money.amounts import MAX_AMOUNT


class CardIn(StrictModel):
    number: str = Field(
        max_length=23,
        pattern=r"^[0-9 ]+$",
        description="Sandbox only: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is "
        "declined, 4000 0000 0000 0259 succeeds and can be disputed.",
    )


class PurchaseIn(StrictModel):
    """Either ``pack`` (a listed pack's coins) or ``coins`` (a custom amount), not both."""

    pack: StrictInt | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    coins: StrictInt | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    channel: Literal["app", "web"] = "web"
    provider: Literal["sandbox", "stripe", "appstore"] = "sandbox"
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    card: CardIn | None = None

    @model_validator(mode="after")
    def _one_amount(self) -> PurchaseIn:
        if (self.pack is None) == (self.coins is None):
            raise ValueError("give exactly one of pack or coins")
        return self


class PurchaseOut(BaseModel):
    id: str
    object: str = "purchase"
    user_id: str
    state: str
    channel: str
    provider: str
    provider_ref: str | None
    region: str
    coins: AmountOut
    bonus_coins: AmountOut
    price: AmountOut
    store_fee: AmountOut
    pack: bool
    policy_version: str
    failure_reason: str | None
    refund_reason: str | None
    provider_refund_due: bool = Field(
        default=False,
        description="Refunded in giftflow; the provider has not yet confirmed paying it back "
        "(the maintenance loop keeps asking).",
    )
    created_at: str
    succeeded_at: str | None
    remaining_coins: int | None = None
    client_secret: str | None = Field(
        default=None, description="Stripe: for the buyer's app to confirm the payment."
    )


class PurchasesPage(BaseModel):
    object: str = "list"
    data: list[PurchaseOut]
    next_cursor: str | None


class RefundIn(StrictModel):
    reason: Text = Field(min_length=1, max_length=500, examples=["bought by accident"])


class DisputeActionIn(StrictModel):
    action: Literal["open", "won", "lost"]


class EventResultOut(BaseModel):
    outcome: str
    purchase_id: str | None


class DisputeOut(BaseModel):
    id: str
    object: str = "dispute"
    purchase_id: str
    user_id: str
    state: str
    coins_removed: int
    bonus_removed: int
    coins_spent: int
    receivable: AmountOut
    note: str | None
    created_at: str
    closed_at: str | None


class DisputesPage(BaseModel):
    object: str = "list"
    data: list[DisputeOut]
    next_cursor: str | None = None


class SettleIn(StrictModel):
    note: Text = Field(min_length=1, max_length=500)


class SettledOut(BaseModel):
    id: str
    object: str = "dispute"
    state: str


class PaymentEventOut(BaseModel):
    object: str = "payment_event"
    provider: str
    event_id: str
    event_type: str
    purchase_id: str | None
    outcome: str
    received_at: str


class PaymentEventsPage(BaseModel):
    object: str = "list"
    data: list[PaymentEventOut]
    next_cursor: str | None = None
