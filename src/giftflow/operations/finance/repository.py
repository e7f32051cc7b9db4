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
- **Exact sums.** Money is summed as two halves (``amount >> 32`` and ``amount & 0xFFFFFFFF``),
  neither of which can overflow a 64-bit sum, and joined in Python (as ``giftflow reconcile``
  does).
- **Lots.** A lot's size at T is what its purchase's own transactions (``meta.purchase``) moved
  into minus out of the buyer's paid account before T. How much of it spending had consumed by T
  follows from its segments in the buyer's paid sequence (``purchases.lot_start``,
  ``restored_start``) and the buyer's ``paid_spent`` at T: today's counter minus the paid coins
  spent since T. Positions that spending consumed never move (coins leave the sequence only at or
  above ``paid_spent``), so today's segments are right for any past T
  (``giftflow.wallet.purchases.lots``). Within the report, each spend is placed in the sequence
  by a running sum over the buyer's spends in commit order (``created_at``, then transaction id),
  and the part of it that falls in each lot's segments is that lot's consumption.
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
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnClause, ColumnElement

from giftflow.db import read_snapshot
from giftflow.schema import accounts, postings, purchases, transactions, wallet_state

COIN = "COIN"
DIAMOND = "DIAMOND"

# --- the transaction kinds the report reads (features' own strings) --------------------------
PURCHASE = "purchase"
REFUND = "purchase_refund"
DISPUTE = "purchase_dispute"
PROVIDER_REFUND = "purchase_provider_refund"
DISPUTE_WON = "purchase_dispute_won"
WRITEOFF = "receivable_writeoff"
PAYOUT_SUBMIT = "payout_submit"
PAYOUT = "payout"
PAYOUT_FAILED = "payout_failed"
PAYOUT_RETURNED = "payout_returned"
TRANSFER = "transfer"  # an operator's transfer
REVERSAL = "reversal"  # an operator's reversal
GIFT = "gift"
ITEM = "item_purchase"
SUBSCRIPTION = "subscription"

# the kinds that move a lot's coins in or out of the buyer's paid account (wallet/purchases)
LOT_KINDS = (PURCHASE, REFUND, DISPUTE, PROVIDER_REFUND, DISPUTE_WON)
# the kinds that spend coins (wallet.purchases.batch.spend): gifts, items, subscriptions
SPEND_KINDS = (GIFT, ITEM, SUBSCRIPTION)
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

PAID = "user:%:coins"  # LIKE: ends in ':coins', so neither ':coins:bonus' nor ':coins:exchanged'
SPENT_INTO = "platform:revenue:%"
HOLDING = "platform:holding:pending"
IN_FLIGHT = "payouts:in_flight"

# inlined, so PostgreSQL sees ``bigint >> integer`` and ``bigint & bigint``
_SHIFT: ColumnClause[int] = literal_column("32")
_LOW: ColumnClause[int] = literal_column("4294967295")
_ZERO: ColumnClause[int] = literal_column("0")


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
class LotGroup:
    """``lots`` lots of one price and size, each with ``remaining`` unspent paid coins."""

    currency: str
    price_minor: int
    coins: int
    remaining: int
    lots: int


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


def _legs(debit: Any, credit: Any) -> Any:
    """Transactions with their postings and both accounts (``debit``, ``credit`` aliases)."""
    return (
        transactions.join(postings, postings.c.txn_id == transactions.c.id)
        .join(debit, debit.c.id == postings.c.debit_account_id)
        .join(credit, credit.c.id == postings.c.credit_account_id)
    )


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


def _joined(high: Any, low: Any) -> int:
    return int(high or 0) * 2**32 + int(low or 0)


def _halves(amount: Any) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    return amount.op(">>")(_SHIFT).label("high"), amount.op("&")(_LOW).label("low")


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
            *_halves(postings.c.amount),
        )
        .select_from(_legs(debit, credit))
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
        Flow(int(bucket), kind, source, destination, asset, _joined(high, low))
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
            *_halves(postings.c.amount),
        )
        .select_from(_legs(debit, credit))
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
        DiamondFlow(int(bucket), source, destination, _joined(high, low))
        for bucket, source, destination, high, low in rows
    ]


def diamond_balances(conn: Connection) -> dict[str, int]:
    """Today's diamonds per class (``held``, ``available``, ``in_payout``), shards summed."""
    kind = _diamond_class(accounts.c.path).label("class")
    inner = (
        select(kind, *_halves(accounts.c.balance))
        .where(accounts.c.asset == DIAMOND)
        .subquery("balances")
    )
    rows = conn.execute(
        select(inner.c["class"], func.sum(inner.c.high), func.sum(inner.c.low)).group_by(
            inner.c["class"]
        )
    )
    return {name: _joined(high, low) for name, high, low in rows if name != "other"}


# --- lots ----------------------------------------------------------------------------------------
def _meta_purchase(conn: Connection) -> ColumnElement[Any]:
    """``meta.purchase`` of a transaction (the purchase id), as an integer."""
    if conn.dialect.name == "postgresql":
        text = func.jsonb_extract_path_text(cast(transactions.c.meta, JSONB), "purchase")
    else:
        text = func.json_extract(transactions.c.meta, "$.purchase")
    return cast(text, BigInteger)


