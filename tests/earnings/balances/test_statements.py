"""Monthly statements: gifts received by live, diamonds earned, held, released, clawed back,
exchanged and withdrawn, each diamond account opening + credits - debits = closing; as JSON and
as CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.earnings.balances.conftest import (
    LiveApi,
    OpenLive,
    clawback,
    err,
    exchange,
    open_live,
    release,
    statement,
    withdrawal,
)

__all__ = ["open_live"]


def a_month_of_earnings(api: LiveApi) -> tuple[str, str, str]:
    """January: two lives (85.00 diamonds), 5.00 clawed back, 80.00 released on the 8th, 24.00
    exchanged for 10 coins. February: a third live, 5.00 diamonds still held."""
    api.creator("c1")
    api.viewer("v1", coins=1000)
    first = api.start("c1", "morning show")
    assert api.gift("v1", first, "rose", 100, idem="a").status_code == 201  # 50.00
    assert api.gift("v1", first, "panda", 10, idem="b").status_code == 201  # 25.00
    assert api.end(first, "c1").status_code == 200
    second = api.start("c1", "=HYPERLINK(1)")
    assert api.gift("v1", second, "rose", 20, idem="c").status_code == 201  # 10.00
    assert api.end(second, "c1").status_code == 200
    assert clawback(api, "c1", 500, "k").status_code == 201
    api.clock.advance(timedelta(days=7))
    assert release(api) == 1
    r = exchange(api, "c1", 2500, "x")
    assert r.status_code == 201, r.text
    api.clock.set(datetime(2026, 2, 2, 12, tzinfo=UTC))
    third = api.start("c1", "february")
    assert api.gift("v1", third, "rose", 10, idem="d").status_code == 201  # 5.00, held
    return first, second, third


def amounts(node: dict[str, Any]) -> dict[str, int]:
    return {k: v["amount"] for k, v in node.items()}


def test_a_month_as_json(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        first, second, _ = a_month_of_earnings(api)
        withdrawal(api, 1, "c1", date(2026, 1, 20), 1000)
        withdrawal(api, 2, "c1", date(2026, 1, 21), 500, state="failed")
        r = statement(api, "c1", "2026-01")
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["period"], body["timezone"]) == ("2026-01", "UTC")
        assert (body["starts_at"], body["ends_at"]) == (
            "2026-01-01T00:00:00Z",
            "2026-02-01T00:00:00Z",
        )
        assert body["as_of"] == "2026-02-01T00:00:00Z"
        assert amounts(body["diamonds"]) == {
            "earned": 8500,
            "held": 8500,
            "released": 8000,
            "clawed_back": 500,
            "exchanged": 2400,
            "exchanged_coins": 10,
            "withdrawn": 200_000,
        }
        accounts = {
            a["account"]: amounts({k: v for k, v in a.items() if k != "account"})
            for a in body["accounts"]
        }
        assert accounts == {
            "available": {"opening": 0, "credits": 8000, "debits": 2400, "closing": 5600},
            "held": {"opening": 0, "credits": 8500, "debits": 8500, "closing": 0},
        }
        movements = {
            (m["account"], m["kind"]): (m["credits"]["amount"], m["debits"]["amount"])
            for m in body["movements"]
        }
        assert movements == {
            ("available", "exchange"): (0, 2400),
            ("available", "hold_release"): (8000, 0),
            ("held", "clawback"): (0, 500),
            ("held", "gift"): (8500, 0),
            ("held", "hold_release"): (0, 8000),
        }
        assert [
            (w["currency"], w["count"], w["gross"]["amount"], w["fees"]["amount"])
            for w in body["withdrawals"]
        ] == [("USD", 1, 1000, 0)]
        lives = [
            (
                x["live_id"],
                x["title"],
                x["sends"],
                x["gifts"],
                x["coins"]["amount"],
                x["diamonds"]["amount"],
            )
            for x in body["lives"]
        ]
        assert lives == [
            (first, "morning show", 2, 110, 150, 7500),
            (second, "=HYPERLINK(1)", 1, 20, 20, 1000),
        ]
        assert body["lives"][0]["started_at"] == "2026-01-01T00:00:00Z"


def test_the_next_month_opens_where_the_last_closed(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        _, _, third = a_month_of_earnings(api)
        body = statement(api, "c1", "2026-02").json()
        assert body["as_of"] == "2026-02-02T12:00:00Z"  # the month has not ended
        accounts = {
            a["account"]: (a["opening"]["amount"], a["closing"]["amount"]) for a in body["accounts"]
        }
        assert accounts == {"available": (5600, 5600), "held": (0, 500)}
        assert body["diamonds"]["earned"]["amount"] == 500
        assert body["diamonds"]["released"]["amount"] == 0
        assert [(x["live_id"], x["diamonds"]["amount"]) for x in body["lives"]] == [(third, 500)]
        # before any earnings, and long after: nothing moved, the balances as they stood
        empty = statement(api, "c1", "2025-12").json()
        assert [(a["opening"]["amount"], a["closing"]["amount"]) for a in empty["accounts"]] == [
            (0, 0),
            (0, 0),
        ]
        later = statement(api, "c1", "2027-06").json()
        assert [(a["opening"]["amount"], a["closing"]["amount"]) for a in later["accounts"]] == [
            (5600, 5600),
            (500, 500),
        ]
        assert later["lives"] == [] and later["movements"] == []


def test_a_month_as_csv(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        first, second, _ = a_month_of_earnings(api)
        r = statement(api, "c1", "2026-01", accept="text/csv")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        assert 'filename="statement-2026-01.csv"' in r.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert list(rows[0]) == [
            "section",
            "name",
            "account",
            "kind",
            "live_id",
            "live_title",
            "asset",
            "amount",
            "display",
        ]
        cells = {(x["section"], x["name"], x["account"], x["kind"], x["live_id"]): x for x in rows}
        earned = cells[("diamonds", "earned", "", "", "")]
        assert (earned["asset"], earned["amount"], earned["display"]) == (
            "DIAMOND",
            "8500",
            "85.00",
        )
        assert cells[("account", "closing", "available", "", "")]["amount"] == "5600"
        assert cells[("movement", "debits", "held", "clawback", "")]["amount"] == "500"
        gifts = cells[("live", "gifts", "", "", first)]
        assert (gifts["amount"], gifts["asset"], gifts["live_title"]) == ("110", "", "morning show")
        # a title that a spreadsheet would run as a formula is written as text
        assert cells[("live", "coins", "", "", second)]["live_title"] == "'=HYPERLINK(1)"
        # JSON stays the default
        default = statement(api, "c1", "2026-01", accept="application/json, text/csv;q=0.5")
        assert default.headers["content-type"].startswith("application/json")


def test_the_period_is_checked(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        api.creator("c1")
        for period in ("2026-13", "2026-1", "2026-00", "26-01", "2026-01-01", "0000-01", ""):
            assert err(statement(api, "c1", period)) == (422, "validation_error"), period
        r = api.client.get("/v1/creator/statements", headers=api.user("c1"))
        assert err(r) == (422, "validation_error")
        r = api.client.get(
            "/v1/creator/statements", params={"period": "2026-01"}, headers=api.admin()
        )
        assert err(r) == (403, "forbidden")
        assert err(statement(api, "ghost", "2026-01")) == (404, "not_found")
