"""What more than one report reads the same way: exact sums and the coin lots open at a moment.

The finance report (``operations.finance``) and the wallet report (``wallet.reports``) are
separate features and may not import each other, yet both must value the lots still open at a
moment T identically, so that valuation lives here, below both, next to the schema it reads. It
knows no feature: the transaction kinds and account patterns it needs are the features' own
strings, repeated below.

- **Exact sums.** An amount is summed as two halves (``amount >> 32`` and ``amount &
  0xFFFFFFFF``), neither of which can overflow a 64-bit sum, and joined in Python (as
  ``giftflow reconcile`` does).
- **Lots at a moment T.** A lot's size at T is what its purchase's own transactions
  (``meta.purchase``, kinds ``LOT_KINDS``) moved into minus out of the buyer's paid account before
  T (credited, refunded, charged back, restored after a won dispute). How much of it spending had
  consumed by T follows from the lot's segments in the buyer's paid sequence
  (``purchases.lot_start``, ``restored_start``) and the buyer's ``paid_spent`` at T: today's
  counter minus the paid coins spent (kinds ``SPEND_KINDS``, the only ones that move the counter)
  at or after T. Positions that spending consumed never move — coins leave the sequence (refund,
  chargeback) only at or above ``paid_spent`` — so today's segments are right for any past T, and
  every lot credited or restored after T starts at or above ``paid_spent`` at T. See
  ``giftflow.wallet.purchases.lots``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, case, cast, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnClause, ColumnElement

from giftflow.schema import accounts, postings, purchases, transactions, wallet_state

COIN = "COIN"
PAID = "user:%:coins"  # LIKE: ends in ':coins', so neither ':coins:bonus' nor ':coins:exchanged'
SPENT_INTO = "platform:revenue:%"  # where spending sends paid coins (gifts, items, …)

# the kinds of wallet.purchases that move a lot's coins in or out of the buyer's paid account
PURCHASE = "purchase"
REFUND = "purchase_refund"
DISPUTE = "purchase_dispute"
PROVIDER_REFUND = "purchase_provider_refund"
DISPUTE_WON = "purchase_dispute_won"
LOT_KINDS = (PURCHASE, REFUND, DISPUTE, PROVIDER_REFUND, DISPUTE_WON)
# the kinds that spend coins (wallet.purchases.batch.spend, which alone moves ``paid_spent``)
GIFT = "gift"
ITEM = "item_purchase"
SUBSCRIPTION = "subscription"
SPEND_KINDS = (GIFT, ITEM, SUBSCRIPTION)

# inlined, so PostgreSQL sees ``bigint >> integer`` and ``bigint & bigint``
_SHIFT: ColumnClause[int] = literal_column("32")
_LOW: ColumnClause[int] = literal_column("4294967295")
ZERO: ColumnClause[int] = literal_column("0")


@dataclass(frozen=True, slots=True)
class LotGroup:
    """``lots`` lots of one price and size, each with ``remaining`` unspent paid coins."""

    currency: str
    price_minor: int
    coins: int
    remaining: int
    lots: int


# --- exact sums ----------------------------------------------------------------------------------
def halves(amount: Any) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """``amount`` as two halves to ``SUM`` separately (labels ``high`` and ``low``)."""
    return amount.op(">>")(_SHIFT).label("high"), amount.op("&")(_LOW).label("low")


def joined(high: Any, low: Any) -> int:
    """The exact sum from the sums of the two halves (``None``: nothing summed)."""
    return int(high or 0) * 2**32 + int(low or 0)


# --- lots ----------------------------------------------------------------------------------------
def legs(debit: Any, credit: Any) -> Any:
    """Transactions with their postings and both accounts (``debit``, ``credit`` aliases)."""
    return (
        transactions.join(postings, postings.c.txn_id == transactions.c.id)
        .join(debit, debit.c.id == postings.c.debit_account_id)
        .join(credit, credit.c.id == postings.c.credit_account_id)
    )


def meta_purchase(conn: Connection) -> ColumnElement[Any]:
    """``meta.purchase`` of a transaction (the purchase id), as an integer."""
    if conn.dialect.name == "postgresql":
        text = func.jsonb_extract_path_text(cast(transactions.c.meta, JSONB), "purchase")
    else:
        text = func.json_extract(transactions.c.meta, "$.purchase")
    return cast(text, BigInteger)


def is_paid(path: Any) -> ColumnElement[bool]:
    paid: ColumnElement[bool] = path.like(PAID)
    return paid


def consumed(start: Any, coins: Any, spent: Any) -> ColumnElement[Any]:
    """How much of the segment ``[start, start + coins)`` spending up to ``spent`` consumed
    (``Segment.consumed``; a missing or empty segment consumed nothing)."""
    return case(
        (or_(start.is_(None), coins <= 0, spent <= start), ZERO),
        (spent - start >= coins, coins),
        else_=spent - start,
    )


def spent_since(when: datetime) -> Any:
    """Per user: the paid coins spent at or after ``when``."""
    debit, credit = accounts.alias("sdebit"), accounts.alias("scredit")
    return (
        select(debit.c.owner_id.label("user_id"), func.sum(postings.c.amount).label("coins"))
        .select_from(legs(debit, credit))
        .where(
            transactions.c.kind.in_(SPEND_KINDS),
            transactions.c.created_at >= when,
            postings.c.asset == COIN,
            is_paid(debit.c.path),
            credit.c.path.like(SPENT_INTO),
        )
        .group_by(debit.c.owner_id)
        .subquery("spent_since")
    )


def lot_state(conn: Connection, when: datetime) -> Any:
    """Every lot at ``when``: its paid coins (``size``) and how many spending had consumed."""
    debit, credit = accounts.alias("ldebit"), accounts.alias("lcredit")
    moved = (
        select(
            meta_purchase(conn).label("purchase_id"),
            case((is_paid(credit.c.path), postings.c.amount), else_=-postings.c.amount).label(
                "coins"
            ),
        )
        .select_from(legs(debit, credit))
        .where(
            transactions.c.kind.in_(LOT_KINDS),
            transactions.c.created_at < when,
            postings.c.asset == COIN,
            or_(is_paid(debit.c.path), is_paid(credit.c.path)),
        )
        .subquery("moved")
    )
    size = (
        select(moved.c.purchase_id, func.sum(moved.c.coins).label("coins"))
        .group_by(moved.c.purchase_id)
        .subquery("size")
    )
    since = spent_since(when)
    spent = func.coalesce(wallet_state.c.paid_spent, 0) - func.coalesce(since.c.coins, 0)
    p = purchases.c
    used = consumed(p.lot_start, p.coins - p.coins_removed, spent) + consumed(
        p.restored_start, p.restored_coins, spent
    )
    return (
        select(
            p.id.label("purchase_id"),
            p.currency,
            p.price_minor,
            p.coins,
            size.c.coins.label("size"),
            used.label("consumed"),
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
    lot = lot_state(conn, when)
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