def _least(a: Any, b: Any) -> ColumnElement[Any]:
    return case((a < b, a), else_=b)


def _greatest(a: Any, b: Any) -> ColumnElement[Any]:
    return case((a > b, a), else_=b)


def _consumed(start: Any, coins: Any, spent: Any) -> ColumnElement[Any]:
    """How much of the segment ``[start, start + coins)`` spending up to ``spent`` consumed."""
    return case(
        (or_(start.is_(None), coins <= 0, spent <= start), _ZERO),
        (spent - start >= coins, coins),
        else_=spent - start,
    )


def _overlap(start: Any, coins: Any, low: Any, high: Any) -> ColumnElement[Any]:
    """How many positions of ``[low, high)`` fall in the segment ``[start, start + coins)``."""
    return case(
        (or_(start.is_(None), coins <= 0, start >= high, start + coins <= low), _ZERO),
        else_=_least(high, start + coins) - _greatest(low, start),
    )


def _is_paid(path: Any) -> ColumnElement[bool]:
    paid: ColumnElement[bool] = path.like(PAID)
    return paid


def _spent_since(when: datetime) -> Any:
    """Per user: the paid coins spent at or after ``when``."""
    debit, credit = accounts.alias("sdebit"), accounts.alias("scredit")
    return (
        select(debit.c.owner_id.label("user_id"), func.sum(postings.c.amount).label("coins"))
        .select_from(_legs(debit, credit))
        .where(
            transactions.c.kind.in_(SPEND_KINDS),
            transactions.c.created_at >= when,
            postings.c.asset == COIN,
            _is_paid(debit.c.path),
            credit.c.path.like(SPENT_INTO),
        )
        .group_by(debit.c.owner_id)
        .subquery("spent_since")
    )


def _lot_state(conn: Connection, when: datetime) -> Any:
    """Every lot at ``when``: its paid coins (``size``) and how many spending had consumed."""
    debit, credit = accounts.alias("ldebit"), accounts.alias("lcredit")
    moved = (
        select(
            _meta_purchase(conn).label("purchase_id"),
            case((_is_paid(credit.c.path), postings.c.amount), else_=-postings.c.amount).label(
                "coins"
            ),
        )
        .select_from(_legs(debit, credit))
        .where(
            transactions.c.kind.in_(LOT_KINDS),
            transactions.c.created_at < when,
            postings.c.asset == COIN,
            or_(_is_paid(debit.c.path), _is_paid(credit.c.path)),
        )
        .subquery("moved")
    )
    size = (
        select(moved.c.purchase_id, func.sum(moved.c.coins).label("coins"))
        .group_by(moved.c.purchase_id)
        .subquery("size")
    )
    since = _spent_since(when)
    spent = func.coalesce(wallet_state.c.paid_spent, 0) - func.coalesce(since.c.coins, 0)
    p = purchases.c
    consumed = _consumed(p.lot_start, p.coins - p.coins_removed, spent) + _consumed(
        p.restored_start, p.restored_coins, spent
    )
    return (
        select(
            p.id.label("purchase_id"),
            p.currency,
            p.price_minor,
            p.coins,
            size.c.coins.label("size"),
            consumed.label("consumed"),
        )
        .select_from(
            purchases.join(size, size.c.purchase_id == p.id)
            .outerjoin(wallet_state, wallet_state.c.user_id == p.user_id)
            .outerjoin(since, since.c.user_id == p.user_id)
        )
        .subquery("lot_state")
    )


def open_lots(conn: Connection, when: datetime) -> list[LotGroup]:
    """The lots with unspent paid coins at ``when``, grouped by (currency, price, size,
    remaining): one row for all the untouched lots of a pack."""
    lot = _lot_state(conn, when)
    remaining = (lot.c.size - lot.c.consumed).label("remaining")
    inner = select(lot.c.currency, lot.c.price_minor, lot.c.coins, remaining).subquery("open")
    keys = (inner.c.currency, inner.c.price_minor, inner.c.coins, inner.c.remaining)
    rows = conn.execute(
        select(*keys, func.count()).where(inner.c.remaining > 0).group_by(*keys).order_by(*keys)
    )
    return [
        LotGroup(currency, int(price), int(coins), int(remaining), int(n))
        for currency, price, coins, remaining, n in rows
    ]


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
        else_=_ZERO,
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
        .select_from(_legs(debit, credit))
        .where(
            transactions.c.kind.in_(SPEND_KINDS),
            created >= bounds[0],
            postings.c.asset == COIN,
            _is_paid(debit.c.path),
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
        _ZERO.label("size_change"),
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
            _meta_purchase(conn).label("purchase_id"),
            bucket_of(created, bounds).label("bucket"),
            case((_is_paid(credit.c.path), postings.c.amount), else_=-postings.c.amount).label(
                "size_change"
            ),
            _ZERO.label("consumed_change"),
            _ZERO.label("diamonds"),
        )
        .select_from(_legs(debit, credit))
        .where(
            transactions.c.kind.in_(LOT_KINDS),
            created >= bounds[0],
            created < bounds[-1],
            postings.c.asset == COIN,
            or_(_is_paid(debit.c.path), _is_paid(credit.c.path)),
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
    state = _lot_state(conn, bounds[0])
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
