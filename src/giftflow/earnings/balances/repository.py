"""Every query of creator earnings: balances, hold buckets, flows, gifts by live, withdrawals.

Reads for endpoints run on the reader engine in one snapshot (``REPEATABLE READ READ ONLY`` on
PostgreSQL, one read transaction on SQLite: ``snapshot``), so a view's balances, buckets and
totals describe the same moment. Balances come from the ledger's own reads
(``ledger.read_repository.balances``); this module reads the tables giftflow.earnings may not
reach through another feature (``diamond_holds``, ``lives``, ``users``, ``withdrawals``) itself.

Inside the writer's batch, ``EarningsBatchRepository`` reads (and on PostgreSQL locks) hold
buckets and users' regions, and ``HOLD_WRITES`` is the batch extension that applies what release
and clawback commands took from buckets: signed deltas, one UPDATE per bucket per batch, then the
emptied buckets deleted. Deltas compose with the gift's own upsert of new buckets
(``live.rooms.repository.LiveWrites``) whichever extension flushes first.

Sums of postings are taken as two halves (``amount >> 32`` and ``amount & 0xFFFFFFFF``) and
joined in Python, as reconcile does, so no aggregate overflows a 64-bit sum.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnClause, ColumnElement

from giftflow.db import read_snapshot
from giftflow.earnings.withdrawals import states
from giftflow.earnings.withdrawals.repository import counted_days as withdrawal_days
from giftflow.ledger.read_repository import balances
from giftflow.schema import (
    accounts,
    diamond_holds,
    lives,
    postings,
    transactions,
    users,
    withdrawals,
)

__all__ = [
    "EARNING_KINDS",
    "HOLD_WRITES",
    "AccountIds",
    "EarningsBatchRepository",
    "Flow",
    "LiveGifts",
    "WithdrawalSum",
    "balances",
    "buckets_of",
    "creator_accounts",
    "due_creators",
    "flows",
    "gifts_by_live",
    "live_titles",
    "snapshot",
    "user_exists",
    "withdrawal_days",
    "withdrawal_sums",
]

DIAMOND = "DIAMOND"
COIN = "COIN"
GIFT_KIND = "gift"
# transactions that earn a creator diamonds: gifts and subscriptions (LIVE engagement)
EARNING_KINDS = (GIFT_KIND, "subscription")
# withdrawals whose diamonds came back to the creator (or never left): not "withdrawn"
NOT_WITHDRAWN = tuple(sorted(s.value for s in states.GIVEN_BACK))

# inlined, so PostgreSQL sees ``bigint >> integer`` and ``bigint & bigint``
_SHIFT: ColumnClause[int] = literal_column("32")
_LOW: ColumnClause[int] = literal_column("4294967295")


def _high(column: Any) -> Any:
    return func.sum(column.op(">>")(_SHIFT))


def _low(column: Any) -> Any:
    return func.sum(column.op("&")(_LOW))


def _joined(high: Any, low: Any) -> int:
    return int(high or 0) * 2**32 + int(low or 0)


snapshot = read_snapshot  # one read transaction (giftflow.db)


# --- endpoint reads ----------------------------------------------------------------------------
def user_exists(conn: Connection, user_id: str) -> bool:
    return conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is not None


@dataclass(frozen=True, slots=True)
class AccountIds:
    """The row ids of one creator's accounts that earnings follow (None: never used)."""

    available: int | None
    held: int | None
    exchanged_coins: int | None

    def roles(self) -> dict[int, str]:
        found = {
            "available": self.available,
            "held": self.held,
            "exchanged_coins": self.exchanged_coins,
        }
        return {i: role for role, i in found.items() if i is not None}


def creator_accounts(conn: Connection, creator_id: str) -> AccountIds:
    """``creator:{c}:diamonds``, ``…:pending`` (DIAMOND) and ``user:{c}:coins:exchanged`` (COIN);
    none of them is sharded, so each is one row."""
    wanted = {
        (f"creator:{creator_id}:diamonds", DIAMOND): "available",
        (f"creator:{creator_id}:diamonds:pending", DIAMOND): "held",
        (f"user:{creator_id}:coins:exchanged", COIN): "exchanged_coins",
    }
    rows = conn.execute(
        select(accounts.c.id, accounts.c.path, accounts.c.asset).where(
            accounts.c.owner_id == creator_id,
            tuple_(accounts.c.path, accounts.c.asset).in_(list(wanted)),
        )
    )
    found = {wanted[(r.path, r.asset)]: int(r.id) for r in rows}
    return AccountIds(found.get("available"), found.get("held"), found.get("exchanged_coins"))


def buckets_of(conn: Connection, creator_id: str) -> list[tuple[date, int]]:
    """The creator's hold buckets that still hold diamonds, by release date."""
    rows = conn.execute(
        select(diamond_holds.c.release_on, diamond_holds.c.hundredths)
        .where(diamond_holds.c.creator_id == creator_id, diamond_holds.c.hundredths > 0)
        .order_by(diamond_holds.c.release_on)
    )
    return [(r.release_on, int(r.hundredths)) for r in rows]


