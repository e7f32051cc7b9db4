"""Request and response models of withdrawals and the payout queue."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StrictInt, StringConstraints, model_validator

from giftflow.earnings.identity.schemas import SecondFactorCode
from giftflow.http.fields import Text
from giftflow.http.schemas import AmountOut, StrictModel
from giftflow.money.amounts import MAX_AMOUNT


class WithdrawalIn(StrictModel):
    """Exactly one of ``amount_minor`` (gross, in the policy's cash-out currency) and
    ``diamonds`` (hundredths)."""

    amount_minor: Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)] | None = Field(
        default=None,
        description="Gross fiat to withdraw, in minor units (10000 = $100.00): the fewest "
        "diamonds worth it are taken.",
        examples=[10000],
    )
    diamonds: Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)] | None = Field(
        default=None,
        description="Hundredths of a diamond to cash out (41650 = 416.50); only the part that "
        "converts to whole minor units is taken, the rest stays.",
        examples=[41650],
    )
    method_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,18}$")] = Field(
        description="One of the caller's payout methods (GET /v1/payout-methods)."
    )
    totp: SecondFactorCode  # the same shape as everywhere a second factor is asked for

    @model_validator(mode="after")
    def _one_amount(self) -> WithdrawalIn:
        if (self.amount_minor is None) == (self.diamonds is None):
            raise ValueError("give exactly one of amount_minor and diamonds")
        return self


class NoteIn(StrictModel):
    note: Text | None = Field(default=None, max_length=500, description="Why (kept in history).")


class RejectIn(StrictModel):
    reason: Text = Field(min_length=1, max_length=500, description="Why; shown to the creator.")


class HistoryOut(BaseModel):
    state: str
    at: str
    note: str | None
    transaction_id: str | None


class WithdrawalOut(BaseModel):
    object: str = "withdrawal"
    id: str = Field(description="Also the payout provider's idempotency key (sender_batch_id).")
    user_id: str
    state: str
    method_id: str
    provider: str
    provider_ref: str | None
    diamonds: AmountOut = Field(description="Diamonds taken (reserved until paid).")
    gross: AmountOut = Field(description="What those diamonds are worth.")
    fee: AmountOut = Field(description="Cash-out fee (policy basis points, rounded down).")
    net: AmountOut = Field(description="What the creator receives: gross − fee.")
    policy_version: str
    local_day: str = Field(description="The day (policy time zone) the limits count it on.")
    expected_payment_on: str | None
    failure_reason: str | None
    created_at: str
    updated_at: str
    history: list[HistoryOut]


class WithdrawalCreatedOut(WithdrawalOut):
    kept: AmountOut = Field(description="Diamonds asked for that did not convert: they stay.")
    diamonds_available: AmountOut = Field(description="Available diamonds after the request.")


class WithdrawalsPage(BaseModel):
    data: list[WithdrawalOut]
    next_cursor: str | None


class PayoutWebhookOut(BaseModel):
    received: bool = True
    outcome: str
