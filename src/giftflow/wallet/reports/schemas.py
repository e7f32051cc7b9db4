"""Response models of the wallet finance report (``GET /v1/admin/reports/wallet``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from giftflow.http.schemas import AmountOut


class WalletDayOut(BaseModel):
    """One local day in one currency: the purchase flows of the ledger that day."""

    date: str = Field(description="The calendar day (YYYY-MM-DD) in the policy's time zone.")
    currency: str
    purchases: int = Field(description="Purchases that succeeded (credited) that day.")
    gross: AmountOut = Field(description="What buyers paid for them: the sum of their prices.")
    coins_sold: int = Field(description="Paid coins credited by those purchases.")
    bonus_coins: int = Field(description="Bonus coins granted with them.")
    revenue: AmountOut = Field(
        description="Recognised at purchase, net of store fees (postings into "
        "platform:revenue:coins)."
    )
    store_fees: AmountOut = Field(description="Postings into platform:fees:store.")
    refunds: int = Field(description="Refunds, by giftflow or by the provider on its own.")
    refunded: AmountOut = Field(description="Money returned by those refunds.")
    disputes_opened: int
    disputed: AmountOut = Field(description="Money the providers took back on opened disputes.")
    disputes_won: int
    won_back: AmountOut = Field(description="Money that came back with won disputes.")
    receivables_created: AmountOut = Field(
        description="What buyers came to owe for coins spent before a chargeback."
    )
    receivables_recovered: AmountOut = Field(description="Cleared by won disputes.")
    receivables_written_off: AmountOut = Field(description="Written off by operators.")


class DeferredRevenueOut(BaseModel):
    currency: str
    deferred_revenue: AmountOut = Field(
        description="Unspent paid coins valued at their lot's price, rounded down per lot."
    )
    unspent_paid_coins: int
    lots: int = Field(description="Lots with unspent paid coins.")


class WalletClosingOut(BaseModel):
    """The snapshot at the end of the period."""

    as_of: str = Field(description="The end of `to` (or now, if that is still to come).")
    deferred_revenue: list[DeferredRevenueOut]
    bonus_coins_outstanding: int = Field(
        description="Sum of every user's bonus coin balance: a current figure."
    )
    bonus_coins_as_of: str
    notes: list[str]


class WalletReportOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    object: Literal["wallet_report"] = "wallet_report"
    from_: str = Field(alias="from")
    to: str
    timezone: str
    generated_at: str
    days: list[WalletDayOut] = Field(
        description="One row per day and currency with any activity, by date then currency."
    )
    closing: WalletClosingOut