def due_creators(conn: Connection, today: date, limit: int) -> list[str]:
    """Creators with a bucket due on or before ``today`` (candidates: re-read under the lock)."""
    rows = conn.execute(
        select(diamond_holds.c.creator_id)
        .where(diamond_holds.c.release_on <= today, diamond_holds.c.hundredths > 0)
        .group_by(diamond_holds.c.creator_id)
        .order_by(diamond_holds.c.creator_id)
        .limit(limit)
    )
    return [str(r[0]) for r in rows]


@dataclass(frozen=True, slots=True)
class Flow:
    """The sum of the postings of one kind between two accounts in one asset, in one span
    (``after``: at or after the span's end, else inside it)."""

    kind: str
    debit_account_id: int
    credit_account_id: int
    asset: str
    after: bool
    amount: int


def flows(
    conn: Connection, account_ids: Iterable[int], start: datetime | None, end: datetime | None
) -> list[Flow]:
    """Every posting touching ``account_ids`` from ``start`` on (all time if None), summed per
    kind, debit account, credit account, asset and whether it is at or after ``end``."""
    ids = sorted(set(account_ids))
    if not ids:
        return []
    created = postings.c.created_at
    after: ColumnElement[Any] = (
        case((created >= end, literal_column("1")), else_=literal_column("0"))
        if end is not None
        else literal_column("0")
    )
    touching = or_(postings.c.debit_account_id.in_(ids), postings.c.credit_account_id.in_(ids))
    inner = (
        select(
            transactions.c.kind,
            postings.c.debit_account_id,
            postings.c.credit_account_id,
            postings.c.asset,
            after.label("after"),
            postings.c.amount,
        )
        .select_from(postings.join(transactions, transactions.c.id == postings.c.txn_id))
        .where(touching, *([created >= start] if start is not None else []))
        .subquery("moves")
    )
    keys = (
        inner.c.kind,
        inner.c.debit_account_id,
        inner.c.credit_account_id,
        inner.c.asset,
        inner.c.after,
    )
    rows = conn.execute(select(*keys, _high(inner.c.amount), _low(inner.c.amount)).group_by(*keys))
    return [
        Flow(kind, int(debit), int(credit), asset, bool(int(late)), _joined(high, low))
        for kind, debit, credit, asset, late, high, low in rows
    ]


def _meta_text(conn: Connection, key: str) -> ColumnElement[Any]:
    """``meta[key]`` of a transaction, as text."""
    if conn.dialect.name == "postgresql":
        return func.jsonb_extract_path_text(cast(transactions.c.meta, JSONB), key)
    return cast(func.json_extract(transactions.c.meta, f"$.{key}"), String)


@dataclass(frozen=True, slots=True)
class LiveGifts:
    live_id: str | None  # the live the gift transactions name (None: none named)
    sends: int
    gifts: int
    coins: int
    diamonds: int


def gifts_by_live(
    conn: Connection, account_ids: Sequence[int], start: datetime, end: datetime
) -> list[LiveGifts]:
    """Gift transactions of the span that credited the creator's diamond accounts, grouped by
    the live their metadata names (``SendGift`` writes ``{"live", "gift", "count"}``): how many
    sends, gifts (sum of ``count``), coins the viewers paid and diamonds the creator earned."""
    if not account_ids:
        return []
    credited = (
        select(postings.c.txn_id, postings.c.amount.label("diamonds"))
        .select_from(postings.join(transactions, transactions.c.id == postings.c.txn_id))
        .where(
            transactions.c.kind == GIFT_KIND,
            postings.c.asset == DIAMOND,
            postings.c.credit_account_id.in_(sorted(account_ids)),
            postings.c.created_at >= start,
            postings.c.created_at < end,
        )
        .subquery("credited")
    )
    paid = postings.alias("paid")
    coins = (
        # one transaction's coins fit a BIGINT (at most 100 postings of at most 10^14)
        select(paid.c.txn_id, cast(func.sum(paid.c.amount), BigInteger).label("coins"))
        .where(paid.c.asset == COIN, paid.c.txn_id.in_(select(credited.c.txn_id)))
        .group_by(paid.c.txn_id)
        .subquery("coins")
    )
    per_txn = (
        select(
            _meta_text(conn, "live").label("live_id"),
            cast(_meta_text(conn, "count"), BigInteger).label("count"),
            credited.c.diamonds,
            func.coalesce(coins.c.coins, 0).label("coins"),
        )
        .select_from(
            credited.join(transactions, transactions.c.id == credited.c.txn_id).outerjoin(
                coins, coins.c.txn_id == credited.c.txn_id
            )
        )
        .subquery("per_txn")
    )
    rows = conn.execute(
        select(
            per_txn.c.live_id,
            func.count(),
            func.sum(per_txn.c.count),
            _high(per_txn.c.coins),
            _low(per_txn.c.coins),
            _high(per_txn.c.diamonds),
            _low(per_txn.c.diamonds),
        ).group_by(per_txn.c.live_id)
    )
    return [
        LiveGifts(
            str(live) if live is not None else None,
            int(sends),
            int(gifts or 0),
            _joined(ch, cl),
            _joined(dh, dl),
        )
        for live, sends, gifts, ch, cl, dh, dl in rows
    ]


