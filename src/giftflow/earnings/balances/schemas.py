"""Request and response models of the earnings view, clawbacks and statements."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StrictInt, StringConstraints

from giftflow.http.fields import Text
from giftflow.http.schemas import AmountOut, StrictModel
from giftflow.money.amounts import MAX_AMOUNT

Hundredths = Annotated[
    StrictInt, Field(gt=0, le=MAX_AMOUNT, description="Hundredths of a diamond (4250 = 42.50).")
]
PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


# --- the earnings view -------------------------------------------------------------------------
class FiatValueOut(BaseModel):
    """What diamonds would pay at the policy's cash-out rate now: only ``convertible`` diamonds
    convert to whole minor units (the rest, ``remainder``, would stay); ``gross = fee + net``."""

    convertible: AmountOut
    remainder: AmountOut
    gross: AmountOut
    fee: AmountOut
    net: AmountOut


class DiamondsOut(BaseModel):
    diamonds: AmountOut
    value: FiatValueOut


class ReleaseOut(BaseModel):
    """One hold bucket: diamonds that become available on ``release_on`` (the policy's time
    zone), when the release job next runs from ``releases_at`` on."""

    release_on: str
    releases_at: str
    diamonds: AmountOut
    value: FiatValueOut


class LifetimeOut(BaseModel):
    """Totals since the first posting, from the ledger (withdrawn: from the withdrawals whose
    diamonds did not come back)."""

    earned: AmountOut = Field(
        description="Diamonds credited by gifts and subscriptions (held or not)."
    )
    released: AmountOut = Field(description="Diamonds moved out of the hold by the release job.")
    clawed_back: AmountOut
    exchanged: AmountOut = Field(description="Diamonds exchanged for coins.")
    exchanged_coins: AmountOut = Field(description="Coins those exchanges credited.")
    withdrawn: AmountOut
    withdrawals: int


class LimitsOut(BaseModel):
    """The policy's withdrawal limits (gross, in its cash-out currency; null: no limit) and
    what is left of them today and this ISO week in the policy's time zone."""

    currency: str
    minimum: AmountOut | None
    maximum_per_day: AmountOut | None
    maximum_per_week: AmountOut | None
    day: str
    week_starts_on: str
    used_today: AmountOut
    used_this_week: AmountOut
    left_today: AmountOut | None
    left_this_week: AmountOut | None


class EarningsOut(BaseModel):
    object: str = "earnings"
    creator_id: str
    policy_version: str
    currency: str
    hold_days: int
    available: DiamondsOut
    held: DiamondsOut
    releases: list[ReleaseOut] = Field(description="The hold by release date, soonest first.")
    unscheduled: AmountOut = Field(
        description="Held diamonds in no bucket (an operator's transfer into the hold account): "
        "the release job never moves them."
    )
    lifetime: LifetimeOut
    withdrawal_limits: LimitsOut
    as_of: str


# --- clawbacks ---------------------------------------------------------------------------------
class ClawbackIn(StrictModel):
    diamonds: Hundredths
    reason: Annotated[Text, StringConstraints(min_length=1, max_length=500)] = Field(
        examples=["dispute on the gifts of live 12"]
    )


class BucketTakenOut(BaseModel):
    release_on: str
    taken: AmountOut
    left: AmountOut


class ClawbackOut(BaseModel):
    object: str = "clawback"
    transaction_id: str
    creator_id: str
    diamonds: AmountOut
    reason: str
    buckets: list[BucketTakenOut] = Field(description="Buckets reduced, newest first.")
    held: AmountOut = Field(description="What the creator still holds in the hold account.")
    policy_version: str
    created_at: str


# --- statements --------------------------------------------------------------------------------
class StatementLiveOut(BaseModel):
    live_id: str | None
    title: str | None
    started_at: str | None
    sends: int = Field(description="Gift transactions.")
    gifts: int = Field(description="Gifts sent (a send of 5 Roses counts 5).")
    coins: AmountOut
    diamonds: AmountOut


class StatementDiamondsOut(BaseModel):
    earned: AmountOut = Field(description="Credited by gifts and subscriptions in the period.")
    held: AmountOut = Field(description="Of those, credited into the earnings hold.")
    released: AmountOut
    clawed_back: AmountOut
    exchanged: AmountOut
    exchanged_coins: AmountOut
    withdrawn: AmountOut


class StatementAccountOut(BaseModel):
    """One of the creator's diamond accounts over the period: ``opening + credits - debits =
    closing``."""

    account: str
    opening: AmountOut
    credits: AmountOut
    debits: AmountOut
    closing: AmountOut


class StatementKindOut(BaseModel):
    account: str
    kind: str
    credits: AmountOut
    debits: AmountOut


class StatementWithdrawalsOut(BaseModel):
    currency: str
    count: int
    diamonds: AmountOut
    gross: AmountOut
    fees: AmountOut
    net: AmountOut


class StatementOut(BaseModel):
    object: str = "statement"
    creator_id: str
    period: str
    timezone: str
    starts_at: str
    ends_at: str
    as_of: str = Field(description="The period's end, or now if it has not ended.")
    diamonds: StatementDiamondsOut
    accounts: list[StatementAccountOut]
    movements: list[StatementKindOut] = Field(description="Per account and transaction kind.")
    withdrawals: list[StatementWithdrawalsOut] = Field(
        description="Requested in the period and not failed, returned or reversed."
    )
    lives: list[StatementLiveOut] = Field(description="Gifts received, by live.")
