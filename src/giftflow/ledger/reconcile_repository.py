"""The facts reconcile checks, read in one consistent snapshot with overflow-safe sums.

On PostgreSQL every query runs in one ``REPEATABLE READ READ ONLY`` transaction, on SQLite in one
read transaction, so a reconcile under live traffic sees one moment of the ledger and reports no
false differences. Lifetime sums of postings can pass 2^63 long before any balance does: each
amount is summed as two halves (``amount >> 32`` and ``amount & 0xFFFFFFFF``), neither of which
can overflow a 64-bit sum, and joined exactly in Python.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnClause

from giftflow.db import read_snapshot
from giftflow.ledger.accounts import CHART
from giftflow.ledger.reconcile import AccountFact, Facts, PostingSum, ReconcileReport, report
from giftflow.schema import accounts, pending_transfers, postings, transactions

_HOLDING_PATHS = [r.template for c in CHART if c.name == "holding" for r in c.rules]
# inlined, so PostgreSQL sees ``bigint >> integer`` and ``bigint & bigint``
_SHIFT: ColumnClause[int] = literal_column("32")
_LOW: ColumnClause[int] = literal_column("4294967295")


def reconcile(engine: Engine) -> ReconcileReport:
    """Gather the facts in one snapshot and check them."""
    with read_snapshot(engine) as conn:
        facts = gather(conn)
    return report(facts)


def _sums(side: str) -> Select[Any]:
    account = postings.c.credit_account_id if side == "credit" else postings.c.debit_account_id
    return select(
        account.label("account_id"),
        postings.c.asset,
        literal(side).label("side"),
        func.count().label("n"),
        func.sum(postings.c.amount.op(">>")(_SHIFT)).label("high"),
        func.sum(postings.c.amount.op("&")(_LOW)).label("low"),
    ).group_by(account, postings.c.asset)


def gather(conn: Connection) -> Facts:
    """Everything ``check`` needs, as aggregates (never one row per posting)."""
    facts = Facts()
    for r in conn.execute(
        select(
            accounts.c.id,
            accounts.c.path,
            accounts.c.asset,
            accounts.c.shard,
            accounts.c.balance,
            accounts.c.may_go_negative,
        )
    ):
        facts.accounts.append(
            AccountFact(r.id, r.path, r.asset, r.shard, int(r.balance), bool(r.may_go_negative))
        )
        if r.path in _HOLDING_PATHS:
            facts.holding_ids.add(r.id)
    both = union_all(_sums("credit"), _sums("debit"))
    for r in conn.execute(select(both.subquery())):
        total = int(r.high) * 2**32 + int(r.low)
        facts.posting_sums.append(PostingSum(r.account_id, r.asset, r.side, int(r.n), total))
    facts.transactions_without_postings = list(
        conn.execute(
            select(transactions.c.id)
            .outerjoin(postings, postings.c.txn_id == transactions.c.id)
            .where(postings.c.txn_id.is_(None))
            .order_by(transactions.c.id)
            .limit(1000)
        ).scalars()
    )
    held = conn.execute(
        select(
            pending_transfers.c.hold_account_id,
            func.sum(pending_transfers.c.amount.op(">>")(_SHIFT)),
            func.sum(pending_transfers.c.amount.op("&")(_LOW)),
        )
        .where(pending_transfers.c.state == "pending")
        .group_by(pending_transfers.c.hold_account_id)
    )
    facts.pending_held = {r[0]: int(r[1]) * 2**32 + int(r[2]) for r in held}
    facts.transactions = conn.execute(select(func.count()).select_from(transactions)).scalar_one()
    facts.postings = conn.execute(select(func.count()).select_from(postings)).scalar_one()
    return facts
