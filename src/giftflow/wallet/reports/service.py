"""The wallet finance report: which postings make each figure, the period's local days, the
valuation of unspent lots, and the JSON and CSV renderings (pure functions, but the one that
reads).

A figure is a sum of ledger postings chosen by transaction kind, account class and asset
(``AMOUNTS``; the classes are the repository's) or a count of transactions by kind (``COUNTS``):

=========================  ===================================================================
purchases, gross           ``purchase`` transactions; the postings out of ``platform:cash:*``
                           (= each purchase's price; the transaction is written when the
                           purchase succeeds, so its time is the purchase's ``succeeded_at``)
coins_sold, bonus_coins    ``purchase``: ``platform:coins:issued`` → ``user:*:coins`` / ``:bonus``
revenue, store_fees        ``purchase``: cash → ``platform:revenue:coins`` / ``platform:fees:store``
refunds, refunded          ``purchase_refund`` and ``purchase_provider_refund``: into cash
disputes_opened, disputed  ``purchase_dispute``: into cash (the provider took the price back)
disputes_won, won_back     ``purchase_dispute_won``: out of cash
receivables_created        ``purchase_dispute``, ``purchase_provider_refund``: out of
                           ``platform:receivable:*``
receivables_recovered      ``purchase_dispute_won``: into ``platform:receivable:*``
receivables_written_off    ``receivable_writeoff``: into ``platform:receivable:*``
=========================  ===================================================================

The closing snapshot: **deferred revenue** values each lot's unspent paid coins ``r`` at the
lot's price, ``r * price_minor // coins``, rounded down per lot (in the buyer's favour, as every
division in giftflow): an untouched lot is worth exactly its price, and the total is the exact
sum of those integers. **Bonus coins outstanding** is the sum of every bonus balance now.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.errors import ValidationFailed
from giftflow.http.schemas import AmountOut
from giftflow.money.amounts import amount_view
from giftflow.reporting.lots import (
    COIN,
    DISPUTE,
    DISPUTE_WON,
    PROVIDER_REFUND,
    PURCHASE,
    REFUND,
    LotGroup,
)
from giftflow.wallet.purchases.schemas import PurchaseOut, PurchasesPage
from giftflow.wallet.purchases.views import purchase_view
from giftflow.wallet.reports import repository
from giftflow.wallet.reports.repository import (
    WRITEOFF,
    Flow,
    KindCount,
    ReportData,
)
from giftflow.wallet.reports.schemas import (
    DeferredRevenueOut,
    WalletClosingOut,
    WalletDayOut,
    WalletReportOut,
)

MAX_DAYS = 366


@dataclass(frozen=True, slots=True)
class Rule:
    """The postings of a figure: of these kinds, in COIN or in the fiat currency, from and to
    these account classes (None: any)."""

    kinds: frozenset[str]
    coin: bool = False
    source: str | None = None
    destination: str | None = None

    def matches(self, flow: Flow) -> bool:
        return (
            flow.kind in self.kinds
            and (flow.asset == COIN) == self.coin
            and self.source in (None, flow.source)
            and self.destination in (None, flow.destination)
        )


def _kinds(*kinds: str) -> frozenset[str]:
    return frozenset(kinds)


AMOUNTS: dict[str, Rule] = {
    "gross": Rule(_kinds(PURCHASE), source="cash"),
    "coins_sold": Rule(_kinds(PURCHASE), coin=True, source="issued", destination="paid"),
    "bonus_coins": Rule(_kinds(PURCHASE), coin=True, source="issued", destination="bonus"),
    "revenue": Rule(_kinds(PURCHASE), source="cash", destination="revenue"),
    "store_fees": Rule(_kinds(PURCHASE), source="cash", destination="fees"),
    "refunded": Rule(_kinds(REFUND, PROVIDER_REFUND), destination="cash"),
    "disputed": Rule(_kinds(DISPUTE), destination="cash"),
    "won_back": Rule(_kinds(DISPUTE_WON), source="cash"),
    "receivables_created": Rule(_kinds(DISPUTE, PROVIDER_REFUND), source="receivable"),
    "receivables_recovered": Rule(_kinds(DISPUTE_WON), destination="receivable"),
    "receivables_written_off": Rule(_kinds(WRITEOFF), destination="receivable"),
}
COUNTS: dict[str, frozenset[str]] = {
    "purchases": _kinds(PURCHASE),
    "refunds": _kinds(REFUND, PROVIDER_REFUND),
    "disputes_opened": _kinds(DISPUTE),
    "disputes_won": _kinds(DISPUTE_WON),
}
# the order of the figures in a day row (JSON and CSV)
FIGURES = (
    "purchases",
    "gross",
    "coins_sold",
    "bonus_coins",
    "revenue",
    "store_fees",
    "refunds",
    "refunded",
    "disputes_opened",
    "disputed",
    "disputes_won",
    "won_back",
    "receivables_created",
    "receivables_recovered",
    "receivables_written_off",
)
MONEY = frozenset(name for name, rule in AMOUNTS.items() if not rule.coin)


# --- the period --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Period:
    """Calendar days ``first`` … ``last`` in ``timezone``; ``bounds`` are the UTC instants where
    each day begins, then where the last one ends (one more than the days)."""

    first: date
    last: date
    timezone: str
    bounds: tuple[datetime, ...]

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(len(self.bounds) - 1)]

    @property
    def end(self) -> datetime:
        return self.bounds[-1]


def period(first: date, last: date, timezone: str) -> Period:
    """The report's days; refuses a reversed range or one longer than ``MAX_DAYS``."""
    if last < first:
        raise ValidationFailed("'to' is before 'from'.", **{"from": str(first), "to": str(last)})
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise ValidationFailed(
            f"A report covers at most {MAX_DAYS} days; this range has {count}.",
            days=count,
            maximum=MAX_DAYS,
        )
    zone = ZoneInfo(timezone)
    try:
        bounds = tuple(
            datetime.combine(first + timedelta(days=i), time(0), tzinfo=zone).astimezone(UTC)
            for i in range(count + 1)
        )
    except OverflowError:
        raise ValidationFailed(
            "The range is outside the dates giftflow can report on.",
            **{"from": str(first), "to": str(last)},
        ) from None
    return Period(first, last, timezone, bounds)


