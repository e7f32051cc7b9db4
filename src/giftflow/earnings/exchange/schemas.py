"""Request and response models of diamonds → coins exchanges."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StrictInt

from giftflow.http.schemas import AmountOut, StrictModel
from giftflow.money.amounts import MAX_AMOUNT


class ExchangeIn(StrictModel):
    diamonds: Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)] = Field(
        description="Hundredths of a diamond to exchange (1300 = 13.00 diamonds); only whole "
        "multiples of the policy's ratio are exchanged, the rest stays.",
        examples=[1300],
    )


class RateOut(BaseModel):
    diamonds: AmountOut
    coins: AmountOut


class ExchangeOut(BaseModel):
    object: str = "exchange"
    transaction_id: str
    user_id: str
    requested: AmountOut = Field(description="Diamonds asked to exchange.")
    exchanged: AmountOut = Field(description="Diamonds taken: whole multiples of the ratio.")
    kept: AmountOut = Field(description="What was asked but stays available (the remainder).")
    coins: AmountOut = Field(description="Coins credited to user:{id}:coins:exchanged.")
    rate: RateOut
    diamonds_available: AmountOut = Field(description="Available diamonds after the exchange.")
    exchanged_coins: AmountOut = Field(description="The exchanged-coins balance after it.")
    policy_version: str
    created_at: str