def live_titles(
    conn: Connection, live_ids: Iterable[int]
) -> dict[int, tuple[str | None, datetime]]:
    """(title, started_at) of each live."""
    wanted = sorted(set(live_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(lives.c.id, lives.c.title, lives.c.started_at).where(lives.c.id.in_(wanted))
    )
    return {int(r.id): (r.title, r.started_at) for r in rows}


@dataclass(frozen=True, slots=True)
class WithdrawalSum:
    currency: str
    count: int
    diamonds: int
    gross_minor: int
    fee_minor: int
    net_minor: int


def withdrawal_sums(
    conn: Connection, user_id: str, first: date | None = None, last: date | None = None
) -> list[WithdrawalSum]:
    """Per currency, the user's withdrawals requested from ``first`` to ``last`` (local days;
    all time if None) whose diamonds did not come back (not failed, returned or reversed)."""
    w = withdrawals.c
    where = [w.user_id == user_id, w.state.not_in(NOT_WITHDRAWN)]
    if first is not None:
        where.append(w.local_day >= first)
    if last is not None:
        where.append(w.local_day <= last)
    rows = conn.execute(
        select(
            w.currency,
            func.count(),
            func.sum(w.diamonds),
            func.sum(w.gross_minor),
            func.sum(w.fee_minor),
            func.sum(w.net_minor),
        )
        .where(and_(*where))
        .group_by(w.currency)
        .order_by(w.currency)
    )
    return [
        WithdrawalSum(c, int(n), int(d or 0), int(g or 0), int(f or 0), int(net or 0))
        for c, n, d, g, f, net in rows
    ]


# --- inside the writer's batch -----------------------------------------------------------------
class EarningsBatchRepository:
    """What earnings commands read inside one batch (built with ``ctx.repository(...)``).

    Bucket rows are read after the batch has locked the creators' hold accounts
    (``creator:{c}:diamonds:pending``), which every writer of a creator's buckets also locks
    (a gift crediting the hold, a release, a clawback): so a read here sees every committed
    change and no other process changes the buckets until this batch commits. On PostgreSQL the
    bucket rows are locked as well (``FOR UPDATE``, one statement, in key order)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def due_creators(self, today: date, limit: int) -> list[str]:
        return due_creators(self.conn, today, limit)

    def lock_buckets(self, creator_ids: Iterable[str]) -> dict[str, dict[date, int]]:
        wanted = sorted(set(creator_ids))
        found: dict[str, dict[date, int]] = {c: {} for c in wanted}
        if not wanted:
            return found
        stmt = (
            select(
                diamond_holds.c.creator_id, diamond_holds.c.release_on, diamond_holds.c.hundredths
            )
            .where(diamond_holds.c.creator_id.in_(wanted), diamond_holds.c.hundredths > 0)
            .order_by(diamond_holds.c.creator_id, diamond_holds.c.release_on)
        )
        if self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        for creator, release_on, hundredths in self.conn.execute(stmt):
            found[str(creator)][release_on] = int(hundredths)
        return found

    def user_region(self, user_id: str) -> tuple[bool, str | None]:
        """(whether the user exists, their region)."""
        row = self.conn.execute(select(users.c.region).where(users.c.id == user_id)).first()
        return (row is not None, row.region if row is not None else None)


class HoldWrites:
    """Batch extension: ``(creator_id, release_on, delta)`` rows (negative deltas: what a release
    or clawback took), summed per bucket, one UPDATE each, then emptied buckets deleted."""

    name = "earnings.holds"

    def flush(self, conn: Connection, rows: list[tuple[str, date, int]]) -> None:
        summed: dict[tuple[str, date], int] = {}
        for creator, release_on, delta in rows:
            summed[(creator, release_on)] = summed.get((creator, release_on), 0) + delta
        changed = sorted(k for k, d in summed.items() if d)
        if not changed:
            return
        conn.execute(
            update(diamond_holds)
            .where(
                diamond_holds.c.creator_id == bindparam("h_creator"),
                diamond_holds.c.release_on == bindparam("h_release_on"),
            )
            .values(hundredths=diamond_holds.c.hundredths + bindparam("h_delta")),
            [{"h_creator": c, "h_release_on": d, "h_delta": summed[(c, d)]} for c, d in changed],
        )
        key = tuple_(diamond_holds.c.creator_id, diamond_holds.c.release_on)
        conn.execute(delete(diamond_holds).where(key.in_(changed), diamond_holds.c.hundredths == 0))


HOLD_WRITES = HoldWrites()
