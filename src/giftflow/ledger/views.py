"""JSON shapes of ledger objects, shared by command results and read endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from giftflow.money.amounts import format_amount
from giftflow.money.assets import get_asset


def rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def amount_view(asset: str, amount: int) -> dict[str, Any]:
    return {"asset": asset, "amount": amount, "display": format_amount(amount, get_asset(asset))}


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
        "kind": kind,
        "created_at": rfc3339(created_at),
        "memo": memo,
        "reverses": str(reverses_id) if reverses_id is not None else None,
        "policy_version": policy_version,
        "metadata": meta or {},
        "postings": postings,
    }


def pending_view(row: dict[str, Any], paths: dict[int, str]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "object": "pending_transfer",
        "state": row["state"],
        "source": paths[row["debit_account_id"]],
        "destination": paths[row["credit_account_id"]],
        **amount_view(row["asset"], row["amount"]),
        "expires_at": rfc3339(row["expires_at"]) if row["expires_at"] else None,
        "submitted": bool(row["submitted"]),
        "resolved_transaction": (
            str(row["resolved_txn_id"]) if row.get("resolved_txn_id") is not None else None
        ),
    }
