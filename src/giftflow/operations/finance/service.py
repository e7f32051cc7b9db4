"""The finance report: the period and its buckets, which postings make each figure, the valuation
of lots and diamonds, the take rate, and the JSON and CSV renderings (pure functions, but the one
that reads). What each figure means is in docs/finance.md.

Flows are sums of fiat postings chosen by transaction kind and account class (``RULES``; the
classes are the repository's). Balances at each bucket's end come from today's balances and the
flows since. Lots are valued exactly, per lot:

- ``recognised(c)``, the revenue a lot has recognised once ``c`` of its ``coins`` paid coins are
  spent, is ``c × price ÷ coins`` rounded **up**; ``unspent(r)``, the deferred revenue of ``r``
  unspent coins, is ``r × price ÷ coins`` rounded **down**. So ``recognised + unspent = price``
  for every lot at every moment, a lot spent to the end recognised exactly its price, and a
  spend that straddles two lots is valued at each lot's own price. A bucket's revenue is the
  difference of ``recognised`` across it, lot by lot: no rounding accumulates over buckets.
- Diamonds are valued with the policy in force at the end of the bucket (or of the period for the
  totals; now, if that is later): ``Policy.cash_out(total).gross_minor``, whole cash-out blocks.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.errors import InvalidPolicy, ValidationFailed
from giftflow.money.amounts import amount_view
from giftflow.money.policy import Policy
from giftflow.operations.finance import repository
from giftflow.operations.finance.repository import (
    PAYOUT,
    PAYOUT_FAILED,
    PAYOUT_RETURNED,
    PAYOUT_SUBMIT,
    DiamondFlow,
    FinanceData,
    Flow,
    LotChange,
)
from giftflow.operations.finance.schemas import (
    BucketOut,
    CurrencyReportOut,
    FiguresOut,
    FinanceReportOut,
    MoneyOut,
    TakeRateOut,
)
from giftflow.reporting.lots import (
    DISPUTE,
    DISPUTE_WON,
    PROVIDER_REFUND,
    PURCHASE,
    REFUND,
    LotGroup,
)

Bucket = Literal["day", "week", "month"]
MAX_BUCKETS = 366
DEFAULT_DAYS = 30

FIGURES = (
    "purchases",
    "store_fees",
    "revenue_recognised",
    "deferred_revenue",
    "creator_liability_held",
    "creator_liability_available",
    "creator_liability_in_payout",
    "payouts",
    "cashout_fees",
    "refunds",
    "chargebacks",
    "receivables",
)
# balances at the end of a bucket (the rest are flows within it)
BALANCES = {
    "deferred_revenue": None,
    "creator_liability_held": "held",
    "creator_liability_available": "available",
    "creator_liability_in_payout": "in_payout",
}
LIABILITIES = {name: cls for name, cls in BALANCES.items() if cls is not None}
CSV_COLUMNS = ("currency", "bucket_start", "bucket_end", "figure", "amount_minor", "display")


# --- the flows -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Rule:
    """Fiat postings of these kinds (None: any the report reads) from and to these account
    classes (None: any), counted with ``sign``."""

    figure: str
    kinds: frozenset[str] | None
    source: str | None
    destination: str | None
    sign: int = 1

    def matches(self, flow: Flow) -> bool:
        return (
            (self.kinds is None or flow.kind in self.kinds)
            and self.source in (None, flow.source)
            and self.destination in (None, flow.destination)
        )


def _kinds(*kinds: str) -> frozenset[str]:
    return frozenset(kinds)


RULES = (
    Rule("purchases", _kinds(PURCHASE), "cash", None),
    Rule("store_fees", _kinds(PURCHASE), None, "store_fees"),
    Rule("refunds", _kinds(REFUND), None, "cash"),
    Rule("chargebacks", _kinds(DISPUTE, PROVIDER_REFUND), None, "cash"),
    Rule("chargebacks", _kinds(DISPUTE_WON), "cash", None, -1),
    Rule("receivables", None, "receivable", None),
    Rule("receivables", None, None, "receivable", -1),
    Rule("payouts", _kinds(PAYOUT), "in_flight", "cash"),
    Rule("payouts", _kinds(PAYOUT_RETURNED), "cash", None, -1),
    Rule("cashout_fees", _kinds(PAYOUT_SUBMIT), None, "cashout_fees"),
    Rule("cashout_fees", _kinds(PAYOUT_FAILED, PAYOUT_RETURNED), "cashout_fees", None, -1),
)


# --- the period ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Period:
    """Buckets of calendar days in ``timezone``: ``days[i]`` … ``days[i + 1]`` (exclusive) is
    bucket ``i``; ``bounds`` are the UTC instants where those days begin."""

    bucket: Bucket
    timezone: str
    days: tuple[date, ...]
    bounds: tuple[datetime, ...]

    @property
    def first(self) -> date:
        return self.days[0]

    @property
    def end(self) -> date:
        return self.days[-1]

    @property
    def count(self) -> int:
        return len(self.days) - 1


def _next_start(day: date, bucket: Bucket) -> date:
    if bucket == "day":
        return day + timedelta(days=1)
    if bucket == "week":  # ISO weeks: the next Monday
        return day + timedelta(days=7 - day.weekday())
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def period(
    first: date | None, end: date | None, bucket: Bucket, timezone: str, today: date
) -> Period:
    """The report's buckets from ``first`` to ``end`` (exclusive); by default the last 30 days
    up to and including ``today``. Refuses an empty or reversed range and more than
    ``MAX_BUCKETS`` buckets."""
    try:
        if end is None:
            end = (first + timedelta(days=DEFAULT_DAYS)) if first else today + timedelta(days=1)
        if first is None:
            first = end - timedelta(days=DEFAULT_DAYS)
    except OverflowError:
        raise ValidationFailed(
            "The range is outside the dates giftflow can report on.", reason="out_of_range"
        ) from None
    dates = {"from": first.isoformat(), "to": end.isoformat()}
    if end <= first:
        raise ValidationFailed(
            "'to' (exclusive) must come after 'from'.",
            reason="empty_range" if end == first else "reversed_range",
            **dates,
        )
    days = [first]
    try:
        while days[-1] < end:
            if len(days) > MAX_BUCKETS:
                raise ValidationFailed(
                    f"A report has at most {MAX_BUCKETS} buckets; use a longer bucket or a "
                    "shorter range.",
                    reason="too_many_buckets",
                    maximum=MAX_BUCKETS,
                    bucket=bucket,
                    **dates,
                )
            days.append(min(_next_start(days[-1], bucket), end))
        zone = ZoneInfo(timezone)
        bounds = tuple(datetime.combine(d, time(0), tzinfo=zone).astimezone(UTC) for d in days)
    except (OverflowError, ValueError):
        raise ValidationFailed(
            "The range is outside the dates giftflow can report on.",
            reason="out_of_range",
            **dates,
        ) from None
    return Period(bucket, timezone, tuple(days), bounds)


# --- composing the figures -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TakeRate:
    basis_points: int | None
    accrued: int | None  # in the currency itself (None outside the cash-out currency)


@dataclass(slots=True)
class CurrencyReport:
    currency: str
    buckets: list[dict[str, int]]  # FIGURE → amount, per bucket
    take_rates: list[TakeRate]
    totals: dict[str, int]
    take_rate: TakeRate


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    generated_at: datetime
    currencies: list[CurrencyReport]


def recognised(consumed: int, price_minor: int, coins: int) -> int:
    """The revenue a lot has recognised once ``consumed`` of its paid coins are spent (up)."""
    return -(-consumed * price_minor // coins)


def unspent(remaining: int, price_minor: int, coins: int) -> int:
    """What ``remaining`` unspent paid coins of a lot are worth (down)."""
    return max(remaining, 0) * price_minor // coins


@dataclass(slots=True)
class LotFigures:
    """Per bucket and currency: revenue recognised, the change of deferred revenue, and the
    diamonds credited for the paid coins spent."""

    revenue: dict[tuple[int, str], int]
    deferred_change: dict[tuple[int, str], int]
    diamonds: dict[tuple[int, str], int]


def lot_figures(changes: Iterable[LotChange]) -> LotFigures:
    out = LotFigures(defaultdict(int), defaultdict(int), defaultdict(int))
    lot: int | None = None
    size = consumed = 0
    for ch in changes:  # by lot, then bucket
        if ch.purchase_id != lot:
            lot, size, consumed = ch.purchase_id, ch.size, ch.consumed
        price, coins = ch.price_minor, ch.coins
        new_size, new_consumed = size + ch.size_change, consumed + ch.consumed_change
        key = (ch.bucket, ch.currency)
        out.revenue[key] += recognised(new_consumed, price, coins) - recognised(
            consumed, price, coins
        )
        out.deferred_change[key] += unspent(new_size - new_consumed, price, coins) - unspent(
            size - consumed, price, coins
        )
        out.diamonds[key] += ch.diamonds
        size, consumed = new_size, new_consumed
    return out


def deferred_at_start(groups: Iterable[LotGroup]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for g in groups:
        totals[g.currency] += g.lots * unspent(g.remaining, g.price_minor, g.coins)
    return totals


def diamonds_at_ends(
    now: dict[str, int], flows: Iterable[DiamondFlow], count: int
) -> list[dict[str, int]]:
    """Per bucket: the diamonds per class (held, available, in_payout) at its end."""
    net: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in flows:
        net[f.bucket][f.destination] += f.amount
        net[f.bucket][f.source] -= f.amount
    classes = set(LIABILITIES.values())
    balance = {c: now.get(c, 0) for c in classes}
    ends: list[dict[str, int]] = []
    for k in range(count, 0, -1):  # the end of bucket k - 1 is today minus buckets k …
        for c in classes:
            balance[c] -= net[k][c]
        ends.append(dict(balance))
    ends.reverse()
    return ends


def _take_rate(revenue: int, diamonds: int, currency: str, policy: Policy) -> TakeRate:
    if currency != policy.cashout.currency:
        return TakeRate(None, None)
    accrued = policy.cash_out(diamonds).gross_minor
    if revenue <= 0:
        return TakeRate(None, accrued)
    return TakeRate((revenue - accrued) * 10_000 // revenue, accrued)


def compose(
    span: Period, data: FinanceData, policy_at: Callable[[datetime], Policy], now: datetime
) -> Report:
    """The report from what the repository read; ``policy_at(t)`` is the policy in force at
    ``t`` (asked for no later than ``now``)."""
    n = span.count
    policies = [policy_at(min(span.bounds[k + 1], now)) for k in range(n)]
    values: dict[str, list[dict[str, int]]] = defaultdict(
        lambda: [dict.fromkeys(FIGURES, 0) for _ in range(n)]
    )
    for flow in data.flows:
        for rule in RULES:
            if rule.matches(flow):
                values[flow.currency][flow.bucket][rule.figure] += rule.sign * flow.amount
    lots = lot_figures(data.lot_changes)
    for (k, currency), amount in lots.revenue.items():
        values[currency][k]["revenue_recognised"] += amount
    deferred = deferred_at_start(data.open_lots)
    for currency in set(deferred) | {c for _, c in lots.deferred_change}:
        running = deferred.get(currency, 0)
        for k in range(n):
            running += lots.deferred_change.get((k, currency), 0)
            values[currency][k]["deferred_revenue"] = running
    for k, held in enumerate(diamonds_at_ends(data.diamonds_now, data.diamond_flows, n)):
        policy = policies[k]
        for figure, cls in LIABILITIES.items():
            value = policy.cash_out(max(held[cls], 0)).gross_minor
            if value:
                values[policy.cashout.currency][k][figure] = value
    end_policy = policies[-1]
    _ = values[end_policy.cashout.currency]  # the cash-out currency is always shown
    currencies = []
    for currency in sorted(values):
        buckets = values[currency]
        totals = {
            name: buckets[-1][name] if name in BALANCES else sum(b[name] for b in buckets)
            for name in FIGURES
        }
        rates = [
            _take_rate(
                b["revenue_recognised"], lots.diamonds.get((k, currency), 0), currency, policies[k]
            )
            for k, b in enumerate(buckets)
        ]
        diamonds = sum(lots.diamonds.get((k, currency), 0) for k in range(n))
        total_rate = _take_rate(totals["revenue_recognised"], diamonds, currency, end_policy)
        currencies.append(CurrencyReport(currency, buckets, rates, totals, total_rate))
    return Report(span, now, currencies)


def _policy_at(ctx: AppContext, now: datetime) -> Callable[[datetime], Policy]:
    def at(when: datetime) -> Policy:
        try:
            return ctx.policies.in_force(when)
        except InvalidPolicy:  # before the first version: value with today's
            return ctx.policies.in_force(now)

    return at


def finance_report(ctx: AppContext, first: date | None, end: date | None, bucket: Bucket) -> Report:
    """Read and compose the report of ``first`` … ``end`` (exclusive) in the policy's zone."""
    now = ctx.clock.now()
    policy = ctx.policies.in_force(now)
    span = period(first, end, bucket, policy.timezone, policy.local_date(now))
    data = repository.read_finance(ctx.engine, span.bounds)
    return compose(span, data, _policy_at(ctx, now), now)