# --- composing the figures ---------------------------------------------------------------------
@dataclass(slots=True)
class DayFigures:
    day: date
    currency: str
    values: dict[str, int]


@dataclass(frozen=True, slots=True)
class Deferred:
    currency: str
    amount: int
    unspent_paid_coins: int
    lots: int


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    generated_at: datetime
    days: list[DayFigures]
    as_of: datetime
    deferred: list[Deferred]
    bonus_outstanding: int
    bonus_as_of: datetime
    notes: list[str]


def compose_days(
    days: Sequence[date], flows: Iterable[Flow], counts: Iterable[KindCount]
) -> list[DayFigures]:
    """One row per (day, currency) with any figure, by day then currency."""
    rows: dict[tuple[int, str], dict[str, int]] = {}

    def row(day: int, currency: str) -> dict[str, int]:
        return rows.setdefault((day, currency), dict.fromkeys(FIGURES, 0))

    for flow in flows:
        for name, rule in AMOUNTS.items():
            if rule.matches(flow):
                row(flow.day, flow.currency)[name] += flow.amount
    for c in counts:
        for name, kinds in COUNTS.items():
            if c.kind in kinds:
                row(c.day, c.currency)[name] += c.transactions
    return [
        DayFigures(days[day], currency, values)
        for (day, currency), values in sorted(rows.items())
        if any(values.values())
    ]


def lot_value(remaining: int, price_minor: int, coins: int) -> int:
    """What ``remaining`` of a lot's ``coins`` paid coins are worth at its price, rounded down."""
    return remaining * price_minor // coins


def deferred_revenue(groups: Iterable[LotGroup]) -> list[Deferred]:
    """Per currency: the lots' unspent paid coins, their value and how many lots hold them."""
    totals: dict[str, tuple[int, int, int]] = {}
    for g in groups:
        amount, coins, lots = totals.get(g.currency, (0, 0, 0))
        totals[g.currency] = (
            amount + g.lots * lot_value(g.remaining, g.price_minor, g.coins),
            coins + g.lots * g.remaining,
            lots + g.lots,
        )
    return [Deferred(ccy, *totals[ccy]) for ccy in sorted(totals)]


def compose(span: Period, data: ReportData, now: datetime) -> Report:
    """The report from what the repository read (``now``: when it was read)."""
    today = now.astimezone(ZoneInfo(span.timezone)).date()
    notes = []
    if span.last != today:
        notes.append(
            f"bonus_coins_outstanding is the sum of the bonus balances now ({rfc3339(now)}), "
            f"not at the end of {span.last.isoformat()}."
        )
    if span.end > now:
        notes.append("The period has not ended yet: the closing figures are as of now.")
    return Report(
        period=span,
        generated_at=now,
        days=compose_days(span.days, data.flows, data.counts),
        as_of=min(span.end, now),
        deferred=deferred_revenue(data.lots),
        bonus_outstanding=data.bonus_outstanding,
        bonus_as_of=now,
        notes=notes,
    )


