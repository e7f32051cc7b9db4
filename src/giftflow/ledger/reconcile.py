"""Reconcile: rebuild every balance from the postings and report every difference at once.

Checks, each over the whole ledger: every stored balance equals the fold of its postings; per
asset the balances sum to zero; no account of a non-negative class is below zero and each row's
class flag matches the chart; every posting names existing accounts of its own asset; every
transaction has postings; each holding account holds exactly its pending transfers. The result is
a list of differences (empty = clean), collected rather than stopping at the first, as beancount
does.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from giftflow.errors import InvalidAccount
from giftflow.ledger.accounts import classify
from giftflow.schema import accounts, pending_transfers, postings, transactions


@dataclass(frozen=True, slots=True)
class Difference:
    check: str
    subject: str
    expected: int | str
    actual: int | str
    message: str


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    accounts: int
    transactions: int
    postings: int
    differences: list[Difference]

    @property
    def clean(self) -> bool:
        return not self.differences


def reconcile(conn: Connection) -> ReconcileReport:
    diffs: list[Difference] = []
    credits = (
        select(postings.c.credit_account_id.label("id"), func.sum(postings.c.amount).label("s"))
        .group_by(postings.c.credit_account_id)
        .subquery()
    )
    debits = (
        select(postings.c.debit_account_id.label("id"), func.sum(postings.c.amount).label("s"))
        .group_by(postings.c.debit_account_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            accounts.c.id,
            accounts.c.path,
            accounts.c.asset,
            accounts.c.shard,
            accounts.c.balance,
            accounts.c.may_go_negative,
            (func.coalesce(credits.c.s, 0) - func.coalesce(debits.c.s, 0)).label("derived"),
        )
        .outerjoin(credits, credits.c.id == accounts.c.id)
        .outerjoin(debits, debits.c.id == accounts.c.id)
        .order_by(accounts.c.path, accounts.c.asset, accounts.c.shard)
    ).all()
    sums: dict[str, int] = {}
    for r in rows:
        name = f"{r.path} [{r.asset}]" + (f" shard {r.shard}" if r.shard else "")
        balance, derived = int(r.balance), int(r.derived)
        sums[r.asset] = sums.get(r.asset, 0) + balance
        if balance != derived:
            diffs.append(
                Difference(
                    "balance",
                    name,
                    derived,
                    balance,
                    f"stored balance {balance} but postings add up to {derived}",
                )
            )
        try:
            may_go_negative = classify(r.path).may_go_negative
        except InvalidAccount:
            diffs.append(Difference("chart", name, "a known class", "none", "not in the chart"))
            continue
        if bool(r.may_go_negative) != may_go_negative:
            diffs.append(
                Difference(
                    "chart",
                    name,
                    str(may_go_negative),
                    str(bool(r.may_go_negative)),
                    "may_go_negative flag differs from the chart of accounts",
                )
            )
        if not may_go_negative and balance < 0:
            diffs.append(Difference("non_negative", name, ">= 0", balance, "balance below zero"))
    for asset, total in sorted(sums.items()):
        if total != 0:
            diffs.append(
                Difference("zero_sum", asset, 0, total, f"{asset} balances sum to {total}, not 0")
            )
    diffs.extend(_orphan_postings(conn))
    diffs.extend(_posting_assets(conn))
    diffs.extend(_empty_transactions(conn))
    diffs.extend(_holdings(conn))
    counts = [
        conn.execute(select(func.count()).select_from(t)).scalar_one()
        for t in (accounts, transactions, postings)
    ]
    return ReconcileReport(counts[0], counts[1], counts[2], diffs)


def _posting_assets(conn: Connection) -> list[Difference]:
    debit = accounts.alias("debit")
    credit = accounts.alias("credit")
    bad = conn.execute(
        select(postings.c.txn_id, postings.c.seq, postings.c.asset, debit.c.asset, credit.c.asset)
        .join(debit, debit.c.id == postings.c.debit_account_id)
        .join(credit, credit.c.id == postings.c.credit_account_id)
        .where((debit.c.asset != postings.c.asset) | (credit.c.asset != postings.c.asset))
        .limit(1000)
    ).all()
    return [
        Difference(
            "posting_asset",
            f"transaction {r[0]} posting {r[1]}",
            r[2],
            f"{r[3]}/{r[4]}",
            "posting asset differs from its accounts' asset",
        )
        for r in bad
    ]


def _orphan_postings(conn: Connection) -> list[Difference]:
    """Postings whose account rows are missing (there is no foreign key; this is the check)."""
    debit = accounts.alias("debit")
    credit = accounts.alias("credit")
    rows = conn.execute(
        select(postings.c.txn_id, postings.c.seq)
        .outerjoin(debit, debit.c.id == postings.c.debit_account_id)
        .outerjoin(credit, credit.c.id == postings.c.credit_account_id)
        .where(debit.c.id.is_(None) | credit.c.id.is_(None))
        .limit(1000)
    ).all()
    return [
        Difference(
            "posting_account",
            f"transaction {r.txn_id} posting {r.seq}",
            "existing accounts",
            "missing",
            "posting refers to an account that does not exist",
        )
        for r in rows
    ]


def _empty_transactions(conn: Connection) -> list[Difference]:
    empty = conn.execute(
        select(transactions.c.id)
        .outerjoin(postings, postings.c.txn_id == transactions.c.id)
        .where(postings.c.txn_id.is_(None))
        .limit(1000)
    ).scalars()
    return [
        Difference("postings", f"transaction {t}", ">= 1", 0, "transaction has no postings")
        for t in empty
    ]


def _holdings(conn: Connection) -> list[Difference]:
    held = dict(
        conn.execute(
            select(pending_transfers.c.hold_account_id, func.sum(pending_transfers.c.amount))
            .where(pending_transfers.c.state == "pending")
            .group_by(pending_transfers.c.hold_account_id)
        ).all()
    )
    out = []
    for r in conn.execute(
        select(accounts.c.id, accounts.c.path, accounts.c.asset, accounts.c.balance).where(
            accounts.c.path.like("platform:holding:%")
        )
    ):
        expected = int(held.get(r.id, 0))
        if int(r.balance) != expected:
            out.append(
                Difference(
                    "holding",
                    f"{r.path} [{r.asset}] #{r.id}",
                    expected,
                    int(r.balance),
                    "holding balance differs from the sum of its pending transfers",
                )
            )
    return out
