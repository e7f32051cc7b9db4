"""The finance report through the API: every figure of every bucket and the totals equal a
recomputation from the ledger's postings (conftest.Reference), for day, week and month buckets and
for a range that starts in the middle of the economy; bucket boundaries to the second; the CSV
says what the JSON says; who may read it; and the refusals of bad input."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from giftflow.money.amounts import format_amount
from giftflow.money.assets import get_asset
from tests.api.conftest import Api

from .conftest import (
    FIGURES,
    REPORT,
    Economy,
    Reference,
    bounds_of,
    get_csv,
    get_report,
    ledger,
)


def shown(currency: str, amount: int) -> dict[str, Any]:
    return {
        "amount_minor": amount,
        "currency": currency,
        "display": format_amount(amount, get_asset(currency)),
    }


def rate_shown(currency: str, rate: tuple[int | None, int | None]) -> dict[str, Any]:
    bp, accrued = rate
    text = "n/a" if bp is None else f"{'-' if bp < 0 else ''}{abs(bp) // 100}.{abs(bp) % 100:02d}%"
    return {
        "basis_points": bp,
        "display": text,
        "creator_liability_accrued": None if accrued is None else shown(currency, accrued),
    }


def days_of(report: dict[str, Any]) -> list[date]:
    """The bucket bounds the report chose, checked to be contiguous."""
    buckets = report["currencies"][0]["buckets"]
    starts = [date.fromisoformat(b["start"]) for b in buckets]
    ends = [date.fromisoformat(b["end"]) for b in buckets]
    assert starts[1:] == ends[:-1]
    assert (starts[0], ends[-1]) == (
        date.fromisoformat(report["from"]),
        date.fromisoformat(report["to"]),
    )
    for c in report["currencies"]:
        assert [(b["start"], b["end"]) for b in c["buckets"]] == [
            (b["start"], b["end"]) for b in buckets
        ]
    return [*starts, ends[-1]]


def assert_rebuilt(e: Economy, report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every figure of ``report`` equals the recomputation from the postings."""
    expected = Reference(ledger(e.engine)).report(bounds_of(days_of(report)))
    assert [c["currency"] for c in report["currencies"]] == sorted(expected)
    for c in report["currencies"]:
        ccy, ref = c["currency"], expected[c["currency"]]
        for k, b in enumerate(c["buckets"]):
            assert b["figures"] == {f: shown(ccy, ref["buckets"][k][f]) for f in FIGURES}, (
                ccy,
                b["start"],
            )
            assert b["take_rate"] == rate_shown(ccy, ref["rates"][k]), (ccy, b["start"])
        assert c["totals"] == {f: shown(ccy, ref["totals"][f]) for f in FIGURES}, ccy
        assert c["take_rate"] == rate_shown(ccy, ref["rate"]), ccy
    return expected


def assert_csv_is_json(e: Economy, report: dict[str, Any], **params: str) -> None:
    r = get_csv(e.api, **params)
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in r.headers["content-disposition"]
    lines = r.text.splitlines()
    assert lines[0] == "currency,bucket_start,bucket_end,figure,amount_minor,display"
    rows = list(csv.DictReader(io.StringIO(r.text)))
    expected = []
    for c in report["currencies"]:
        ccy = c["currency"]
        parts = [(b["start"], b["end"], b["figures"], b["take_rate"]) for b in c["buckets"]]
        for start, end, figures, rate in [*parts, ("total", "", c["totals"], c["take_rate"])]:
            for f in FIGURES:
                money = figures[f]
                expected.append([ccy, start, end, f, str(money["amount_minor"]), money["display"]])
            accrued = rate["creator_liability_accrued"]
            expected.append(
                [ccy, start, end, "creator_liability_accrued"]
                + (
                    ["", ""]
                    if accrued is None
                    else [str(accrued["amount_minor"]), accrued["display"]]
                )
            )
            bp = rate["basis_points"]
            expected.append(
                [ccy, start, end, "take_rate", "" if bp is None else str(bp), rate["display"]]
            )
    assert [list(row.values()) for row in rows] == expected


