"""Read-side queries of the ledger (balances, transactions, history), on the reader engine."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, or_, select

from giftflow.clock import rfc3339
from giftflow.ledger.batch_repository import BatchRepository, PendingState
from giftflow.ledger.views import pending_view, posting_view, transaction_view
from giftflow.money.amounts import amount_view
from giftflow.schema import accounts, idempotency_keys, pending_transfers, postings, transactions


def balances(
    conn: Connection, path: str | None = None, owner_id: str | None = None
) -> list[tuple[str, str, int]]:
    """(path, asset, balance) with shards summed, for one path or one owner."""
    stmt = select(accounts.c.path, accounts.c.asset, func.sum(accounts.c.balance).label("balance"))
    if path is not None:
        stmt = stmt.where(accounts.c.path == path)
    if owner_id is not None:
        stmt = stmt.where(accounts.c.owner_id == owner_id)
    stmt = stmt.group_by(accounts.c.path, accounts.c.asset).order_by(
        accounts.c.path, accounts.c.asset
    )
    return [(r.path, r.asset, int(r.balance)) for r in conn.execute(stmt)]


def held_by_pending(conn: Connection, owner_id: str) -> dict[str, int]:
    """Per asset, what an owner's accounts have reserved in pending transfers (not spendable)."""
    rows = conn.execute(
        select(pending_transfers.c.asset, func.sum(pending_transfers.c.amount))
        .join(accounts, accounts.c.id == pending_transfers.c.debit_account_id)
        .where(
            accounts.c.owner_id == owner_id,
            pending_transfers.c.state == PendingState.PENDING.value,
        )
        .group_by(pending_transfers.c.asset)
    )
    return {asset: int(total) for asset, total in rows}


def _paths(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    return BatchRepository(conn).account_paths(ids)


def transaction(conn: Connection, txn_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(transactions).where(transactions.c.id == txn_id)).mappings().first()
    if row is None:
        return None
    prows = list(
        conn.execute(
            select(postings).where(postings.c.txn_id == txn_id).order_by(postings.c.seq)
        ).mappings()
    )
    paths = _paths(
        conn, [p["debit_account_id"] for p in prows] + [p["credit_account_id"] for p in prows]
    )
    return transaction_view(
        txn_id=row["id"],
        kind=row["kind"],
        created_at=row["created_at"],
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
    row = BatchRepository(conn).read_pending([pending_id]).get(pending_id)
    if row is None:
        return None
    return pending_view(row, _paths(conn, row.account_ids()))


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
                        "created_at": rfc3339(r.created_at),
                        "account": owned[account_id],
                        **amount_view(r.asset, sign * r.amount),
                    }
                )
    return entries, next_cursor


def stored_outcome(
    conn: Connection, scope: str, key: str
) -> tuple[str, int, dict[str, Any]] | None:
    """The stored outcome of an idempotency key: (request hash, status, body), or None."""
    k = idempotency_keys.c
    row = conn.execute(
        select(k.request_hash, k.status_code, k.response).where(k.scope == scope, k.key == key)
    ).first()
    if row is None:
        return None
    body = row.response if isinstance(row.response, dict) else json.loads(row.response)
    return row.request_hash, int(row.status_code), body
