"""Response models of the finance report (``GET /v1/admin/reports/finance``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MoneyOut(BaseModel):
    amount_minor: int = Field(description="In the currency's minor unit (cents, yen, fils).")
    currency: str
    display: str = Field(examples=["12.34"])


class FiguresOut(BaseModel):
    """One currency's figures over a bucket (flows) or at its end (balances)."""

    purchases: MoneyOut = Field(description="Gross paid for coins (`purchase`: out of cash).")
    store_fees: MoneyOut = Field(description="App stores' fees on those purchases.")
    revenue_recognised: MoneyOut = Field(
        description="Paid coins spent on gifts, items and subscriptions, at their lots' price."
    )
    deferred_revenue: MoneyOut = Field(
        description="Balance at the end: unspent paid coins at their lots' price."
    )
    creator_liability_held: MoneyOut = Field(
        description="Balance at the end: diamonds in the earnings hold, at the cash-out value."
    )
    creator_liability_available: MoneyOut = Field(
        description="Balance at the end: creators' available diamonds, at the cash-out value."
    )
    creator_liability_in_payout: MoneyOut = Field(
        description="Balance at the end: diamonds reserved by withdrawals not yet paid."
    )
    payouts: MoneyOut = Field(description="Paid to creators, net of payouts returned after paid.")
    cashout_fees: MoneyOut = Field(description="Cash-out fees booked, net of those given back.")
    refunds: MoneyOut = Field(description="Returned to buyers by giftflow's refunds.")
    chargebacks: MoneyOut = Field(
        description="Taken back by providers (disputes, their own refunds), net of disputes won."
    )
    receivables: MoneyOut = Field(
        description="Increase of what users owe after chargebacks (created − recovered − "
        "written off)."
    )


class TakeRateOut(BaseModel):
    basis_points: int | None = Field(
        description="(revenue recognised − creator liability accrued) × 10,000 ÷ revenue "
        "recognised, rounded down; null without revenue, or in a currency other than the "
        "cash-out currency."
    )
    display: str = Field(examples=["52.30%", "n/a"])
    creator_liability_accrued: MoneyOut | None = Field(
        description="The diamonds credited for the paid coins behind that revenue, at the "
        "cash-out value (null outside the cash-out currency)."
    )


class BucketOut(BaseModel):
    start: str = Field(description="First day of the bucket (YYYY-MM-DD, policy time zone).")
    end: str = Field(description="The day after its last (exclusive).")
    figures: FiguresOut
    take_rate: TakeRateOut


class CurrencyReportOut(BaseModel):
    currency: str
    totals: FiguresOut = Field(
        description="Flows summed over the period; balances at the end of the period."
    )
    take_rate: TakeRateOut
    buckets: list[BucketOut]


class FinanceReportOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    object: Literal["finance_report"] = "finance_report"
    from_: str = Field(alias="from", description="First day (YYYY-MM-DD), included.")
    to: str = Field(description="The day after the last one (exclusive).")
    bucket: Literal["day", "week", "month"]
    timezone: str = Field(description="The policy's time zone, in which days begin.")
    generated_at: str
    currencies: list[CurrencyReportOut]
