"""JSON shapes of ledger objects, shared by command results and read endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from giftflow.clock import rfc3339
from giftflow.money.amounts import amount_view

if TYPE_CHECKING:
    from giftflow.ledger.batch_repository import PendingRow


def posting_view(source: str, destination: str, asset: str, amount: int) -> dict[str, Any]:
    return {"source": source, "destination": destination, **amount_view(asset, amount)}


def transaction_view(
    *,
    txn_id: int,
    kind: str,
    created_at: datetime,
    postings: list[dict[str, Any]],
    memo: str | None,
    reverses_id: int | None,
    policy_version: str | None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": str(txn_id),
        "object": "transaction",
        "kind": str(kind),
        "created_at": rfc3339(created_at),
        "memo": memo,
        "reverses": str(reverses_id) if reverses_id is not None else None,
        "policy_version": policy_version,
        "metadata": meta or {},
        "postings": postings,
    }


def pending_view(row: PendingRow, paths: dict[int, str]) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "object": "pending_transfer",
        "state": str(row.state),
        "source": paths[row.debit_account_id],
        "destination": paths[row.credit_account_id],
        **amount_view(row.asset, row.amount),
        "expires_at": rfc3339(row.expires_at) if row.expires_at else None,
        "submitted": row.submitted,
        "resolved_transaction": (
            str(row.resolved_txn_id) if row.resolved_txn_id is not None else None
        ),
    }
