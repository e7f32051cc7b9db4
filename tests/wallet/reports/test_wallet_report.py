"""The wallet finance report through the API: exact figures of purchases, refunds, disputes and
receivables per day, deferred revenue at the end of the period, JSON and CSV, who may read it,
and the figures rebuilt independently from the postings and the purchase rows."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from giftflow.db import make_engine, unit_of_work
from giftflow.money.policy import BonusRules, load_profile
from giftflow.money.repository import store_policy
from giftflow.schema import accounts, postings, purchases, transactions
from tests.wallet.purchases.conftest import WalletApi

DISPUTED_CARD = {"number": "4000 0000 0000 0259"}
REPORT = "/v1/admin/reports/wallet"


def report(api: WalletApi, first: str, last: str | None = None) -> dict[str, Any]:
    r = api.client.get(REPORT, params={"from": first, "to": last or first}, headers=api.admin())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = r.json()
    return body


def report_csv(api: WalletApi, first: str, last: str | None = None) -> list[dict[str, str]]:
    headers = api.admin() | {"Accept": "text/csv"}
    r = api.client.get(REPORT, params={"from": first, "to": last or first}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in r.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(r.text)))


def refund(api: WalletApi, user: str, purchase_id: str, idem: str) -> None:
    r = api.client.post(
        f"/v1/purchases/{purchase_id}/refund",
        json={"reason": "accidental"},
        headers=api.user(user) | {"Idempotency-Key": idem},
    )
    assert r.status_code == 200, r.text


def dispute(api: WalletApi, purchase_id: str, action: str, idem: str) -> None:
    r = api.client.post(
        f"/v1/admin/purchases/{purchase_id}/dispute",
        json={"action": action},
        headers=api.admin(idem),
    )
    assert r.status_code == 200, r.text


def usd(amount: int) -> dict[str, Any]:
    return {"asset": "USD", "amount": amount, "display": f"{amount // 100}.{amount % 100:02d}"}


def money(row: dict[str, Any], *names: str) -> dict[str, int]:
    return {n: row[n]["amount"] for n in names}


def engine_of(api: WalletApi) -> Engine:
    engine: Engine = api.client.app.state.giftflow.engine  # type: ignore[attr-defined]
    return engine


def test_a_day_with_two_purchases_a_refund_and_a_spend(open_api: Any) -> None:
    with open_api("seed-002") as api:
        api.buyer("v")
        small = api.buy("v", "b1", pack=70).json()
        big = api.buy("v", "b2", pack=350).json()
        assert (small["price"]["amount"], big["price"]["amount"]) == (84, 420)
        refund(api, "v", big["id"], "r1")
        assert api.spend("v", 1).status == 201
        fees = small["store_fee"]["amount"] + big["store_fee"]["amount"]

        body = report(api, "2026-01-01")
        assert (body["from"], body["to"], body["timezone"]) == ("2026-01-01", "2026-01-01", "UTC")
        [day] = body["days"]
        assert (day["date"], day["currency"]) == ("2026-01-01", "USD")
        assert day["gross"] == usd(504)
        assert (day["purchases"], day["coins_sold"], day["bonus_coins"]) == (2, 420, 0)
        assert day["revenue"]["amount"] == 504 - fees
        assert day["store_fees"]["amount"] == fees
        assert (day["refunds"], day["refunded"]) == (1, usd(420))
        nothing = money(
            day,
            "disputed",
            "won_back",
            "receivables_created",
            "receivables_recovered",
            "receivables_written_off",
        )
        assert set(nothing.values()) == {0}
        assert (day["disputes_opened"], day["disputes_won"]) == (0, 0)
        # what is left: 69 of the 70-coin lot, at 84 cents per 70 coins, rounded down
        closing = body["closing"]
        assert closing["deferred_revenue"] == [
            {
                "currency": "USD",
                "deferred_revenue": usd(69 * 84 // 70),
                "unspent_paid_coins": 69,
                "lots": 1,
            }
        ]
        assert 69 * 84 // 70 == 82
        assert closing["bonus_coins_outstanding"] == 0
        assert closing["as_of"] == "2026-01-01T00:00:00Z"  # today: as of now

        # the same figures as CSV
        rows = report_csv(api, "2026-01-01")
        assert [r["section"] for r in rows] == ["day", "deferred_revenue", "bonus_coins"]
        csv_day, csv_deferred, csv_bonus = rows
        assert (csv_day["date"], csv_day["currency"]) == ("2026-01-01", "USD")
        for name in ("purchases", "coins_sold", "bonus_coins", "refunds", "disputes_opened"):
            assert int(csv_day[name]) == day[name], name
        for name in ("gross", "revenue", "store_fees", "refunded", "receivables_created"):
            assert int(csv_day[f"{name}_minor"]) == day[name]["amount"], name
            assert csv_day[f"{name}_display"] == day[name]["display"], name
        assert csv_day["deferred_revenue_minor"] == ""  # a day row has no closing figures
        assert (csv_deferred["currency"], csv_deferred["as_of"]) == ("USD", closing["as_of"])
        assert int(csv_deferred["deferred_revenue_minor"]) == 82
        assert csv_deferred["deferred_revenue_display"] == "0.82"
        assert (int(csv_deferred["unspent_paid_coins"]), int(csv_deferred["lots"])) == (69, 1)
        assert csv_deferred["gross_minor"] == ""
        assert (csv_bonus["currency"], csv_bonus["bonus_coins_outstanding"]) == ("COIN", "0")
        api.assert_clean()


def test_each_day_is_a_row_and_the_range_leaves_other_days_out(open_api: Any) -> None:
    with open_api("seed-002") as api:
        api.buyer("d")
        api.buy("d", "b1", pack=70)
        api.clock.advance(timedelta(days=1))
        api.buy("d", "b2", pack=350)
        both = report(api, "2026-01-01", "2026-01-02")
        assert [(d["date"], d["purchases"], d["gross"]["amount"]) for d in both["days"]] == [
            ("2026-01-01", 1, 84),
            ("2026-01-02", 1, 420),
        ]
        assert [r["date"] for r in report_csv(api, "2026-01-01", "2026-01-02")[:2]] == [
            "2026-01-01",
            "2026-01-02",
        ]
        first = report(api, "2026-01-01")
        assert [d["date"] for d in first["days"]] == ["2026-01-01"]
        # the closing of a past day is as of its end: only the first lot existed
        assert first["closing"]["as_of"] == "2026-01-02T00:00:00Z"
        assert first["closing"]["deferred_revenue"][0]["deferred_revenue"] == usd(84)
        assert any("bonus_coins_outstanding" in n for n in first["closing"]["notes"])
        second = report(api, "2026-01-02", "2026-01-31")
        assert [d["date"] for d in second["days"]] == ["2026-01-02"]
        assert second["closing"]["deferred_revenue"][0]["deferred_revenue"] == usd(504)
        assert report(api, "2025-12-01", "2025-12-31")["days"] == []


def test_a_chargeback_its_receivable_a_won_and_a_written_off_dispute(open_api: Any) -> None:
    with open_api("seed-002") as api:
        api.buyer("cb")
        bought = api.buy("cb", "b1", pack=350, card=DISPUTED_CARD).json()
        assert api.spend("cb", 300).status == 201
        dispute(api, bought["id"], "open", "d1")
        net = 420 - bought["store_fee"]["amount"]
        owed = net * 300 // 350
        [day] = report(api, "2026-01-01")["days"]
        assert (day["purchases"], day["gross"], day["disputes_opened"]) == (1, usd(420), 1)
        assert day["disputed"] == usd(420)  # the provider took the whole price back
        assert day["receivables_created"] == usd(owed)
        assert money(day, "refunded", "won_back", "receivables_recovered") == {
            "refunded": 0,
            "won_back": 0,
            "receivables_recovered": 0,
        }
        closing = report(api, "2026-01-01")["closing"]
        assert closing["deferred_revenue"] == []  # the 50 coins left were removed
        assert api.balance("platform:receivable:cb", "USD") == -owed

        # day 2: the dispute is won: the money, the receivable and the 50 coins come back
        api.clock.advance(timedelta(days=1))
        dispute(api, bought["id"], "won", "d2")
        [won] = report(api, "2026-01-02")["days"]
        assert (won["disputes_won"], won["won_back"]) == (1, usd(420))
        assert won["receivables_recovered"] == usd(owed)
        assert (won["purchases"], won["disputes_opened"]) == (0, 0)
        [deferred] = report(api, "2026-01-02")["closing"]["deferred_revenue"]
        assert (deferred["unspent_paid_coins"], deferred["deferred_revenue"]) == (
            50,
            usd(50 * 420 // 350),
        )

        # day 3: another buyer's dispute is lost and written off
        api.clock.advance(timedelta(days=1))
        api.buyer("lo")
        lost = api.buy("lo", "b1", pack=70, card=DISPUTED_CARD).json()
        assert api.spend("lo", 70).status == 201
        dispute(api, lost["id"], "open", "d3")
        dispute(api, lost["id"], "lost", "d4")
        cases = api.client.get("/v1/admin/disputes?state=lost", headers=api.admin()).json()
        r = api.client.post(
            f"/v1/admin/disputes/{cases['data'][0]['id']}/settle",
            json={"note": "written off"},
            headers=api.admin("s1"),
        )
        assert r.status_code == 200, r.text
        written = 84 - lost["store_fee"]["amount"]
        [day3] = report(api, "2026-01-03")["days"]
        assert (day3["purchases"], day3["gross"], day3["disputes_opened"]) == (1, usd(84), 1)
        assert day3["disputed"] == usd(84)
        assert day3["receivables_created"] == usd(written)
        assert day3["receivables_written_off"] == usd(written)
        rows = report_csv(api, "2026-01-01", "2026-01-03")
        days = {r["date"]: r for r in rows if r["section"] == "day"}
        assert int(days["2026-01-01"]["receivables_created_minor"]) == owed
        assert int(days["2026-01-02"]["receivables_recovered_minor"]) == owed
        assert int(days["2026-01-03"]["receivables_written_off_minor"]) == written
        api.assert_clean()


def test_only_admins_read_it_and_the_range_is_checked(open_api: Any) -> None:
    with open_api("seed-002") as api:
        api.buyer("u")
        ok = {"from": "2026-01-01", "to": "2026-01-01"}
        assert api.client.get(REPORT, params=ok).status_code == 401
        for headers in (api.user("u"), api.platform()):
            r = api.client.get(REPORT, params=ok, headers=headers)
            assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
        for params in (
            {"from": "2026-01-02", "to": "2026-01-01"},  # reversed
            {"from": "2025-01-01", "to": "2026-01-02"},  # 367 days
            {"from": "2026-01-01", "to": "2026-02-30"},  # no such day
            {"from": "2026-01-01"},  # no end
            {"from": "9999-12-31", "to": "9999-12-31"},  # no day after it
        ):
            r = api.client.get(REPORT, params=params, headers=api.admin())
            assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error"), params
        leap = {"from": "2024-01-01", "to": "2024-12-31"}  # 366 days: the longest report
        assert api.client.get(REPORT, params=leap, headers=api.admin()).status_code == 200


def test_gross_and_refunds_rebuilt_from_the_postings(open_api: Any) -> None:
    with open_api("seed-002") as api:
        api.buyer("g")
        api.buyer("h")
        ids = [api.buy("g", f"b{i}", pack=p).json()["id"] for i, p in enumerate((70, 350, 700))]
        api.buy("h", "b", pack=1400)
        refund(api, "g", ids[2], "r1")
        refund(api, "g", ids[1], "r2")
        api.clock.advance(timedelta(days=1))
        api.buy("h", "b2", pack=70)  # another day: not in the report below
        [day] = report(api, "2026-01-01")["days"]

        start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
        debit, credit = accounts.alias("d"), accounts.alias("c")
        stmt = (
            select(transactions.c.kind, debit.c.path, credit.c.path, postings.c.amount)
            .select_from(
                postings.join(transactions, transactions.c.id == postings.c.txn_id)
                .join(debit, debit.c.id == postings.c.debit_account_id)
                .join(credit, credit.c.id == postings.c.credit_account_id)
            )
            .where(
                transactions.c.created_at >= start,
                transactions.c.created_at < end,
                postings.c.asset == "USD",
            )
        )
        with engine_of(api).connect() as conn:
            every = list(conn.execute(stmt))
            prices = conn.execute(
                select(purchases.c.price_minor).where(
                    purchases.c.succeeded_at >= start, purchases.c.succeeded_at < end
                )
            ).scalars()
            by_rows = sum(prices)
        gross = sum(
            amount
            for kind, source, _, amount in every
            if kind == "purchase" and source.startswith("platform:cash:")
        )
        refunded = sum(
            amount
            for kind, _, destination, amount in every
            if kind in ("purchase_refund", "purchase_provider_refund")
            and destination.startswith("platform:cash:")
        )
        assert (gross, refunded) == (84 + 420 + 840 + 1680, 840 + 420)
        assert day["gross"]["amount"] == gross == by_rows  # ledger and purchase rows agree
        assert day["refunded"]["amount"] == refunded


def test_the_closing_of_a_past_day_does_not_change_with_later_activity(open_api: Any) -> None:
    """Deferred revenue at the end of a day is rebuilt from the ledger, whatever happened since:
    spending, a refund, a chargeback of a half-spent lot, a dispute opened and won."""
    with open_api("seed-002") as api:
        for user in ("h", "k"):
            api.buyer(user)
        api.buy("h", "a", pack=70)
        api.buy("h", "b", pack=350)
        c = api.buy("h", "c", pack=700, card=DISPUTED_CARD).json()
        d = api.buy("k", "d", pack=350, card=DISPUTED_CARD).json()
        assert api.spend("h", 100).status == 201  # 70 of a, 30 of b
        assert api.spend("k", 10).status == 201
        first = report(api, "2026-01-01")
        expected = 320 * 420 // 350 + 840 + 340 * 420 // 350  # a is spent; b, c and d are lots
        assert first["closing"]["deferred_revenue"] == [
            {
                "currency": "USD",
                "deferred_revenue": usd(expected),
                "unspent_paid_coins": 320 + 700 + 340,
                "lots": 3,
            }
        ]

        api.clock.advance(timedelta(days=1))
        assert api.spend("h", 400).status == 201  # the rest of b, 80 of c
        e = api.buy("h", "e", pack=70).json()
        refund(api, "h", e["id"], "r1")
        dispute(api, c["id"], "open", "d1")  # c's 620 left are removed
        dispute(api, d["id"], "open", "d2")
        dispute(api, d["id"], "won", "d3")  # d's 340 come back at the end of k's sequence
        assert api.spend("k", 5).status == 201
        again = report(api, "2026-01-01")
        assert again["closing"]["deferred_revenue"] == first["closing"]["deferred_revenue"]
        assert again["days"] == first["days"]
        assert again["closing"]["as_of"] == "2026-01-02T00:00:00Z"

        # today's closing equals the lots as the purchases API shows them
        now = report(api, "2026-01-02")["closing"]["deferred_revenue"]
        value = coins = 0
        for user in ("h", "k"):
            for p in api.client.get("/v1/purchases", headers=api.user(user)).json()["data"]:
                left = p["remaining_coins"]
                value += left * p["price"]["amount"] // p["coins"]["amount"]
                coins += left
        assert (coins, value) == (335, 335 * 420 // 350)
        assert now == [
            {
                "currency": "USD",
                "deferred_revenue": usd(value),
                "unspent_paid_coins": 335,
                "lots": 1,
            }
        ]
        api.assert_clean()


def test_the_policy_time_zone_store_fees_and_bonus_coins(open_api: Any, database_url: str) -> None:
    """Days are the policy's: under America/New_York, 00:00 UTC on 1 January is still New
    Year's Eve. A store fee and a first-purchase bonus show in their own columns."""
    base = load_profile("seed-002")
    policy = base.model_copy(
        update={
            "version": 2,
            "effective_from": datetime(2025, 6, 1, tzinfo=UTC),
            "timezone": "America/New_York",
            "prices": [p.model_copy(update={"store_fee_bps": 3000}) for p in base.prices],
            "bonuses": BonusRules(first_purchase_percent=10),
        }
    )
    engine = make_engine(database_url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            store_policy(conn, policy, datetime(2025, 6, 1, tzinfo=UTC))
    finally:
        engine.dispose()
    with open_api("seed-002") as api:
        api.buyer("ny")
        eve = api.buy("ny", "b1", pack=70).json()  # 2025-12-31 19:00 in New York
        api.clock.advance(timedelta(hours=6))
        day = api.buy("ny", "b2", pack=350).json()  # 2026-01-01 01:00
        assert eve["bonus_coins"]["amount"] == 7 and day["bonus_coins"]["amount"] == 0
        fees = (eve["store_fee"]["amount"], day["store_fee"]["amount"])
        assert fees == (84 * 3000 // 10_000, 420 * 3000 // 10_000)

        body = report(api, "2025-12-31", "2026-01-01")
        assert body["timezone"] == "America/New_York"
        rows = [
            (d["date"], d["gross"]["amount"], d["revenue"]["amount"], d["store_fees"]["amount"])
            for d in body["days"]
        ]
        assert rows == [
            ("2025-12-31", 84, 84 - fees[0], fees[0]),
            ("2026-01-01", 420, 420 - fees[1], fees[1]),
        ]
        assert [d["bonus_coins"] for d in body["days"]] == [7, 0]
        assert body["closing"]["bonus_coins_outstanding"] == 7
        eve_only = report(api, "2025-12-31")
        assert [d["date"] for d in eve_only["days"]] == ["2025-12-31"]
        # deferred revenue is valued at the price paid (the store's share included)
        assert eve_only["closing"]["as_of"] == "2026-01-01T05:00:00Z"
        assert eve_only["closing"]["deferred_revenue"][0]["deferred_revenue"] == usd(84)
        api.assert_clean()


def test_coins_an_operator_moves_to_revenue_are_not_spending_in_the_closing(
    open_api: Any,
) -> None:
    """Only spending moves the buyer's place in the paid sequence; an operator's transfer of
    paid coins does not, so the closing of an earlier day must not count it as spent since."""
    with open_api("seed-002") as api:
        api.buyer("op")
        api.buy("op", "b", pack=70)  # 70 coins for 84 cents
        assert api.spend("op", 30).status == 201
        api.clock.advance(timedelta(days=1))
        r = api.client.post(
            "/v1/admin/transfers",
            json={
                "postings": [
                    {
                        "source": "user:op:coins",
                        "destination": "platform:revenue:gifts",
                        "asset": "COIN",
                        "amount": 10,
                    }
                ]
            },
            headers=api.admin("move-10"),
        )
        assert r.status_code == 201, r.text
        closing = report(api, "2026-01-01")["closing"]
        assert closing["as_of"] == "2026-01-02T00:00:00Z"
        [deferred] = closing["deferred_revenue"]
        # at the end of day one the lot had 70 - 30 = 40 unspent coins: 84 × 40 / 70 = 48
        assert (deferred["unspent_paid_coins"], deferred["lots"]) == (40, 1)
        assert deferred["deferred_revenue"] == usd(48)
        api.assert_clean()