def wallet_report(ctx: AppContext, first: date, last: date) -> Report:
    """Read and compose the report of ``first`` … ``last`` in the policy's time zone."""
    now = ctx.clock.now()
    span = period(first, last, ctx.policies.in_force(now).timezone)
    return compose(span, repository.read_report(ctx.engine, span.bounds, span.end), now)


# --- renderings ----------------------------------------------------------------------------------
def _amount(currency: str, amount: int) -> AmountOut:
    return AmountOut(**amount_view(currency, amount))


def report_out(report: Report) -> WalletReportOut:
    span = report.period
    days = []
    for d in report.days:
        figures: dict[str, int | AmountOut] = {
            name: _amount(d.currency, value) if name in MONEY else value
            for name, value in d.values.items()
        }
        days.append(
            WalletDayOut.model_validate(
                {"date": d.day.isoformat(), "currency": d.currency, **figures}
            )
        )
    return WalletReportOut(
        from_=span.first.isoformat(),
        to=span.last.isoformat(),
        timezone=span.timezone,
        generated_at=rfc3339(report.generated_at),
        days=days,
        closing=WalletClosingOut(
            as_of=rfc3339(report.as_of),
            deferred_revenue=[
                DeferredRevenueOut(
                    currency=d.currency,
                    deferred_revenue=_amount(d.currency, d.amount),
                    unspent_paid_coins=d.unspent_paid_coins,
                    lots=d.lots,
                )
                for d in report.deferred
            ],
            bonus_coins_outstanding=report.bonus_outstanding,
            bonus_coins_as_of=rfc3339(report.bonus_as_of),
            notes=report.notes,
        ),
    )


def _columns() -> list[str]:
    figures = []
    for name in FIGURES:
        figures += [f"{name}_minor", f"{name}_display"] if name in MONEY else [name]
    closing = [
        "as_of",
        "deferred_revenue_minor",
        "deferred_revenue_display",
        "unspent_paid_coins",
        "lots",
        "bonus_coins_outstanding",
    ]
    return ["section", "date", "currency", *figures, *closing]


CSV_COLUMNS = _columns()


def _money(prefix: str, currency: str, amount: int) -> dict[str, str | int]:
    display: str = amount_view(currency, amount)["display"]
    return {f"{prefix}_minor": amount, f"{prefix}_display": display}


def report_csv(report: Report) -> str:
    """One table: a ``day`` row per day and currency, then a ``deferred_revenue`` row per
    currency and one ``bonus_coins`` row, each at the end of ``to`` (``as_of`` says when)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, restval="")
    writer.writeheader()
    for d in report.days:
        row: dict[str, str | int] = {"section": "day", "date": d.day.isoformat()}
        row["currency"] = d.currency
        for name, value in d.values.items():
            row.update(_money(name, d.currency, value) if name in MONEY else {name: value})
        writer.writerow(row)
    last = report.period.last.isoformat()
    for r in report.deferred:
        writer.writerow(
            {
                "section": "deferred_revenue",
                "date": last,
                "currency": r.currency,
                "as_of": rfc3339(report.as_of),
                **_money("deferred_revenue", r.currency, r.amount),
                "unspent_paid_coins": r.unspent_paid_coins,
                "lots": r.lots,
            }
        )
    writer.writerow(
        {
            "section": "bonus_coins",
            "date": last,
            "currency": COIN,
            "as_of": rfc3339(report.bonus_as_of),
            "bonus_coins_outstanding": report.bonus_outstanding,
        }
    )
    return out.getvalue()


# --- the back office's purchase list ---------------------------------------------------------
def purchases_page(
    ctx: AppContext,
    *,
    state: str | None,
    user_id: str | None,
    limit: int,
    before_id: int | None,
) -> PurchasesPage:
    """Every user's purchases, newest first, each as ``GET /v1/purchases/{id}`` shows it
    (with what is left of its lot)."""
    with ctx.engine.connect() as conn:
        rows, spent = repository.list_all_purchases(
            conn, state=state, user_id=user_id, limit=limit + 1, before_id=before_id
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return PurchasesPage(
        data=[PurchaseOut(**purchase_view(r, spent.get(r.user_id, 0))) for r in rows],
        next_cursor=str(rows[-1].id) if more else None,
    )
