"""The finance report's tests: a small economy built through the API (two currencies, gifts, an
item, a subscription, a refund, a dispute lost and settled, a dispute won, a withdrawal paid, held
and available diamonds), and an independent recomputation of every figure from the ledger's
postings: a replay in Python of every posting in commit order, with its own FIFO queue of lots
per buyer (no lot positions, no ``paid_spent``, no SQL aggregates)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from giftflow.money.policy import load_profile
from giftflow.schema import accounts, postings, transactions
from tests.api.conftest import Api
from tests.earnings.balances.conftest import release
from tests.earnings.withdrawals.conftest import OpenW, WApi, open_live, open_w
from tests.live.conftest import store_version

__all__ = ["Economy", "Reference", "economy", "open_live", "open_w", "reference"]

CARD = {"number": "4242 4242 4242 4242"}
REPORT = "/v1/admin/reports/finance"
FEE_BPS = 1000  # the cash-out fee of the tests' policy: 10%
FIAT_MINOR, PER_HUNDREDTHS = 1, 200  # standard: 1 cent per 2.00 diamonds
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
BALANCES = (
    "deferred_revenue",
    "creator_liability_held",
    "creator_liability_available",
    "creator_liability_in_payout",
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def get_report(api: Api, **params: str) -> dict[str, Any]:
    r = api.client.get(REPORT, params=params, headers=api.admin())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = r.json()
    return body


def get_csv(api: Api, **params: str) -> httpx.Response:
    r: httpx.Response = api.client.get(
        REPORT, params=params, headers=api.admin() | {"Accept": "text/csv"}
    )
    assert r.status_code == 200, r.text
    return r


# --- the economy ---------------------------------------------------------------------------------
@dataclass
class Economy:
    """The app and what was built in it."""

    w: WApi
    purchases: dict[str, str] = field(default_factory=dict)  # name → purchase id
    live: str = ""

    @property
    def api(self) -> Any:
        return self.w.api

    def when(self, text: str) -> None:
        now = at(text)
        assert now >= self.api.clock.now(), (now, self.api.clock.now())
        self.api.clock.set(now)

    def buy(self, user: str, name: str, pack: int, currency: str) -> str:
        r = self.api.client.post(
            "/v1/purchases",
            json={"channel": "app", "pack": pack, "currency": currency, "card": CARD},
            headers=self.api.user(user) | {"Idempotency-Key": f"buy-{name}"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["state"] == "succeeded", r.text
        self.purchases[name] = str(r.json()["id"])
        return self.purchases[name]

    def gift(self, user: str, gift: str, count: int, idem: str) -> None:
        r = self.api.gift(user, self.live, gift, count, idem=idem)
        assert r.status_code == 201, r.text

    def post(self, path: str, body: Any, headers: dict[str, str], ok: int = 200) -> Any:
        r = self.api.client.post(path, json=body, headers=headers)
        assert r.status_code == ok, r.text
        return r.json()

    def dispute(self, name: str, action: str) -> None:
        self.post(
            f"/v1/admin/purchases/{self.purchases[name]}/dispute",
            {"action": action},
            self.api.admin(f"dispute-{name}-{action}"),
        )

    @property
    def engine(self) -> Engine:
        engine: Engine = self.api.ctx.engine
        return engine


def build(w: WApi) -> Economy:
    """Two currencies (USD buyers in the US, JPY in Japan) under `standard` with a 10% cash-out
    fee and the 7-day earnings hold, from 2026-01-01 to 2026-02-01."""
    e = Economy(w)
    api = w.api
    creator = w.ready("c1")  # verified, an authenticator, a PayPal method past its cooling-off
    for user, region in (("us1", "US"), ("us2", "US"), ("us3", "US"), ("jp1", "JP"), ("jp2", "JP")):
        api.person(user, region=region)
    e.when("2026-01-03T09:00:00")
    e.live = api.start("c1")
    r = api.client.put(
        "/v1/creator/subscription-plan", json={"price_coins": 100}, headers=api.user("c1")
    )
    assert r.status_code == 200, r.text
    r = api.client.post(
        "/v1/admin/items",
        json={"id": "frame", "kind": "effect", "name": "frame", "price": 30},
        headers=api.admin(),
    )
    assert r.status_code == 201, r.text

    e.when("2026-01-03T10:00:00")
    e.buy("us1", "us1-small", 70, "USD")  # $0.84, the oldest lot
    e.buy("us1", "us1-big", 1400, "USD")  # $16.80
    e.buy("jp1", "jp1-a", 350, "JPY")  # ¥800
    e.when("2026-01-03T12:00:00")
    e.gift("us1", "panda", 100, "g1")  # 500 coins: the 70 of the small lot, 430 of the big one
    e.gift("jp1", "rose", 50, "g2")
    e.when("2026-01-04T23:59:59")  # the last second of an ISO week (and of a day)
    e.gift("us1", "panda", 1, "g3")
    e.when("2026-01-05T00:00:00")  # the first second of the next
    e.gift("jp1", "rose", 1, "g4")
    e.when("2026-01-05T15:00:00")
    e.post("/v1/items/frame/purchase", {}, api.user("us1") | {"Idempotency-Key": "item"}, 201)
    e.post(
        "/v1/subscriptions",
        {"creator_id": "c1"},
        api.user("us1") | {"Idempotency-Key": "sub"},
        201,
    )

    e.when("2026-01-06T10:00:00")  # a refund of an untouched lot
    refunded = e.buy("us2", "us2", 350, "USD")
    e.post(
        f"/v1/purchases/{refunded}/refund",
        {"reason": "accidental"},
        api.user("us2") | {"Idempotency-Key": "refund"},
    )
    e.buy("us3", "us3", 700, "USD")  # charged back after 100 coins were spent; lost; settled
    e.gift("us3", "panda", 20, "g5")
    e.when("2026-01-07T10:00:00")
    e.dispute("us3", "open")
    e.when("2026-01-08T10:00:00")
    e.dispute("us3", "lost")
    e.when("2026-01-09T10:00:00")
    [case] = [
        d
        for d in api.client.get("/v1/admin/disputes", headers=api.admin()).json()["data"]
        if d["purchase_id"] == e.purchases["us3"]
    ]
    assert case["receivable"]["amount"] > 0
    e.post(
        f"/v1/admin/disputes/{case['id']}/settle",
        {"note": "written off"},
        api.admin("settle"),
    )

    e.when("2026-01-11T06:00:00")  # the gifts of Jan 3 and 4 leave the hold
    release(api)
    e.when("2026-01-12T10:00:00")  # a withdrawal of 200 diamonds: $1.00, fee 10, net 90
    r = w.withdraw(creator, "wd", diamonds=200_00)
    assert r.status_code == 201, r.text
    wid = r.json()["id"]
    assert w.approve(wid).status_code == 200
    w.later(seconds=31)
    assert w.state(wid) == "paid"

    e.when("2026-01-20T10:00:00")  # a dispute won: the removed coins come back as a new segment
    e.buy("jp2", "jp2-small", 70, "JPY")
    e.buy("jp2", "jp2-big", 350, "JPY")
    e.gift("jp2", "panda", 20, "g6")  # 100 coins: 70 + 30, straddling two JPY lots
    e.when("2026-01-21T10:00:00")
    e.dispute("jp2-big", "open")
    e.when("2026-01-22T10:00:00")
    e.dispute("jp2-big", "won")
    e.when("2026-01-25T10:00:00")
    e.gift("jp2", "rose", 50, "g7")

    e.when("2026-01-31T23:59:59")  # the last second of January
    e.buy("jp1", "jp1-b", 350, "JPY")
    e.when("2026-02-01T00:00:00")  # the first of February: held until the 8th
    e.gift("jp1", "rose", 10, "g8")
    e.when("2026-02-01T12:00:00")
    api.assert_clean()
    return e


@pytest.fixture
def economy(open_w: OpenW, database_url: str) -> Iterator[Economy]:
    base = load_profile("standard")
    store_version(
        database_url,
        "standard",
        cashout=base.cashout.model_copy(update={"fee_bps": FEE_BPS}),
    )
    with open_w("standard") as w:
        yield build(w)


# --- the recomputation ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    txn_id: int
    kind: str
    created_at: datetime
    meta: dict[str, Any]
    asset: str
    amount: int
    source: str
    destination: str


def ledger(engine: Engine) -> list[Row]:
    """Every posting with its transaction and account paths, in commit order."""
    debit, credit = accounts.alias("d"), accounts.alias("c")
    query = (
        select(
            transactions.c.id,
            transactions.c.kind,
            transactions.c.created_at,
            transactions.c.meta,
            postings.c.asset,
            postings.c.amount,
            debit.c.path,
            credit.c.path,
        )
        .select_from(
            postings.join(transactions, transactions.c.id == postings.c.txn_id)
            .join(debit, debit.c.id == postings.c.debit_account_id)
            .join(credit, credit.c.id == postings.c.credit_account_id)
        )
        .order_by(transactions.c.created_at, transactions.c.id, postings.c.seq)
    )
    with engine.connect() as conn:
        return [
            Row(t, k, c, json.loads(m) if m else {}, a, n, s, d)
            for t, k, c, m, a, n, s, d in conn.execute(query)
        ]


def fiat(asset: str) -> bool:
    return asset not in ("COIN", "DIAMOND")


def is_paid(path: str) -> bool:
    parts = path.split(":")
    return len(parts) == 3 and parts[0] == "user" and parts[2] == "coins"


def diamond_class(path: str) -> str | None:
    if path.startswith("creator:") and path.endswith(":diamonds:pending"):
        return "held"
    if path.startswith("creator:") and path.endswith(":diamonds"):
        return "available"
    if path in ("platform:holding:pending", "payouts:in_flight"):
        return "in_payout"
    return None


def value(hundredths: int) -> int:
    """Diamonds at the cash-out value: whole 2.00-diamond blocks, a cent each."""
    return hundredths // PER_HUNDREDTHS * FIAT_MINOR


def flow_figures(row: Row) -> list[tuple[str, int]]:
    """The flow figures one fiat posting counts in, with its sign (docs/finance.md)."""
    out = []
    k, s, d, n = row.kind, row.source, row.destination, row.amount
    cash_out, cash_in = s.startswith("platform:cash:"), d.startswith("platform:cash:")
    if k == "purchase" and cash_out:
        out.append(("purchases", n))
    if k == "purchase" and d == "platform:fees:store":
        out.append(("store_fees", n))
    if k == "purchase_refund" and cash_in:
        out.append(("refunds", n))
    if k in ("purchase_dispute", "purchase_provider_refund") and cash_in:
        out.append(("chargebacks", n))
    if k == "purchase_dispute_won" and cash_out:
        out.append(("chargebacks", -n))
    if s.startswith("platform:receivable:"):
        out.append(("receivables", n))
    if d.startswith("platform:receivable:"):
        out.append(("receivables", -n))
    if k == "payout" and s == "payouts:in_flight" and cash_in:
        out.append(("payouts", n))
    if k == "payout_returned" and cash_out:
        out.append(("payouts", -n))
    if k == "payout_submit" and d == "platform:fees:cashout":
        out.append(("cashout_fees", n))
    if k in ("payout_failed", "payout_returned") and s == "platform:fees:cashout":
        out.append(("cashout_fees", -n))
    return out


@dataclass
class Lot:
    currency: str
    price: int
    coins: int
    size: int = 0  # paid coins credited minus removed
    consumed: int = 0

    def recognised(self) -> int:
        return -(-self.consumed * self.price // self.coins)  # rounded up

    def deferred(self) -> int:
        return (self.size - self.consumed) * self.price // self.coins  # rounded down


class Reference:
    """The report recomputed from the postings alone."""

    def __init__(self, rows: list[Row], cashout_currency: str = "USD") -> None:
        self.rows = rows
        self.cashout_currency = cashout_currency

    def report(self, bounds: list[datetime]) -> dict[str, dict[str, Any]]:
        n = len(bounds) - 1
        lots: dict[int, Lot] = {}
        queues: dict[str, list[list[int]]] = defaultdict(list)  # user → [[lot, coins], …]
        diamonds: dict[str, int] = defaultdict(int)
        flows: dict[str, list[dict[str, int]]] = defaultdict(
            lambda: [dict.fromkeys(FIGURES, 0) for _ in range(n)]
        )
        earned: dict[tuple[int, str], int] = defaultdict(int)  # (bucket, currency) → hundredths
        snapshots: list[tuple[dict[str, int], dict[str, int], dict[str, int]]] = []

        def snapshot() -> None:
            recognised: dict[str, int] = defaultdict(int)
            deferred: dict[str, int] = defaultdict(int)
            for lot in lots.values():
                recognised[lot.currency] += lot.recognised()
                deferred[lot.currency] += lot.deferred()
            snapshots.append((recognised, deferred, dict(diamonds)))

        by_txn: dict[int, list[Row]] = {}
        for row in self.rows:
            by_txn.setdefault(row.txn_id, []).append(row)
        for txn in by_txn.values():
            when = txn[0].created_at
            while len(snapshots) <= n and when >= bounds[len(snapshots)]:
                snapshot()
            bucket = len(snapshots) - 1  # -1 before, n after the report
            inside = 0 <= bucket < n
            kind = txn[0].kind
            for row in txn:
                if fiat(row.asset) and inside:
                    for figure, amount in flow_figures(row):
                        flows[row.asset][bucket][figure] += amount
                if row.asset == "DIAMOND":
                    for path, sign in ((row.source, -1), (row.destination, 1)):
                        cls = diamond_class(path)
                        if cls:
                            diamonds[cls] += sign * row.amount
            if kind == "purchase":
                [paid] = [r for r in txn if r.asset == "COIN" and is_paid(r.destination)]
                price = sum(r.amount for r in txn if r.source.startswith("platform:cash:"))
                currency = next(r.asset for r in txn if fiat(r.asset))
                lot_id = int(txn[0].meta["purchase"])
                lots[lot_id] = Lot(currency, price, paid.amount, size=paid.amount)
                queues[paid.destination].append([lot_id, paid.amount])
            elif kind in (
                "purchase_refund",
                "purchase_dispute",
                "purchase_provider_refund",
                "purchase_dispute_won",
            ):
                lot_id = int(txn[0].meta["purchase"])
                for r in txn:
                    if r.asset != "COIN":
                        continue
                    if is_paid(r.source):  # what is left of the lot leaves the queue
                        queue = queues[r.source]
                        assert sum(c for i, c in queue if i == lot_id) == r.amount
                        queue[:] = [s for s in queue if s[0] != lot_id]
                        lots[lot_id].size -= r.amount
                    elif is_paid(r.destination):  # restored at the end of the queue
                        queues[r.destination].append([lot_id, r.amount])
                        lots[lot_id].size += r.amount
            elif kind in ("gift", "item_purchase", "subscription"):
                taken = sum(
                    r.amount
                    for r in txn
                    if r.asset == "COIN" and r.destination.startswith("platform:revenue:")
                )
                credited = sum(
                    r.amount
                    for r in txn
                    if r.asset == "DIAMOND" and r.source == "platform:diamonds:issued"
                )
                for r in txn:
                    if r.asset != "COIN" or not is_paid(r.source):
                        continue
                    left, queue = r.amount, queues[r.source]
                    while left:  # oldest lot first
                        lot_id, coins = queue[0]
                        take = min(left, coins)
                        lots[lot_id].consumed += take
                        if inside:
                            earned[(bucket, lots[lot_id].currency)] += take * credited // taken
                        left -= take
                        if take == coins:
                            queue.pop(0)
                        else:
                            queue[0][1] -= take
            else:
                assert not any(r.asset == "COIN" and is_paid(r.destination) for r in txn), kind
        while len(snapshots) <= n:
            snapshot()

        currencies = sorted(
            set(flows) | {c for s in snapshots for c in s[1]} | {self.cashout_currency}
        )
        out: dict[str, dict[str, Any]] = {}
        for currency in currencies:
            buckets = flows[currency]
            rates = []
            for k in range(n):
                b = buckets[k]
                b["revenue_recognised"] = snapshots[k + 1][0].get(currency, 0) - snapshots[k][
                    0
                ].get(currency, 0)
                b["deferred_revenue"] = snapshots[k + 1][1].get(currency, 0)
                for cls in ("held", "available", "in_payout"):
                    held = snapshots[k + 1][2].get(cls, 0)
                    usd = currency == self.cashout_currency
                    b[f"creator_liability_{cls}"] = value(held) if usd else 0
                rates.append(self.rate(currency, b["revenue_recognised"], earned[(k, currency)]))
            totals = {
                f: buckets[-1][f] if f in BALANCES else sum(b[f] for b in buckets) for f in FIGURES
            }
            total_earned = sum(earned[(k, currency)] for k in range(n))
            out[currency] = {
                "buckets": buckets,
                "rates": rates,
                "totals": totals,
                "rate": self.rate(currency, totals["revenue_recognised"], total_earned),
            }
        return out

    def rate(self, currency: str, revenue: int, hundredths: int) -> tuple[int | None, int | None]:
        """(basis points, creator liability accrued) as the report shows them."""
        if currency != self.cashout_currency:
            return None, None
        accrued = value(hundredths)
        if revenue <= 0:
            return None, accrued
        return (revenue - accrued) * 10_000 // revenue, accrued


def bounds_of(days: list[date]) -> list[datetime]:
    return [datetime.combine(d, time(0), tzinfo=UTC) for d in days]


@pytest.fixture
def reference() -> type[Reference]:
    return Reference
