"""Ready-made ``before`` loaders for ``audited``: what a resource is before an admin acts.

A loader is ``(connection, path parameters) → JSON-able | None``. These read through the shared
layers only (``giftflow.schema`` and the ledger's read queries), so any feature's route can
declare one without importing another feature:

- ``row_of("withdrawals", "withdrawal_id")``: the stored row (columns as JSON values);
- ``transaction_of("txn_id")``, ``pending_transfer_of("pending_id")``: the ledger's views;
- ``balances_of("creator_id")``: every account balance of an owner (shards summed).

An id that cannot be one (``abc`` for an integer key) reads nothing (``None``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Integer, select

from giftflow.audit.intent import BeforeLoader
from giftflow.audit.values import jsonable
from giftflow.ledger import read_repository
from giftflow.money.amounts import amount_view
from giftflow.schema import metadata


def _int(value: str | None) -> int | None:
    # ASCII digits only: "²" is a digit to str.isdigit, not to int()
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    return int(value)


def row_of(table: str, param: str, column: str = "id") -> BeforeLoader:
    """The row of ``table`` whose ``column`` equals the path parameter ``param``."""
    tbl = metadata.tables[table]  # a typo fails at import, not in production
    col = tbl.c[column]
    integer = isinstance(col.type, Integer)

    def load(conn: Connection, params: dict[str, str]) -> dict[str, Any] | None:
        raw = params.get(param)
        key: int | str | None = _int(raw) if integer else raw
        if key is None or (isinstance(key, str) and "\x00" in key):  # no such row, and no NUL
            return None
        row = conn.execute(select(tbl).where(col == key)).mappings().first()
        return {k: jsonable(v) for k, v in row.items()} if row is not None else None

    return load


def transaction_of(param: str) -> BeforeLoader:
    """The transaction named by ``param`` with its postings (as ``GET`` shows it)."""

    def load(conn: Connection, params: dict[str, str]) -> dict[str, Any] | None:
        txn_id = _int(params.get(param))
        return read_repository.transaction(conn, txn_id) if txn_id is not None else None

    return load


def pending_transfer_of(param: str) -> BeforeLoader:
    """The pending transfer named by ``param`` (as ``GET`` shows it)."""

    def load(conn: Connection, params: dict[str, str]) -> dict[str, Any] | None:
        pending_id = _int(params.get(param))
        return read_repository.pending(conn, pending_id) if pending_id is not None else None

    return load


def balances_of(param: str) -> BeforeLoader:
    """Every account of the owner named by ``param`` with its balance."""

    def load(conn: Connection, params: dict[str, str]) -> dict[str, Any] | None:
        owner = params.get(param)
        if owner is None:
            return None
        rows = read_repository.balances(conn, owner_id=owner)
        return {
            "owner": owner,
            "balances": [{"path": p, **amount_view(asset, total)} for p, asset, total in rows],
        }

    return load
