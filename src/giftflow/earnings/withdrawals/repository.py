"""Every query of withdrawals: rows and their history, the payout queue, the poll list, limits
inside the writer's batch, and received payout-provider events.

Inside the writer, ``WithdrawalBatchRepository`` reads a withdrawal row locked (``FOR UPDATE``
on PostgreSQL; SQLite's single writer serialises anyway) and the user's identity state, and
``WITHDRAWAL_WRITES`` is the batch extension that writes new rows, state changes and history
lines in the same commit as the ledger transactions they describe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from giftflow.db import upsert_insert
from giftflow.earnings.withdrawals.states import NOT_COUNTED_FOR_LIMITS, WithdrawalState
from giftflow.schema import payout_events, users, withdrawal_history, withdrawals

DIAMOND = "DIAMOND"


@dataclass(slots=True)
class WithdrawalRow:
    id: int
    user_id: str
    method_id: int
    provider: str
    state: WithdrawalState
    diamonds: int
    gross_minor: int
    fee_minor: int
    net_minor: int
    currency: str
    pending_id: int | None
    provider_ref: str | None
    policy_version: str
    local_day: date
    expected_payment_on: date | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime

    def values(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "method_id": self.method_id,
            "provider": self.provider,
            "state": self.state.value,
            "diamonds": self.diamonds,
            "gross_minor": self.gross_minor,
            "fee_minor": self.fee_minor,
            "net_minor": self.net_minor,
            "currency": self.currency,
            "pending_id": self.pending_id,
            "provider_ref": self.provider_ref,
            "policy_version": self.policy_version,
            "local_day": self.local_day,
            "expected_payment_on": self.expected_payment_on,
            "failure_reason": self.failure_reason,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    def copy(self) -> WithdrawalRow:
        return replace(self)


@dataclass(frozen=True, slots=True)
class HistoryRow:
    withdrawal_id: int
    seq: int
    state: str
    note: str | None
    txn_id: int | None
    at: datetime


def _row(m: Any) -> WithdrawalRow:
    return WithdrawalRow(
        id=int(m["id"]),
        user_id=m["user_id"],
        method_id=int(m["method_id"]),
        provider=m["provider"],
        state=WithdrawalState(m["state"]),
        diamonds=int(m["diamonds"]),
        gross_minor=int(m["gross_minor"]),
        fee_minor=int(m["fee_minor"]),
        net_minor=int(m["net_minor"]),
        currency=m["currency"],
        pending_id=int(m["pending_id"]) if m["pending_id"] is not None else None,
        provider_ref=m["provider_ref"],
        policy_version=m["policy_version"],
        local_day=m["local_day"],
        expected_payment_on=m["expected_payment_on"],
        failure_reason=m["failure_reason"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


# --- endpoint reads ----------------------------------------------------------------------------
def get(conn: Connection, withdrawal_id: int) -> WithdrawalRow | None:
    m = conn.execute(select(*withdrawals.c).where(withdrawals.c.id == withdrawal_id)).mappings()
    found = m.first()
    return _row(found) if found is not None else None


def history(conn: Connection, withdrawal_ids: Sequence[int]) -> dict[int, list[HistoryRow]]:
    found: dict[int, list[HistoryRow]] = {i: [] for i in withdrawal_ids}
    if not withdrawal_ids:
        return found
    h = withdrawal_history.c
    rows = conn.execute(
        select(h.withdrawal_id, h.seq, h.state, h.note, h.txn_id, h.at)
        .where(h.withdrawal_id.in_(list(withdrawal_ids)))
        .order_by(h.withdrawal_id, h.seq)
    )
    for r in rows:
        found[int(r.withdrawal_id)].append(
            HistoryRow(
                int(r.withdrawal_id),
                int(r.seq),
                r.state,
                r.note,
                int(r.txn_id) if r.txn_id is not None else None,
                r.at,
            )
        )
    return found


def page(
    conn: Connection,
    *,
    user_id: str | None = None,
    state: WithdrawalState | None = None,
    limit: int,
    before: int | None = None,
) -> tuple[list[WithdrawalRow], int | None]:
    """Newest first; ``(rows, cursor of the next page)``."""
    w = withdrawals.c
    stmt = select(*withdrawals.c).order_by(w.id.desc()).limit(limit + 1)
    if user_id is not None:
        stmt = stmt.where(w.user_id == user_id)
    if state is not None:
        stmt = stmt.where(w.state == state.value)
    if before is not None:
        stmt = stmt.where(w.id < before)
    rows = [_row(m) for m in conn.execute(stmt).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def ids_in_states(
    conn: Connection, states: Sequence[WithdrawalState], *, limit: int, updated_before: datetime
) -> list[int]:
    """Oldest first: withdrawals in ``states`` not touched since ``updated_before``."""
    w = withdrawals.c
    rows = conn.execute(
        select(w.id)
        .where(w.state.in_([s.value for s in states]), w.updated_at <= updated_before)
        .order_by(w.updated_at, w.id)
        .limit(limit)
    )
    return [int(r.id) for r in rows]


def paid_since(conn: Connection, since: datetime, limit: int) -> list[int]:
    """Paid withdrawals whose last change is after ``since``: still watched for a late return."""
    w = withdrawals.c
    rows = conn.execute(
        select(w.id)
        .where(w.state == WithdrawalState.PAID.value, w.updated_at >= since)
        .order_by(w.updated_at, w.id)
        .limit(limit)
    )
    return [int(r.id) for r in rows]


def user_identity(conn: Connection, user_id: str) -> tuple[str, bool] | None:
    """(kyc_status, frozen) of the user, or None when the platform never created it."""
    row = conn.execute(
        select(users.c.kyc_status, users.c.frozen).where(users.c.id == user_id)
    ).first()
    return (row.kyc_status, bool(row.frozen)) if row is not None else None


def counted_days(
    conn: Connection, user_id: str, currency: str, first: date, last: date
) -> dict[date, int]:
    """Per local day from ``first`` to ``last``: the gross of the user's withdrawals in
    ``currency`` that count towards the limits (all but rejected, canceled and failed)."""
    w = withdrawals.c
    rows = conn.execute(
        select(w.local_day, func.sum(w.gross_minor))
        .where(
            w.user_id == user_id,
            w.currency == currency,
            w.local_day >= first,
            w.local_day <= last,
            w.state.not_in([s.value for s in NOT_COUNTED_FOR_LIMITS]),
        )
        .group_by(w.local_day)
    )
    return {day: int(total) for day, total in rows}


def record_event(
    conn: Connection,
    *,
    provider: str,
    event_id: str,
    event_type: str,
    withdrawal_id: int | None,
    outcome: str,
    payload: str,
    at: datetime,
) -> bool:
    """Store a verified provider event; False when it was already stored (a redelivery)."""
    stmt = (
        upsert_insert(conn, payout_events)
        .values(
            provider=provider,
            event_id=event_id[:255],
            event_type=event_type[:100],
            withdrawal_id=withdrawal_id,
            outcome=outcome[:64],
            payload=payload,
            received_at=at,
        )
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(payout_events.c.event_id)
    )
    return conn.execute(stmt).first() is not None


def set_event_outcome(conn: Connection, provider: str, event_id: str, outcome: str) -> None:
    conn.execute(
        update(payout_events)
        .where(payout_events.c.provider == provider, payout_events.c.event_id == event_id[:255])
        .values(outcome=outcome[:64])
    )


# --- inside the writer's batch -----------------------------------------------------------------
class WithdrawalBatchRepository:
    """What withdrawal commands read inside one batch (``ctx.repository(...)``)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def read(self, withdrawal_id: int) -> WithdrawalRow | None:
        """Unlocked: enough to announce the accounts a transition touches."""
        return get(self.conn, withdrawal_id)

    def lock(self, withdrawal_id: int) -> WithdrawalRow | None:
        stmt = select(*withdrawals.c).where(withdrawals.c.id == withdrawal_id)
        if self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        found = self.conn.execute(stmt).mappings().first()
        return _row(found) if found is not None else None

    def history(self, withdrawal_id: int) -> list[HistoryRow]:
        return history(self.conn, [withdrawal_id])[withdrawal_id]

    def user_identity(self, user_id: str) -> tuple[str, bool] | None:
        return user_identity(self.conn, user_id)

    def counted_days(self, user_id: str, currency: str, first: date, last: date) -> dict[date, int]:
        return counted_days(self.conn, user_id, currency, first, last)


