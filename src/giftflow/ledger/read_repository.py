"""Read-side queries of the ledger (balances, transactions, history), on the reader engine."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, or_, select

from giftflow.ledger.repository import account_paths, aware
from giftflow.ledger.views import (
    amount_view,
    pending_view,
    posting_view,
    rfc3339,
    transaction_view,
)
from giftflow.schema import accounts, pending_transfers, postings, transactions


def balances(conn: Connection, path: str | None = None, owner_id: str | None = None) -> list[Any]:
    """(path, asset, balance) with shards summed, for one path or one owner."""
    stmt = select(accounts.c.path, accounts.c.asset, func.sum(accounts.c.balance).label("balance"))
    if path is not None:
        stmt = stmt.where(accounts.c.path == path)
    if owner_id is not None:
        stmt = stmt.where(accounts.c.owner_id == owner_id)
    stmt = stmt.group_by(accounts.c.path, accounts.c.asset).order_by(
        accounts.c.path, accounts.c.asset
    )
    return list(conn.execute(stmt))


def transaction(conn: Connection, txn_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(transactions).where(transactions.c.id == txn_id)).mappings().first()
    if row is None:
        return None
    prows = list(
        conn.execute(
            select(postings).where(postings.c.txn_id == txn_id).order_by(postings.c.seq)
        ).mappings()
    )
    paths = account_paths(
        conn, [p["debit_account_id"] for p in prows] + [p["credit_account_id"] for p in prows]
    )
    return transaction_view(
        txn_id=row["id"],
        kind=row["kind"],
        created_at=aware(row["created_at"]),
        postings=[
            posting_view(
                paths[p["debit_account_id"]], paths[p["credit_account_id"]], p["asset"], p["amount"]
            )
            for p in prows
        ],
        memo=row["memo"],
        reverses_id=row["reverses_id"],
        policy_version=row["policy_version"],
        meta=json.loads(row["meta"]) if row["meta"] else None,
    )


def pending(conn: Connection, pending_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(select(pending_transfers).where(pending_transfers.c.id == pending_id))
        .mappings()
        .first()
    )
    if row is None:
        return None
    out = dict(row)
    if out["expires_at"] is not None:
        out["expires_at"] = aware(out["expires_at"])
    paths = account_paths(conn, [out["debit_account_id"], out["credit_account_id"]])
    return pending_view(out, paths)


def owner_history(
    conn: Connection, owner_id: str, *, limit: int, before_txn: int | None
) -> tuple[list[dict[str, Any]], int | None]:
    """One owner's entries, newest transaction first: every posting touching their accounts.

    Returns the page and the cursor of the next page (None on the last page).
    """
    owned = {
        r.id: r.path
        for r in conn.execute(
            select(accounts.c.id, accounts.c.path).where(accounts.c.owner_id == owner_id)
        )
    }
    if not owned:
        return [], None
    ids = list(owned)
    touching = or_(postings.c.debit_account_id.in_(ids), postings.c.credit_account_id.in_(ids))
    page_stmt = select(postings.c.txn_id).where(touching).distinct()
    if before_txn is not None:
        page_stmt = page_stmt.where(postings.c.txn_id < before_txn)
    page = list(
        conn.execute(page_stmt.order_by(postings.c.txn_id.desc()).limit(limit + 1)).scalars()
    )
    next_cursor = page[limit - 1] if len(page) > limit else None
    page = page[:limit]
    if not page:
        return [], None
    rows = conn.execute(
        select(
            postings.c.txn_id,
            postings.c.asset,
            postings.c.amount,
            postings.c.debit_account_id,
            postings.c.credit_account_id,
            transactions.c.kind,
            transactions.c.memo,
            transactions.c.created_at,
        )
        .join(transactions, transactions.c.id == postings.c.txn_id)
        .where(postings.c.txn_id.in_(page), touching)
        .order_by(postings.c.txn_id.desc(), postings.c.seq)
    )
    entries: list[dict[str, Any]] = []
    for r in rows:
        for account_id, sign in ((r.debit_account_id, -1), (r.credit_account_id, 1)):
            if account_id in owned:
                entries.append(
                    {
                        "transaction": str(r.txn_id),
                        "kind": r.kind,
                        "memo": r.memo,
                        "created_at": rfc3339(aware(r.created_at)),
                        "account": owned[account_id],
                        **amount_view(r.asset, sign * r.amount),
                    }
                )
    return entries, next_cursor