# --- renderings ----------------------------------------------------------------------------------
def display(currency: str, amount: int) -> str:
    text: str = amount_view(currency, amount)["display"]
    return text


def money(currency: str, amount: int) -> MoneyOut:
    return MoneyOut(amount_minor=amount, currency=currency, display=display(currency, amount))


def percent(basis_points: int | None) -> str:
    """``5230`` → ``"52.30%"`` (integer arithmetic); ``None`` → ``"n/a"``."""
    if basis_points is None:
        return "n/a"
    sign = "-" if basis_points < 0 else ""
    whole, frac = divmod(abs(basis_points), 100)
    return f"{sign}{whole}.{frac:02d}%"


def _figures(currency: str, values: dict[str, int]) -> FiguresOut:
    return FiguresOut(**{name: money(currency, values[name]) for name in FIGURES})


def _rate(currency: str, rate: TakeRate) -> TakeRateOut:
    return TakeRateOut(
        basis_points=rate.basis_points,
        display=percent(rate.basis_points),
        creator_liability_accrued=None if rate.accrued is None else money(currency, rate.accrued),
    )


def report_out(report: Report) -> FinanceReportOut:
    span = report.period
    return FinanceReportOut(
        from_=span.first.isoformat(),
        to=span.end.isoformat(),
        bucket=span.bucket,
        timezone=span.timezone,
        generated_at=rfc3339(report.generated_at),
        currencies=[
            CurrencyReportOut(
                currency=c.currency,
                totals=_figures(c.currency, c.totals),
                take_rate=_rate(c.currency, c.take_rate),
                buckets=[
                    BucketOut(
                        start=span.days[k].isoformat(),
                        end=span.days[k + 1].isoformat(),
                        figures=_figures(c.currency, values),
                        take_rate=_rate(c.currency, c.take_rates[k]),
                    )
                    for k, values in enumerate(c.buckets)
                ],
            )
            for c in report.currencies
        ],
    )


