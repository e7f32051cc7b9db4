"""The report's pure parts: local days and their UTC bounds, which postings make each figure,
the valuation of lots, the CSV table and the choice between JSON and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from giftflow.errors import ValidationFailed
from giftflow.http.negotiation import wants_csv
from giftflow.reporting.lots import LotGroup
from giftflow.wallet.reports.repository import Flow, KindCount, ReportData
from giftflow.wallet.reports.service import (
    CSV_COLUMNS,
    FIGURES,
    compose,
    compose_days,
    deferred_revenue,
    lot_value,
    period,
    report_csv,
    report_out,
)

D1, D2 = date(2026, 3, 7), date(2026, 3, 8)


def test_days_are_local_calendar_days_with_their_utc_bounds() -> None:
    utc = period(D1, D1, "UTC")
    assert utc.bounds == (datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC))
    # New York moves its clocks on 8 March 2026: that day has 23 hours
    ny = period(D1, D2, "America/New_York")
    assert ny.days == [D1, D2]
    assert ny.bounds == (
        datetime(2026, 3, 7, 5, tzinfo=UTC),
        datetime(2026, 3, 8, 5, tzinfo=UTC),
        datetime(2026, 3, 9, 4, tzinfo=UTC),
    )
    assert ny.end == datetime(2026, 3, 9, 4, tzinfo=UTC)


def test_a_range_is_one_to_366_days_in_order() -> None:
    assert len(period(date(2024, 1, 1), date(2024, 12, 31), "UTC").days) == 366
    for first, last in (
        (date(2025, 1, 1), date(2026, 1, 2)),
        (D2, D1),
        (date(9999, 12, 31), date(9999, 12, 31)),
    ):
        with pytest.raises(ValidationFailed):
            period(first, last, "UTC")
    with pytest.raises(ValidationFailed):  # 00:00 on 1 January of year 1 in Tokyo is year 0 UTC
        period(date(1, 1, 1), date(1, 1, 1), "Asia/Tokyo")


def flow(
    kind: str,
    source: str,
    destination: str,
    amount: int,
    *,
    day: int = 0,
    currency: str = "USD",
    asset: str = "USD",
) -> Flow:
    return Flow(day, currency, kind, source, destination, asset, amount)


def test_each_figure_is_the_postings_of_its_kinds_and_account_classes() -> None:
    flows = [
        # two purchases: 504 paid, 150 of it store fees, 420 coins and 7 bonus coins credited
        flow("purchase", "cash", "revenue", 354),
        flow("purchase", "cash", "fees", 150),
        flow("purchase", "issued", "paid", 420, asset="COIN"),
        flow("purchase", "issued", "bonus", 7, asset="COIN"),
        # a refund by giftflow and one by the provider (which left 60 owed)
        flow("purchase_refund", "revenue", "cash", 59),
        flow("purchase_refund", "fees", "cash", 25),
        flow("purchase_refund", "paid", "issued", 70, asset="COIN"),
        flow("purchase_provider_refund", "revenue", "cash", 234),
        flow("purchase_provider_refund", "fees", "cash", 126),
        flow("purchase_provider_refund", "receivable", "cash", 60),
        # a dispute opened, another won, a write-off
        flow("purchase_dispute", "fees", "cash", 25),
        flow("purchase_dispute", "receivable", "cash", 59),
        flow("purchase_dispute_won", "cash", "revenue", 300),
        flow("purchase_dispute_won", "cash", "receivable", 120),
        flow("purchase_dispute_won", "issued", "paid", 50, asset="COIN"),
        flow("receivable_writeoff", "writeoffs", "receivable", 40),
        # another day, another currency
        flow("purchase", "cash", "revenue", 1000, day=1, currency="EUR", asset="EUR"),
        flow("purchase", "issued", "paid", 800, day=1, currency="EUR", asset="COIN"),
    ]
    counts = [
        KindCount(0, "USD", "purchase", 2),
        KindCount(0, "USD", "purchase_refund", 1),
        KindCount(0, "USD", "purchase_provider_refund", 1),
        KindCount(0, "USD", "purchase_dispute", 1),
        KindCount(0, "USD", "purchase_dispute_won", 1),
        KindCount(0, "USD", "receivable_writeoff", 1),
        KindCount(1, "EUR", "purchase", 1),
    ]
    usd, eur = compose_days([D1, D2], flows, counts)
    assert (usd.day, usd.currency, eur.day, eur.currency) == (D1, "USD", D2, "EUR")
    assert list(usd.values) == list(FIGURES)
    assert usd.values == {
        "purchases": 2,
        "gross": 504,
        "coins_sold": 420,
        "bonus_coins": 7,
        "revenue": 354,
        "store_fees": 150,
        "refunds": 2,
        "refunded": 59 + 25 + 234 + 126 + 60,
        "disputes_opened": 1,
        "disputed": 25 + 59,
        "disputes_won": 1,
        "won_back": 420,
        "receivables_created": 60 + 59,
        "receivables_recovered": 120,
        "receivables_written_off": 40,
    }
    assert (eur.values["gross"], eur.values["coins_sold"], eur.values["purchases"]) == (
        1000,
        800,
        1,
    )
    # transactions of other kinds or accounts make no figure, and an empty row is left out
    assert compose_days([D1], [flow("gift", "paid", "other", 5, asset="COIN")], []) == []


def test_lots_are_valued_at_their_price_rounded_down_per_lot() -> None:
    assert lot_value(70, 84, 70) == 84  # untouched: exactly its price
    assert lot_value(69, 84, 70) == 82  # 82.8
    assert lot_value(1, 84, 70) == 1  # 1.2
    groups = [
        LotGroup("USD", 84, 70, 69, 3),  # three lots with 69 coins left: 3 × 82, not 248.4 → 248
        LotGroup("USD", 420, 350, 350, 2),
        LotGroup("EUR", 99, 100, 1, 1),  # 0.99 → 0
    ]
    eur, usd = deferred_revenue(groups)
    assert (usd.currency, usd.amount, usd.unspent_paid_coins, usd.lots) == (
        "USD",
        3 * 82 + 840,
        3 * 69 + 700,
        5,
    )
    assert (eur.currency, eur.amount, eur.unspent_paid_coins, eur.lots) == ("EUR", 0, 1, 1)


def test_json_and_csv_carry_the_same_figures() -> None:
    span = period(D1, D2, "UTC")
    data = ReportData(
        flows=[flow("purchase", "cash", "revenue", 84, day=1)],
        counts=[KindCount(1, "USD", "purchase", 1)],
        lots=[LotGroup("USD", 84, 70, 70, 1)],
        bonus_outstanding=12,
    )
    now = datetime(2026, 3, 20, 12, tzinfo=UTC)
    report = compose(span, data, now)
    assert report.as_of == span.end  # a past period: as of its end
    assert len(report.notes) == 1 and "bonus_coins_outstanding" in report.notes[0]
    out = report_out(report).model_dump(mode="json", by_alias=True)
    assert (out["from"], out["to"], out["object"]) == ("2026-03-07", "2026-03-08", "wallet_report")
    [day] = out["days"]
    assert day["gross"] == {"asset": "USD", "amount": 84, "display": "0.84"}
    assert out["closing"]["as_of"] == "2026-03-09T00:00:00Z"
    assert out["closing"]["bonus_coins_as_of"] == "2026-03-20T12:00:00Z"

    text = report_csv(report)
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["section"], r["date"], r["currency"]) for r in rows] == [
        ("day", "2026-03-08", "USD"),
        ("deferred_revenue", "2026-03-08", "USD"),
        ("bonus_coins", "2026-03-08", "COIN"),
    ]
    assert (rows[0]["gross_minor"], rows[0]["gross_display"], rows[0]["purchases"]) == (
        "84",
        "0.84",
        "1",
    )
    assert (rows[1]["deferred_revenue_minor"], rows[1]["as_of"]) == ("84", "2026-03-09T00:00:00Z")
    assert (rows[2]["bonus_coins_outstanding"], rows[2]["as_of"]) == ("12", "2026-03-20T12:00:00Z")


def test_a_period_that_is_not_over_is_closed_as_of_now() -> None:
    now = datetime(2026, 3, 8, 9, tzinfo=UTC)
    report = compose(period(D1, D2, "UTC"), ReportData(), now)
    assert report.as_of == now
    assert report.notes == ["The period has not ended yet: the closing figures are as of now."]


@pytest.mark.parametrize(
    ("accept", "csv_wanted"),
    [
        ("", False),
        ("*/*", False),
        ("application/json", False),
        ("text/csv", True),
        ("Text/CSV; charset=utf-8", True),
        ("application/json;q=0.5, text/csv", True),
        ("text/csv;q=0.2, application/json", False),
        ("text/csv;q=0", False),
        ("text/csv;q=nonsense", False),
    ],
)
def test_csv_only_when_the_client_prefers_it(accept: str, csv_wanted: bool) -> None:
    assert wants_csv(accept) is csv_wanted
