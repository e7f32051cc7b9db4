"""The wallet report's SQL: the purchase flows of the ledger per local day, and the closing
snapshot (what is left of every lot at a moment, bonus coins outstanding).

Everything is aggregated in the database (``GROUP BY``); Python receives one row per
(day, currency, kind, source class, destination class, asset), never one per posting. All the
queries of one report run in one read snapshot (``REPEATABLE READ READ ONLY`` on PostgreSQL, one
read transaction on SQLite), so the daily flows and the closing figures describe the same ledger.

- **Days.** The service hands the UTC instants where the report's local days begin (and where
  the last one ends); a transaction belongs to day *i* when ``bounds[i] <= created_at <
  bounds[i + 1]``. The day is a ``CASE`` over those bounds, computed in a subquery and grouped
  on outside it (PostgreSQL would not match a ``GROUP BY`` expression whose parameters are bound
  separately from the select list's).
- **Currency.** Each wallet transaction moves exactly one fiat currency (its purchase's); its
  COIN postings are reported under that currency.
- **Accounts by class.** A posting's accounts are classified by path: ``cash``
  (``platform:cash:*``), ``revenue`` (``platform:revenue:coins``), ``fees``
  (``platform:fees:store``), ``receivable`` (``platform:receivable:*``), ``writeoffs``,
  ``issued`` (``platform:coins:issued``), ``paid`` (``user:*:coins``), ``bonus``
  (``user:*:coins:bonus``), else ``other``. Shards of one account are one class.
- **Exact sums** and **lots at a moment T**: ``giftflow.reporting.lots``, which the finance report
  shares, so both value the open lots identically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    case,
    func,
    literal_column,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from giftflow.db import read_snapshot
from giftflow.reporting.lots import (
    COIN,
    DISPUTE,
    DISPUTE_WON,
    PAID,
    PROVIDER_REFUND,
    PURCHASE,
    REFUND,
    LotGroup,
    halves,
    joined,
    open_lots,
)
from giftflow.schema import accounts, postings, purchases, transactions, wallet_state
from giftflow.wallet.purchases.commands import ISSUED, REVENUE, STORE_FEES, WRITEOFFS
from giftflow.wallet.purchases.repository import PurchaseRow, purchase_row

# the transaction kinds of the purchases feature (src/giftflow/wallet/purchases/commands.py)
WRITEOFF = "receivable_writeoff"
WALLET_KINDS = (PURCHASE, REFUND, DISPUTE, PROVIDER_REFUND, DISPUTE_WON, WRITEOFF)
BONUS = "user:%:coins:bonus"


@dataclass(frozen=True, slots=True)
class Flow:
    """The sum of the postings of one kind from one account class to another, one day."""

    day: int  # index into the report's days
    currency: str
    kind: str
    source: str
    destination: str
    asset: str
    amount: int


@dataclass(frozen=True, slots=True)
class KindCount:
    day: int
    currency: str
    kind: str
    transactions: int


@dataclass(slots=True)
class ReportData:
    flows: list[Flow] = field(default_factory=list)
    counts: list[KindCount] = field(default_factory=list)
    lots: list[LotGroup] = field(default_factory=list)
    bonus_outstanding: int = 0


def read_report(engine: Engine, bounds: Sequence[datetime], as_of: datetime) -> ReportData:
    """Everything one report needs, in one read snapshot: the flows of the days that
    ``bounds`` delimits, and the lots as of ``as_of`` (bonus coins: now)."""
    with read_snapshot(engine) as conn:
        return ReportData(
            flows=day_flows(conn, bounds),
            counts=day_counts(conn, bounds),
            lots=open_lots(conn, as_of),
            bonus_outstanding=bonus_outstanding(conn),
        )


# --- the days ----------------------------------------------------------------------------------
def _day(column: Any, bounds: Sequence[datetime]) -> ColumnElement[Any]:
    """The index of the day ``column`` falls in (rows outside the bounds are filtered out)."""
    inner = bounds[1:-1]
    if not inner:
        return literal_column("0")
    return case(
        *[(column < b, literal_column(str(i))) for i, b in enumerate(inner)],
        else_=literal_column(str(len(inner))),
    )


def _wallet_transactions(bounds: Sequence[datetime]) -> Any:
    created = transactions.c.created_at
    return (
        select(transactions.c.id, transactions.c.kind, _day(created, bounds).label("day"))
        .where(
            transactions.c.kind.in_(WALLET_KINDS),
            created >= bounds[0],
            created < bounds[-1],
        )
        .subquery("t")
    )


def _currencies(txns: Any) -> Any:
    """Each transaction's fiat currency (the asset of its postings that is not COIN)."""
    return (
        select(postings.c.txn_id, func.min(postings.c.asset).label("currency"))
        .select_from(postings.join(txns, txns.c.id == postings.c.txn_id))
        .where(postings.c.asset != COIN)
        .group_by(postings.c.txn_id)
        .subquery("ccy")
    )


