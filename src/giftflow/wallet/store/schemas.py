"""Coin store response models: the packs of a price list, the custom-amount rule, a quote."""

from __future__ import annotations

from pydantic import BaseModel, Field

from giftflow.http.schemas import AmountOut


class PackOut(BaseModel):
    """One listed pack: its price, the app store's share of it, and the bonus it would earn."""

    coins: int
    price: AmountOut
    bonus_coins: int = Field(description="Bonus coins this purchase would earn now.")
    bonus_reasons: list[str] = Field(examples=[["first_purchase", "campaign:launch-week"]])
    store_fee: AmountOut = Field(description="The app store's fee (rounded down); 0 on the web.")


class CustomAmountOut(BaseModel):
    """Any other amount from ``min_coins`` to ``max_coins`` costs ``unit_price`` per
    ``unit_coins``, rounded up to the currency's minor unit."""

    unit_price: AmountOut
    unit_coins: int
    min_coins: int
    max_coins: int
    rounding: str = "up"


class CoinPacksOut(BaseModel):
    object: str = "coin_packs"
    region: str = Field(description="The buyer's region (`*` when unknown).")
    price_list_region: str = Field(description="The list's region: the buyer's own, or `*`.")
    channel: str
    currency: str
    policy_version: str
    first_purchase: bool = Field(description="Whether the buyer's next purchase is their first.")
    packs: list[PackOut]
    custom: CustomAmountOut


class QuoteOut(BaseModel):
    """What a custom amount costs and earns now; the purchase prices it the same way."""

    object: str = "coin_quote"
    region: str
    channel: str
    currency: str
    policy_version: str
    first_purchase: bool
    coins: int
    pack: bool
    price: AmountOut
    store_fee: AmountOut
    bonus_coins: int
    bonus_reasons: list[str]
