"""What commands read and write inside a batch, besides postings: the typed batch repository.

Commands never see a connection. They get a ``BatchRepository`` in their ``BatchContext`` (the
ledger's own reads: stored transactions, pending transfers, expiry candidates, old idempotency
keys) and reach a feature's tables through ``ctx.repository(FeatureRepository)``, which builds that
feature's repository on the batch's connection. Pending-transfer rows are written set-based by the
``PendingWrites`` batch extension.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, tuple_, update

from giftflow.schema import accounts, idempotency_keys, pending_transfers, postings, transactions


class PendingState(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


@dataclass(slots=True)
class PendingRow:
    """A pending transfer as stored. Its account ids never change after creation."""

    id: int
    debit_account_id: int
    credit_account_id: int
    hold_account_id: int
    asset: str
    amount: int
    state: PendingState
    expires_at: datetime | None
    submitted: bool
    resolved_txn_id: int | None
    created_at: datetime
    updated_at: datetime
    policy_version: str | None = None  # of the transaction that created it

    def account_ids(self) -> tuple[int, int, int]:
        return (self.hold_account_id, self.debit_account_id, self.credit_account_id)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def insert_values(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "debit_account_id": self.debit_account_id,
            "credit_account_id": self.credit_account_id,
            "hold_account_id": self.hold_account_id,
            "asset": self.asset,
            "amount": self.amount,
            "state": self.state.value,
            "expires_at": self.expires_at,
            "submitted": self.submitted,
            "resolved_txn_id": self.resolved_txn_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class StoredPosting:
    seq: int
    asset: str
    amount: int
    debit_account_id: int
    credit_account_id: int


@dataclass(frozen=True, slots=True)
class StoredTransaction:
    id: int
    kind: str
    policy_version: str | None
    postings: list[StoredPosting]


_PENDING_COLUMNS = (*pending_transfers.c, transactions.c.policy_version)


class BatchRepository:
    """The ledger's queries inside one batch transaction (row locks on PostgreSQL)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.is_pg = conn.dialect.name == "postgresql"

    # --- pending transfers ------------------------------------------------------------------
    def _pending_select(self) -> Any:
        return select(*_PENDING_COLUMNS).join(
            transactions, transactions.c.id == pending_transfers.c.id, isouter=True
        )

    def read_pending(self, ids: Iterable[int]) -> dict[int, PendingRow]:
        """Pending rows without a lock: enough to learn which accounts they touch."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        rows = self.conn.execute(self._pending_select().where(pending_transfers.c.id.in_(wanted)))
        return {r.id: _pending(r._mapping) for r in rows}

    def lock_pending(self, pending_id: int) -> PendingRow | None:
        """The row as it is now, locked until the batch commits (PostgreSQL)."""
        stmt = (
            select(*pending_transfers.c)
            .where(pending_transfers.c.id == pending_id)
            .with_for_update(of=pending_transfers)
        )
        row = self.conn.execute(stmt).mappings().first()
        if row is None:
            return None
        version = self.conn.execute(
            select(transactions.c.policy_version).where(transactions.c.id == pending_id)
        ).scalar_one_or_none()
        return _pending({**row, "policy_version": version})

    def expired_pending_ids(self, now: datetime, limit: int) -> list[int]:
        """Candidates for expiry (not locked; each is re-checked under its lock)."""
        stmt = (
            select(pending_transfers.c.id)
            .where(
                pending_transfers.c.state == PendingState.PENDING.value,
                pending_transfers.c.submitted.is_(False),
                pending_transfers.c.expires_at <= now,
            )
            .order_by(pending_transfers.c.expires_at, pending_transfers.c.id)
            .limit(limit)
        )
        return list(self.conn.execute(stmt).scalars())

    # --- transactions -----------------------------------------------------------------------
    def load_transaction(self, txn_id: int) -> StoredTransaction | None:
        """A committed transaction and its postings (immutable, so no lock is needed)."""
        row = self.conn.execute(
            select(transactions.c.id, transactions.c.kind, transactions.c.policy_version).where(
                transactions.c.id == txn_id
            )
        ).first()
        if row is None:
            return None
        found = self.conn.execute(
            select(
                postings.c.seq,
                postings.c.asset,
                postings.c.amount,
                postings.c.debit_account_id,
                postings.c.credit_account_id,
            )
            .where(postings.c.txn_id == txn_id)
            .order_by(postings.c.seq)
        )
        return StoredTransaction(
            row.id,
            row.kind,
            row.policy_version,
            [StoredPosting(p.seq, p.asset, p.amount, p[3], p[4]) for p in found],
        )

    def reversal_of(self, txn_id: int) -> int | None:
        found = self.conn.execute(
            select(transactions.c.id).where(transactions.c.reverses_id == txn_id)
        ).scalar_one_or_none()
        return int(found) if found is not None else None

    def account_paths(self, ids: Iterable[int]) -> dict[int, str]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        rows = self.conn.execute(
            select(accounts.c.id, accounts.c.path).where(accounts.c.id.in_(wanted))
        )
        return {r.id: r.path for r in rows}

    # --- idempotency keys -------------------------------------------------------------------
    def purge_idempotency_keys(self, cutoff: datetime, limit: int) -> int:
        old = (
            select(idempotency_keys.c.scope, idempotency_keys.c.key)
            .where(idempotency_keys.c.created_at < cutoff)
            .limit(limit)
        )
        doomed = [tuple(r) for r in self.conn.execute(old)]
        if doomed:
            self.conn.execute(
                delete(idempotency_keys).where(
                    tuple_(idempotency_keys.c.scope, idempotency_keys.c.key).in_(doomed)
                )
            )
        return len(doomed)


def _pending(row: Any) -> PendingRow:
    return PendingRow(
        id=row["id"],
        debit_account_id=row["debit_account_id"],
        credit_account_id=row["credit_account_id"],
        hold_account_id=row["hold_account_id"],
        asset=row["asset"],
        amount=row["amount"],
        state=PendingState(row["state"]),
        expires_at=row["expires_at"],
        submitted=bool(row["submitted"]),
        resolved_txn_id=row["resolved_txn_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        policy_version=row.get("policy_version"),
    )


class PendingWrites:
    """Batch extension: inserts and state changes of pending transfers, set-based."""

    name = "ledger.pending"

    def flush(self, conn: Connection, rows: list[tuple[str, PendingRow]]) -> None:
        inserts = [r.insert_values() for op, r in rows if op == "insert"]
        if inserts:
            conn.execute(pending_transfers.insert(), inserts)
        # a pending transfer may change twice in one batch (create, then void): keep the last
        latest: dict[int, PendingRow] = {}
        for op, r in rows:
            if op == "update":
                latest[r.id] = r
        if latest:
            conn.execute(
                update(pending_transfers)
                .where(pending_transfers.c.id == bindparam("p_id"))
                .values(
                    state=bindparam("p_state"),
                    submitted=bindparam("p_submitted"),
                    resolved_txn_id=bindparam("p_resolved"),
                    updated_at=bindparam("p_updated"),
                ),
                [
                    {
                        "p_id": r.id,
                        "p_state": r.state.value,
                        "p_submitted": r.submitted,
                        "p_resolved": r.resolved_txn_id,
                        "p_updated": r.updated_at,
                    }
                    for r in latest.values()
                ],
            )


PENDING_WRITES = PendingWrites()