def _path_class(path: Any) -> ColumnElement[Any]:
    return case(
        (path.like("platform:cash:%"), "cash"),
        (path == REVENUE, "revenue"),
        (path == STORE_FEES, "fees"),
        (path.like("platform:receivable:%"), "receivable"),
        (path == WRITEOFFS, "writeoffs"),
        (path == ISSUED, "issued"),
        (path.like(PAID), "paid"),
        (path.like(BONUS), "bonus"),
        else_="other",
    )


def day_flows(conn: Connection, bounds: Sequence[datetime]) -> list[Flow]:
    """Per day, currency, kind, source class, destination class and asset: the amount moved."""
    txns = _wallet_transactions(bounds)
    ccy = _currencies(txns)
    debit, credit = accounts.alias("debit"), accounts.alias("credit")
    moves = (
        select(
            txns.c.day,
            ccy.c.currency,
            txns.c.kind,
            _path_class(debit.c.path).label("source"),
            _path_class(credit.c.path).label("destination"),
            postings.c.asset,
            *halves(postings.c.amount),
        )
        .select_from(
            postings.join(txns, txns.c.id == postings.c.txn_id)
            .join(ccy, ccy.c.txn_id == postings.c.txn_id)
            .join(debit, debit.c.id == postings.c.debit_account_id)
            .join(credit, credit.c.id == postings.c.credit_account_id)
        )
        .subquery("moves")
    )
    keys = (
        moves.c.day,
        moves.c.currency,
        moves.c.kind,
        moves.c.source,
        moves.c.destination,
        moves.c.asset,
    )
    rows = conn.execute(
        select(*keys, func.sum(moves.c.high), func.sum(moves.c.low)).group_by(*keys)
    )
    return [
        Flow(int(day), currency, kind, source, destination, asset, joined(high, low))
        for day, currency, kind, source, destination, asset, high, low in rows
    ]


def day_counts(conn: Connection, bounds: Sequence[datetime]) -> list[KindCount]:
    """Per day, currency and kind: how many transactions."""
    txns = _wallet_transactions(bounds)
    ccy = _currencies(txns)
    keys = (txns.c.day, ccy.c.currency, txns.c.kind)
    rows = conn.execute(
        select(*keys, func.count())
        .select_from(txns.join(ccy, ccy.c.txn_id == txns.c.id))
        .group_by(*keys)
    )
    return [KindCount(int(day), currency, kind, int(n)) for day, currency, kind, n in rows]


def bonus_outstanding(conn: Connection) -> int:
    """The sum of every ``user:*:coins:bonus`` balance now (shards and users summed)."""
    high, low = halves(accounts.c.balance)
    row = conn.execute(
        select(func.sum(high), func.sum(low)).where(
            accounts.c.path.like(BONUS), accounts.c.asset == COIN
        )
    ).one()
    return joined(*row)


# --- the back office's purchase list ---------------------------------------------------------
def list_all_purchases(
    conn: Connection,
    *,
    state: str | None,
    user_id: str | None,
    limit: int,
    before_id: int | None,
) -> tuple[list[PurchaseRow], dict[str, int]]:
    """Every user's purchases, newest first, filtered by state and buyer; and each buyer's
    ``paid_spent`` (what is left of a lot follows from it)."""
    stmt = select(purchases)
    if state is not None:
        stmt = stmt.where(purchases.c.state == state)
    if user_id is not None:
        stmt = stmt.where(purchases.c.user_id == user_id)
    if before_id is not None:
        stmt = stmt.where(purchases.c.id < before_id)
    rows = [
        purchase_row(r)
        for r in conn.execute(stmt.order_by(purchases.c.id.desc()).limit(limit)).mappings()
    ]
    buyers = sorted({r.user_id for r in rows})
    spent: dict[str, int] = {}
    if buyers:
        found = conn.execute(
            select(wallet_state.c.user_id, wallet_state.c.paid_spent).where(
                wallet_state.c.user_id.in_(buyers)
            )
        )
        spent = {uid: int(n) for uid, n in found}
    return rows, spent
