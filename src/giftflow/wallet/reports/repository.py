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
- **Exact sums.** Each amount is summed as two halves (``amount >> 32`` and
  ``amount & 0xFFFFFFFF``), neither of which can overflow a 64-bit sum, and joined in Python (as
  ``giftflow reconcile`` does).
- **Lots at a moment T.** A lot's size at T comes from the ledger: the coins the purchase's own
  transactions (``meta.purchase``) moved into minus out of the buyer's paid account before T
  (credited, refunded, charged back, restored after a won dispute). How much of it was consumed
  by T follows from the lot's segments in the buyer's paid sequence and ``paid_spent`` at T, which
  is today's ``paid_spent`` minus the paid coins spent since T (postings ``user:*:coins →
  platform:revenue:*`` at or after T). This works because positions that spending has consumed
  never move: coins leave the sequence (refund, chargeback) only at or above ``paid_spent``, so a
  segment's consumed part keeps its place, and every lot credited or restored after T starts at
  or above ``paid_spent`` at T. See ``giftflow.wallet.purchases.lots``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    String,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnClause, ColumnElement

from giftflow.db import read_snapshot
from giftflow.schema import accounts, postings, purchases, transactions, wallet_state
from giftflow.wallet.purchases.commands import ISSUED, REVENUE, STORE_FEES, WRITEOFFS
from giftflow.wallet.purchases.repository import PurchaseRow, purchase_row

# the transaction kinds of the purchases feature (src/giftflow/wallet/purchases/commands.py)
PURCHASE = "purchase"
REFUND = "purchase_refund"
DISPUTE = "purchase_dispute"
PROVIDER_REFUND = "purchase_provider_refund"
DISPUTE_WON = "purchase_dispute_won"
WRITEOFF = "receivable_writeoff"
WALLET_KINDS = (PURCHASE, REFUND, DISPUTE, PROVIDER_REFUND, DISPUTE_WON, WRITEOFF)
# the kinds that move a lot's coins in or out of the buyer's paid account
LOT_KINDS = (PURCHASE, REFUND, DISPUTE, PROVIDER_REFUND, DISPUTE_WON)

COIN = "COIN"
PAID = "user:%:coins"  # LIKE pattern: ends in ':coins', so not ':coins:bonus' nor ':exchanged'
BONUS = "user:%:coins:bonus"
SPENT_INTO = "platform:revenue:%"  # where spending sends paid coins (gifts, items, …)

# inlined, so PostgreSQL sees ``bigint >> integer`` and ``bigint & bigint``
_SHIFT: ColumnClause[int] = literal_column("32")
_LOW: ColumnClause[int] = literal_column("4294967295")


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


@dataclass(frozen=True, slots=True)
class LotGroup:
    """``lots`` lots of the same price and size, each with ``remaining`` unspent paid coins."""

    currency: str
    price_minor: int
    coins: int
    remaining: int
    lots: int


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
            lots=lot_groups(conn, as_of),
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
            postings.c.amount.op(">>")(_SHIFT).label("high"),
            postings.c.amount.op("&")(_LOW).label("low"),
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
        Flow(int(day), currency, kind, source, destination, asset, _joined(high, low))
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


def _joined(high: Any, low: Any) -> int:
    return int(high or 0) * 2**32 + int(low or 0)


# --- the closing snapshot ----------------------------------------------------------------------
def _meta_purchase(conn: Connection) -> ColumnElement[Any]:
    """``meta.purchase`` of a transaction, as text (the purchase id)."""
    if conn.dialect.name == "postgresql":
        return func.jsonb_extract_path_text(cast(transactions.c.meta, JSONB), "purchase")
    return cast(func.json_extract(transactions.c.meta, "$.purchase"), String)


def _consumed(start: Any, coins: Any, spent: Any) -> ColumnElement[Any]:
    """How much of the segment ``[start, start + coins)`` spending up to ``spent`` consumed
    (``Segment.consumed``; a missing or empty segment consumed nothing)."""
    return case(
        (or_(start.is_(None), coins <= 0, spent <= start), 0),
        (spent - start >= coins, coins),
        else_=spent - start,
    )


def lot_groups(conn: Connection, as_of: datetime) -> list[LotGroup]:
    """The lots with unspent paid coins at ``as_of``, grouped by (currency, price, size,
    remaining coins) — one row for all the untouched lots of a pack."""
    debit, credit = accounts.alias("debit"), accounts.alias("credit")
    # paid coins each user spent at or after as_of
    spent_since = (
        select(debit.c.owner_id.label("user_id"), func.sum(postings.c.amount).label("coins"))
        .select_from(
            postings.join(debit, debit.c.id == postings.c.debit_account_id).join(
                credit, credit.c.id == postings.c.credit_account_id
            )
        )
        .where(
            postings.c.created_at >= as_of,
            postings.c.asset == COIN,
            debit.c.path.like(PAID),
            credit.c.path.like(SPENT_INTO),
        )
        .group_by(debit.c.owner_id)
        .subquery("spent_since")
    )
    # each lot's paid coins before as_of, by its own transactions
    moved = (
        select(
            _meta_purchase(conn).label("purchase_id"),
            case((credit.c.path.like(PAID), postings.c.amount), else_=-postings.c.amount).label(
                "coins"
            ),
        )
        .select_from(
            postings.join(transactions, transactions.c.id == postings.c.txn_id)
            .join(debit, debit.c.id == postings.c.debit_account_id)
            .join(credit, credit.c.id == postings.c.credit_account_id)
        )
        .where(
            transactions.c.kind.in_(LOT_KINDS),
            transactions.c.created_at < as_of,
            postings.c.asset == COIN,
            or_(debit.c.path.like(PAID), credit.c.path.like(PAID)),
        )
        .subquery("moved")
    )
    size = (
        select(moved.c.purchase_id, func.sum(moved.c.coins).label("coins"))
        .group_by(moved.c.purchase_id)
        .subquery("size")
    )
    spent = func.coalesce(wallet_state.c.paid_spent, 0) - func.coalesce(spent_since.c.coins, 0)
    p = purchases.c
    lot = (
        select(
            p.currency,
            p.price_minor,
            p.coins,
            (
                size.c.coins
                - _consumed(p.lot_start, p.coins - p.coins_removed, spent)
                - _consumed(p.restored_start, p.restored_coins, spent)
            ).label("remaining"),
        )
        .select_from(
            purchases.join(size, size.c.purchase_id == cast(p.id, String))
            .outerjoin(wallet_state, wallet_state.c.user_id == p.user_id)
            .outerjoin(spent_since, spent_since.c.user_id == p.user_id)
        )
        .subquery("lot")
    )
    keys = (lot.c.currency, lot.c.price_minor, lot.c.coins, lot.c.remaining)
    rows = conn.execute(
        select(*keys, func.count()).where(lot.c.remaining > 0).group_by(*keys).order_by(*keys)
    )
    return [
        LotGroup(currency, int(price), int(coins), int(remaining), int(n))
        for currency, price, coins, remaining, n in rows
    ]


def bonus_outstanding(conn: Connection) -> int:
    """The sum of every ``user:*:coins:bonus`` balance now (shards and users summed)."""
    high, low = conn.execute(
        select(
            func.sum(accounts.c.balance.op(">>")(_SHIFT)),
            func.sum(accounts.c.balance.op("&")(_LOW)),
        ).where(accounts.c.path.like(BONUS), accounts.c.asset == COIN)
    ).one()
    return _joined(high, low)


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