class WithdrawalWrites:
    """Batch extension: ``("insert", row)``, ``("update", row)`` and ``("history", HistoryRow)``.
    A withdrawal changed twice in one batch is written once, as it ended."""

    name = "earnings.withdrawals"

    def flush(self, conn: Connection, rows: list[tuple[str, Any]]) -> None:
        inserted = {r.id: r for op, r in rows if op == "insert"}
        updated: dict[int, WithdrawalRow] = {}
        for op, r in rows:
            if op == "update":
                if r.id in inserted:
                    inserted[r.id] = r
                else:
                    updated[r.id] = r
        if inserted:
            conn.execute(withdrawals.insert(), [r.values() for r in inserted.values()])
        if updated:
            conn.execute(
                update(withdrawals)
                .where(withdrawals.c.id == bindparam("w_id"))
                .values(
                    state=bindparam("w_state"),
                    provider_ref=bindparam("w_ref"),
                    expected_payment_on=bindparam("w_expected"),
                    failure_reason=bindparam("w_reason"),
                    updated_at=bindparam("w_updated"),
                ),
                [
                    {
                        "w_id": r.id,
                        "w_state": r.state.value,
                        "w_ref": r.provider_ref,
                        "w_expected": r.expected_payment_on,
                        "w_reason": r.failure_reason,
                        "w_updated": r.updated_at,
                    }
                    for r in updated.values()
                ],
            )
        lines = [r for op, r in rows if op == "history"]
        if lines:
            conn.execute(
                withdrawal_history.insert(),
                [
                    {
                        "withdrawal_id": h.withdrawal_id,
                        "seq": h.seq,
                        "state": h.state,
                        "note": h.note[:500] if h.note else None,
                        "txn_id": h.txn_id,
                        "at": h.at,
                    }
                    for h in lines
                ],
            )


WITHDRAWAL_WRITES = WithdrawalWrites()