def _csv_rows(
    currency: str, start: str, end: str, values: dict[str, int], rate: TakeRate
) -> Sequence[tuple[str, str, str, str, str | int, str]]:
    rows: list[tuple[str, str, str, str, str | int, str]] = [
        (currency, start, end, name, values[name], display(currency, values[name]))
        for name in FIGURES
    ]
    accrued = rate.accrued
    rows.append(
        (
            currency,
            start,
            end,
            "creator_liability_accrued",
            "" if accrued is None else accrued,
            "" if accrued is None else display(currency, accrued),
        )
    )
    bp = rate.basis_points
    rows.append((currency, start, end, "take_rate", "" if bp is None else bp, percent(bp)))
    return rows


def report_csv(report: Report) -> str:
    """One row per currency, bucket and figure, then the currency's ``total`` rows; each
    bucket also has a ``creator_liability_accrued`` and a ``take_rate`` row (basis points in
    ``amount_minor``, empty when there is none)."""
    span = report.period
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for c in report.currencies:
        for k, values in enumerate(c.buckets):
            start, end = span.days[k].isoformat(), span.days[k + 1].isoformat()
            writer.writerows(_csv_rows(c.currency, start, end, values, c.take_rates[k]))
        writer.writerows(_csv_rows(c.currency, "total", "", c.totals, c.take_rate))
    return out.getvalue()
