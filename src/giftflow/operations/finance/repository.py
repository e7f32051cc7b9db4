"""The finance report's SQL: every figure is a sum of ledger postings, aggregated in the database.

Python receives rows per (bucket, kind, account class, asset) for the money flows, per (bucket,
account class) for the diamond balances, one row per (lot, bucket) where a lot changed, and the
lots still open at the start grouped by (currency, price, size, remaining) — never one row per
posting. All queries of one report run in one read snapshot (``REPEATABLE READ READ ONLY`` on
PostgreSQL, one read transaction on SQLite), so flows and balances describe the same ledger.

- **Buckets.** The service hands the UTC instants where the buckets begin, then where the last one
  ends (``bounds``, one more than the buckets). A transaction's bucket is ``bisect_right(bounds,
  created_at) - 1``: -1 before the report, ``len(bounds) - 1`` after it. It is a balanced ``CASE``
  tree over the bounds (about nine comparisons for a year of days, whatever the time zone or
  calendar), computed in a subquery and grouped on outside it (PostgreSQL does not match a
  ``GROUP BY`` expression whose parameters are bound apart from the select list's).
- **Time and kinds.** Transactions are picked by kind and time together, which the index
  ``transactions (kind, created_at)`` serves; the kinds are listed below (``*_KINDS``).
- **Exact sums** and **the open lots at a moment T**: ``giftflow.reporting.lots``, which the
  wallet report shares, so both value them identically.
- **Lots within the report.** Each spend is placed in the buyer's paid sequence by a running sum
  over the buyer's spends in commit order (``created_at``, then transaction id), and the part of
  it that falls in each lot's segments is that lot's consumption.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    and_,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from giftflow.db import read_snapshot
from giftflow.reporting.lots import (
    COIN,
    GIFT,
    LOT_KINDS,
    SPEND_KINDS,
    SPENT_INTO,
    SUBSCRIPTION,
    ZERO,
    LotGroup,
    halves,
    is_paid,
    joined,
    legs,
    lot_state,
    meta_purchase,
    open_lots,
)
from giftflow.schema import accounts, postings, purchases, transactions, wallet_state

DIAMOND = "DIAMOND"

# --- the transaction kinds the report reads (features' own strings; the lots' and spends' kinds
# are giftflow.reporting.lots') ---------------------------------------------------------------
WRITEOFF = "receivable_writeoff"
PAYOUT_SUBMIT = "payout_submit"
PAYOUT = "payout"
PAYOUT_FAILED = "payout_failed"
PAYOUT_RETURNED = "payout_returned"
TRANSFER = "transfer"  # an operator's transfer
REVERSAL = "reversal"  # an operator's reversal

# the spends that also credit the creator's share as diamonds
EARNING_KINDS = (GIFT, SUBSCRIPTION)
# every kind that moves fiat
MONEY_KINDS = (
    *LOT_KINDS,
    WRITEOFF,
    PAYOUT_SUBMIT,
    PAYOUT,
    PAYOUT_FAILED,
    PAYOUT_RETURNED,
    TRANSFER,
    REVERSAL,
)
# every kind that moves diamonds in or out of creators' accounts or a withdrawal's reservation
DIAMOND_KINDS = (
    GIFT,
    SUBSCRIPTION,
    "hold_release",
    "clawback",
    "exchange",
    "pending",
    "pending_post",
    "pending_void",
    "pending_expire",
    PAYOUT,
    PAYOUT_RETURNED,
    TRANSFER,
    REVERSAL,
)

HOLDING = "platform:holding:pending"
IN_FLIGHT = "payouts:in_flight"


@dataclass(frozen=True, slots=True)
class Flow:
    """The fiat postings of one kind from one account class to another, in one bucket."""

    bucket: int
    kind: str
    source: str
    destination: str
    currency: str
    amount: int


@dataclass(frozen=True, slots=True)
class DiamondFlow:
    """Diamonds moved from one account class to another in one bucket (``bucket`` = the number
    of buckets: after the report)."""

    bucket: int
    source: str
    destination: str
    amount: int


@dataclass(frozen=True, slots=True)
class LotChange:
    """What happened to one lot in one bucket, with the lot's state at the report's start.

    ``size`` and ``consumed`` are the lot's paid coins and how many of them spending had consumed
    when the report starts; ``size_change`` what its purchase's transactions moved in the bucket,
    ``consumed_change`` what spending consumed of it, and ``diamonds`` the creators' share
    (hundredths) of the gifts and subscriptions paid with those coins."""

    purchase_id: int
    currency: str
    price_minor: int
    coins: int
    size: int
    consumed: int
    bucket: int
    size_change: int
    consumed_change: int
    diamonds: int


@dataclass(slots=True)
class FinanceData:
    flows: list[Flow] = field(default_factory=list)
    diamond_flows: list[DiamondFlow] = field(default_factory=list)
    diamonds_now: dict[str, int] = field(default_factory=dict)
    open_lots: list[LotGroup] = field(default_factory=list)
    lot_changes: list[LotChange] = field(default_factory=list)


def read_finance(engine: Engine, bounds: Sequence[datetime]) -> FinanceData:
    """Everything the report of the buckets ``bounds`` delimits needs, in one read snapshot."""
    with read_snapshot(engine) as conn:
        return FinanceData(
            flows=money_flows(conn, bounds),
            diamond_flows=diamond_flows(conn, bounds),
            diamonds_now=diamond_balances(conn),
            open_lots=open_lots(conn, bounds[0]),
            lot_changes=lot_changes(conn, bounds),
        )


# --- buckets and account classes ---------------------------------------------------------------
def bucket_of(column: Any, bounds: Sequence[datetime]) -> ColumnElement[Any]:
    """``bisect_right(bounds, column) - 1`` as a balanced ``CASE`` tree."""

    def tree(lo: int, hi: int) -> ColumnElement[Any]:
        if lo == hi:
            return literal_column(str(lo - 1))
        mid = (lo + hi) // 2
        return case((column < bounds[mid], tree(lo, mid)), else_=tree(mid + 1, hi))

    return tree(0, len(bounds))


def _money_class(path: Any) -> ColumnElement[Any]:
    return case(
        (path.like("platform:cash:%"), "cash"),
        (path == "platform:revenue:coins", "revenue"),
        (path == "platform:fees:store", "store_fees"),
        (path == "platform:fees:cashout", "cashout_fees"),
        (path.like("platform:receivable:%"), "receivable"),
        (path == IN_FLIGHT, "in_flight"),
        (path == "platform:equity:payouts", "payouts_equity"),
        (path == "platform:equity:writeoffs", "writeoffs"),
        else_="other",
    )


def _diamond_class(path: Any) -> ColumnElement[Any]:
    return case(
        (path.like("creator:%:diamonds:pending"), "held"),
        (path.like("creator:%:diamonds"), "available"),
        (path.in_((HOLDING, IN_FLIGHT)), "in_payout"),
        else_="other",
    )


# --- money ---------------------------------------------------------------------------------------
def money_flows(conn: Connection, bounds: Sequence[datetime]) -> list[Flow]:
    """Per bucket, kind, source class, destination class and currency: the fiat moved."""
    debit, credit = accounts.alias("debit"), accounts.alias("credit")
    created = transactions.c.created_at
    moves = (
        select(
            bucket_of(created, bounds).label("bucket"),
            transactions.c.kind,
            _money_class(debit.c.path).label("source"),
            _money_class(credit.c.path).label("destination"),
            postings.c.asset,
            *halves(postings.c.amount),
        )
        .select_from(legs(debit, credit))
        .where(
            transactions.c.kind.in_(MONEY_KINDS),
            created >= bounds[0],
            created < bounds[-1],
            postings.c.asset.not_in((COIN, DIAMOND)),
        )
        .subquery("moves")
    )
    keys = (moves.c.bucket, moves.c.kind, moves.c.source, moves.c.destination, moves.c.asset)
    rows = conn.execute(
        select(*keys, func.sum(moves.c.high), func.sum(moves.c.low)).group_by(*keys)
    )
    return [
        Flow(int(bucket), kind, source, destination, asset, joined(high, low))
        for bucket, kind, source, destination, asset, high, low in rows
    ]


# --- diamonds ------------------------------------------------------------------------------------
def diamond_flows(conn: Connection, bounds: Sequence[datetime]) -> list[DiamondFlow]:
    """Diamonds moved per bucket (the report's, and one more for everything after it) between
    account classes: what turns today's balances into each bucket's closing balance."""
    debit, credit = accounts.alias("debit"), accounts.alias("credit")
    created = transactions.c.created_at
    moves = (
        select(
            bucket_of(created, bounds).label("bucket"),
            _diamond_class(debit.c.path).label("source"),
            _diamond_class(credit.c.path).label("destination"),
            *halves(postings.c.amount),
        )
        .select_from(legs(debit, credit))
        .where(
            transactions.c.kind.in_(DIAMOND_KINDS),
            created >= bounds[0],
            postings.c.asset == DIAMOND,
        )
        .subquery("moves")
    )
    keys = (moves.c.bucket, moves.c.source, moves.c.destination)
    rows = conn.execute(
        select(*keys, func.sum(moves.c.high), func.sum(moves.c.low))
        .where(moves.c.source != moves.c.destination)
        .group_by(*keys)
    )
    return [
        DiamondFlow(int(bucket), source, destination, joined(high, low))
        for bucket, source, destination, high, low in rows
    ]


def diamond_balances(conn: Connection) -> dict[str, int]:
    """Today's diamonds per class (``held``, ``available``, ``in_payout``), shards summed."""
    kind = _diamond_class(accounts.c.path).label("class")
    inner = (
        select(kind, *halves(accounts.c.balance))
        .where(accounts.c.asset == DIAMOND)
        .subquery("balances")
    )
    rows = conn.execute(
        select(inner.c["class"], func.sum(inner.c.high), func.sum(inner.c.low)).group_by(
            inner.c["class"]
        )
    )
    return {name: joined(high, low) for name, high, low in rows if name != "other"}


# --- lots ----------------------------------------------------------------------------------------
def _least(a: Any, b: Any) -> ColumnElement[Any]:
    return case((a < b, a), else_=b)


def _greatest(a: Any, b: Any) -> ColumnElement[Any]:
    return case((a > b, a), else_=b)


def _overlap(start: Any, coins: Any, low: Any, high: Any) -> ColumnElement[Any]:
    """How many positions of ``[low, high)`` fall in the segment ``[start, start + coins)``."""
    return case(
        (or_(start.is_(None), coins <= 0, start >= high, start + coins <= low), ZERO),
        else_=_least(high, start + coins) - _greatest(low, start),
    )


def _spends(bounds: Sequence[datetime]) -> Any:
    """Every paid spend since the report's start, one row per posting out of a paid account: its
    buyer and bucket, the coins, where it ends in the buyer's sequence of spends since the start
    (``upto``, a running sum in commit order) and the buyer's total since the start (``since``),
    and for a gift or subscription in the report the diamonds it credited per coin."""
    debit, credit = accounts.alias("pdebit"), accounts.alias("pcredit")
    created = transactions.c.created_at
    other = postings.alias("other")

    def in_txn(asset: str) -> ColumnElement[Any]:
        """All of ``asset`` the spend's transaction moved (through the primary key)."""
        moved = (
            select(func.coalesce(func.sum(other.c.amount), 0))
            .where(other.c.txn_id == postings.c.txn_id, other.c.asset == asset)
            .scalar_subquery()
        )
        return cast(moved, BigInteger)

    # diamonds per coin: a whole number, as a gift's diamonds are its coins × a whole-percent
    # share; every coin posting of a spend is coins taken, every diamond posting the creator's
    per_coin = case(
        (
            and_(transactions.c.kind.in_(EARNING_KINDS), created < bounds[-1]),
            in_txn(DIAMOND) // in_txn(COIN),  # integer division (SQLAlchemy 2: //)
        ),
        else_=ZERO,
    )
    paid = (
        select(
            transactions.c.id.label("txn_id"),
            postings.c.seq,
            created.label("created_at"),
            bucket_of(created, bounds).label("bucket"),
            debit.c.owner_id.label("user_id"),
            postings.c.amount,
            per_coin.label("per_coin"),
        )
        .select_from(legs(debit, credit))
        .where(
            transactions.c.kind.in_(SPEND_KINDS),
            created >= bounds[0],
            postings.c.asset == COIN,
            is_paid(debit.c.path),
            credit.c.path.like(SPENT_INTO),
        )
        .subquery("paid")
    )
    order = (paid.c.created_at, paid.c.txn_id, paid.c.seq)
    return (
        select(
            paid.c.user_id,
            paid.c.bucket,
            paid.c.amount.label("coins"),
            paid.c.per_coin,
            func.sum(paid.c.amount)
            .over(partition_by=paid.c.user_id, order_by=order, rows=(None, 0))
            .label("upto"),
            func.sum(paid.c.amount).over(partition_by=paid.c.user_id).label("since"),
        )
    ).subquery("spends")


def lot_changes(conn: Connection, bounds: Sequence[datetime]) -> list[LotChange]:
    """One row per (lot, bucket) where the lot changed size or was spent from, in the report."""
    last = len(bounds) - 1  # the buckets are 0 … last - 1
    spends = _spends(bounds)
    # where each spend sits in its buyer's paid sequence: [low, high)
    high = (func.coalesce(wallet_state.c.paid_spent, 0) - spends.c.since + spends.c.upto).label(
        "high"
    )
    placed = (
        select(
            spends.c.user_id,
            spends.c.bucket,
            spends.c.per_coin,
            (high - spends.c.coins).label("low"),
            high,
        )
        .select_from(spends.outerjoin(wallet_state, wallet_state.c.user_id == spends.c.user_id))
        .where(spends.c.bucket < last)
        .subquery("placed")
    )
    p = purchases.c
    first = _overlap(p.lot_start, p.coins - p.coins_removed, placed.c.low, placed.c.high)
    second = _overlap(p.restored_start, p.restored_coins, placed.c.low, placed.c.high)
    consumed = select(
        p.id.label("purchase_id"),
        placed.c.bucket,
        ZERO.label("size_change"),
        (first + second).label("consumed_change"),
        ((first + second) * placed.c.per_coin).label("diamonds"),
    ).select_from(
        placed.join(
            purchases,
            and_(
                p.user_id == placed.c.user_id,
                or_(
                    and_(
                        p.lot_start < placed.c.high,
                        p.lot_start + p.coins - p.coins_removed > placed.c.low,
                    ),
                    and_(
                        p.restored_start < placed.c.high,
                        p.restored_start + p.restored_coins > placed.c.low,
                    ),
                ),
            ),
        )
    )
    # the coins each lot's own transactions moved in or out of the buyer's paid account
    debit, credit = accounts.alias("mdebit"), accounts.alias("mcredit")
    created = transactions.c.created_at
    resized = (
        select(
            meta_purchase(conn).label("purchase_id"),
            bucket_of(created, bounds).label("bucket"),
            case((is_paid(credit.c.path), postings.c.amount), else_=-postings.c.amount).label(
                "size_change"
            ),
            ZERO.label("consumed_change"),
            ZERO.label("diamonds"),
        )
        .select_from(legs(debit, credit))
        .where(
            transactions.c.kind.in_(LOT_KINDS),
            created >= bounds[0],
            created < bounds[-1],
            postings.c.asset == COIN,
            or_(is_paid(debit.c.path), is_paid(credit.c.path)),
        )
    )
    changes = union_all(consumed, resized).subquery("changes")
    keys = (changes.c.purchase_id, changes.c.bucket)
    per_lot = (
        select(
            *keys,
            func.sum(changes.c.size_change).label("size_change"),
            func.sum(changes.c.consumed_change).label("consumed_change"),
            func.sum(changes.c.diamonds).label("diamonds"),
        )
        .group_by(*keys)
        .subquery("per_lot")
    )
    state = lot_state(conn, bounds[0])
    rows = conn.execute(
        select(
            per_lot.c.purchase_id,
            p.currency,
            p.price_minor,
            p.coins,
            func.coalesce(state.c.size, 0),
            func.coalesce(state.c.consumed, 0),
            per_lot.c.bucket,
            per_lot.c.size_change,
            per_lot.c.consumed_change,
            per_lot.c.diamonds,
        )
        .select_from(
            per_lot.join(purchases, p.id == per_lot.c.purchase_id).outerjoin(
                state, state.c.purchase_id == per_lot.c.purchase_id
            )
        )
        .order_by(per_lot.c.purchase_id, per_lot.c.bucket)
    )
    return [
        LotChange(
            int(pid),
            currency,
            int(price),
            int(coins),
            int(size),
            int(consumed),
            int(bucket),
            int(ds or 0),
            int(dc or 0),
            int(dd or 0),
        )
        for pid, currency, price, coins, size, consumed, bucket, ds, dc, dd in rows
    ]