def test_every_figure_is_rebuilt_from_the_postings(economy: Economy) -> None:
    e = economy
    whole = {"from": "2026-01-01", "to": "2026-02-05"}

    # --- months: January and the first days of February ------------------------------------
    months = get_report(e.api, **whole, bucket="month")
    assert (months["object"], months["bucket"], months["timezone"]) == (
        "finance_report",
        "month",
        "UTC",
    )
    assert days_of(months) == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 2, 5)]
    ref = assert_rebuilt(e, months)
    usd, jpy = ref["USD"], ref["JPY"]
    # the figures the economy was built to produce, so that the recomputation cannot be vacuous
    assert usd["totals"]["purchases"] == 84 + 1680 + 420 + 840
    assert usd["totals"]["store_fees"] == (84 + 1680 + 420 + 840) * 3000 // 10_000
    assert usd["totals"]["refunds"] == 420
    assert usd["totals"]["chargebacks"] == 840
    assert usd["buckets"][0]["receivables"] == 0  # created on Jan 7, written off on Jan 9
    assert (usd["totals"]["payouts"], usd["totals"]["cashout_fees"]) == (90, 10)
    assert jpy["totals"]["purchases"] == 800 + 160 + 800 + 800
    assert jpy["totals"]["chargebacks"] == 0  # taken back on Jan 21, won back on Jan 22
    # the 31 Jan 23:59:59 purchase is January's, the gift a second later February's
    assert jpy["buckets"][0]["purchases"] == 2560 and jpy["buckets"][1]["purchases"] == 0
    # jp1's first lot (¥800 for 350 coins): 51 coins spent in January, 10 more in February
    assert jpy["buckets"][1]["revenue_recognised"] == -(-61 * 800 // 350) - (-(-51 * 800 // 350))
    # us1: 500 + 5 + 30 + 100 coins spent of 70 ($0.84) then 1,400 ($16.80); us3: 100 of 700
    assert usd["totals"]["revenue_recognised"] == 84 + (-(-565 * 1680 // 1400)) + 120
    assert usd["totals"]["deferred_revenue"] == 835 * 1680 // 1400
    liability = {f: usd["totals"][f] for f in FIGURES if f.startswith("creator_liability")}
    assert all(liability[f] > 0 for f in ("creator_liability_held", "creator_liability_available"))
    assert liability["creator_liability_in_payout"] == 0
    assert months["currencies"][1]["take_rate"]["basis_points"] is not None
    assert months["currencies"][0]["take_rate"]["basis_points"] is None  # JPY: no cash-out
    assert_csv_is_json(e, months, **whole, bucket="month")

    # --- days: every day, the week's last second and the next week's first --------------------
    days = get_report(e.api, **whole)  # bucket=day is the default
    assert days["bucket"] == "day" and len(days_of(days)) == 36
    ref = assert_rebuilt(e, days)
    usd_days, jpy_days = ref["USD"]["buckets"], ref["JPY"]["buckets"]
    assert usd_days[3]["revenue_recognised"] > 0 and jpy_days[3]["revenue_recognised"] == 0
    assert jpy_days[4]["revenue_recognised"] > 0
    assert ref["USD"]["totals"] == usd["totals"] and ref["JPY"]["totals"] == jpy["totals"]
    assert_csv_is_json(e, days, **whole)

    # --- ISO weeks: a partial first week, then Mondays ----------------------------------------
    weeks = get_report(e.api, **whole, bucket="week")
    assert days_of(weeks) == [
        date(2026, 1, 1),
        date(2026, 1, 5),
        date(2026, 1, 12),
        date(2026, 1, 19),
        date(2026, 1, 26),
        date(2026, 2, 2),
        date(2026, 2, 5),
    ]
    ref = assert_rebuilt(e, weeks)
    first, second = ref["JPY"]["buckets"][0], ref["JPY"]["buckets"][1]
    assert first["revenue_recognised"] == -(-50 * 800 // 350)  # the Jan 5 00:00 rose is not in it
    assert second["revenue_recognised"] == -(-51 * 800 // 350) - (-(-50 * 800 // 350))
    assert ref["USD"]["totals"] == usd["totals"]
    assert_csv_is_json(e, weeks, **whole, bucket="week")

    # --- a range that starts with lots open, spent and charged back before it -----------------
    for params in (
        {"from": "2026-01-06", "to": "2026-01-23"},
        {"from": "2026-01-21", "to": "2026-01-27", "bucket": "week"},
        {"from": "2026-01-12", "to": "2026-01-13"},
    ):
        assert_rebuilt(e, get_report(e.api, **params))

    # --- a year of days: the same totals as the months ----------------------------------------
    year = get_report(e.api, **{"from": "2025-07-01", "to": "2026-07-01"})
    assert len(year["currencies"][0]["buckets"]) == 365
    for c, m in zip(year["currencies"], months["currencies"], strict=True):
        assert c["totals"] == m["totals"] and c["take_rate"] == m["take_rate"]


def test_who_may_read_it(api: Api) -> None:
    api.create_users("u1")
    ok = api.client.get(REPORT, headers=api.admin())
    assert ok.status_code == 200, ok.text
    for headers, status, code in (
        (api.user("u1"), 403, "forbidden"),  # a user token on an admin route
        (api.platform(), 403, "forbidden"),  # a key without the admin scope
        ({}, 401, "unauthenticated"),
    ):
        r = api.client.get(REPORT, headers=headers)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code)
        r = api.client.get(REPORT, headers=headers | {"Accept": "text/csv"})
        assert r.status_code == status


def test_an_empty_ledger_and_the_defaults(api: Api) -> None:
    body = get_report(api)  # the last 30 days, today included, by day
    assert (body["from"], body["to"], body["bucket"]) == ("2025-12-03", "2026-01-02", "day")
    [usd] = body["currencies"]  # the cash-out currency is always shown
    assert usd["currency"] == "USD" and len(usd["buckets"]) == 30
    zero = shown("USD", 0)
    assert usd["totals"] == dict.fromkeys(FIGURES, zero)
    assert usd["take_rate"] == {
        "basis_points": None,
        "display": "n/a",
        "creator_liability_accrued": zero,
    }
    assert get_report(api, **{"from": "2026-03-01"})["to"] == "2026-03-31"
    assert get_report(api, to="2026-03-01")["from"] == "2026-01-30"
    assert (
        len(
            get_report(api, **{"from": "2026-01-01", "to": "2027-01-02"})["currencies"][0][
                "buckets"
            ]
        )
        == 366
    )


def refusal(api: Api, **params: str) -> dict[str, Any]:
    r = api.client.get(REPORT, params=params, headers=api.admin())
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error"), r.text
    details: dict[str, Any] = r.json()["error"]["details"]
    return details


def test_bad_input_is_refused(api: Api) -> None:
    assert refusal(api, **{"from": "2026-02-01", "to": "2026-01-01"})["reason"] == "reversed_range"
    assert refusal(api, **{"from": "2026-02-01", "to": "2026-02-01"})["reason"] == "empty_range"
    too_long = refusal(api, **{"from": "2026-01-01", "to": "2027-01-03"})
    assert (too_long["reason"], too_long["maximum"]) == ("too_many_buckets", 366)
    weeks = refusal(api, **{"from": "2026-01-05", "to": "2033-01-11", "bucket": "week"})
    assert weeks["reason"] == "too_many_buckets"
    assert get_report(api, **{"from": "2026-01-05", "to": "2033-01-10", "bucket": "week"})
    assert refusal(api, **{"from": "9999-12-15"})["reason"] == "out_of_range"
    [problem] = refusal(api, bucket="year")["problems"]
    assert problem["field"] == "query.bucket"
    [problem] = refusal(api, **{"from": "2026-13-01"})["problems"]
    assert problem["field"] == "query.from"
