"""Settling a COMMIT whose outcome is unknown, before the writer answers anyone.

On PostgreSQL the batch recorded its server transaction id and backend pid when it began; a fresh
connection asks ``txid_status`` and waits while the answer is ``in progress`` (the old backend
may still be committing after the client's connection dropped). After ``COMMIT_WAIT_SECONDS`` it
terminates that backend, which settles the transaction one way or the other, and keeps asking.
On SQLite a COMMIT that raised is settled in-process; the batch's first transaction row (or,
for a batch that wrote none, its idempotency keys) tells whether it landed.
"""

from __future__ import annotations

import time

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from giftflow.clock import Clock
from giftflow.ledger.idempotency import IdempotencyRequest, Outcome
from giftflow.ledger.repository import AccountCache, WriterRepository

COMMIT_WAIT_SECONDS = 10  # how long a late COMMIT may stay in progress before its backend is ended
RECOVERY_SECONDS = 60  # then how long to wait for the server to settle it


class CommitUnknown(Exception):
    """COMMIT raised: the batch may or may not be durable.

    It carries the outcomes the batch computed, the id of a transaction row it wrote (if any) and,
    on PostgreSQL, the batch's server transaction id and backend pid, which settle the question
    for certain whether or not the commands had keys.
    """

    def __init__(
        self,
        outcomes: list[Outcome],
        marker_txn_id: int | None,
        server_txn: tuple[int, int] | None,
    ) -> None:
        super().__init__("outcome of COMMIT unknown")
        self.outcomes = outcomes
        self.marker_txn_id = marker_txn_id
        self.server_txn = server_txn


def settle(
    engine: Engine,
    cache: AccountCache,
    clock: Clock,
    unknown: CommitUnknown,
    keyed: list[IdempotencyRequest],
) -> bool | None:
    """True or False once certain; None if the database could not tell us."""
    started = time.monotonic()
    terminated = False
    attempt = 0
    while time.monotonic() - started < RECOVERY_SECONDS:
        try:
            with engine.connect() as conn:
                repo = WriterRepository(conn, cache, clock.now())
                if unknown.server_txn is not None:
                    txid, pid = unknown.server_txn
                    status = repo.transaction_status(txid)
                    if status == "in progress":
                        # the old backend is still committing: never decide now
                        waited = time.monotonic() - started
                        if waited > COMMIT_WAIT_SECONDS and not terminated:
                            repo.terminate_backend(pid)
                            terminated = True
                        conn.rollback()
                        time.sleep(0.05)
                        continue
                    if status in ("committed", "aborted"):
                        return status == "committed"
                conn.rollback()
                return _marker_committed(conn, repo, unknown, keyed)
        except SQLAlchemyError:
            attempt += 1
            time.sleep(min(0.2 * attempt, 2))
    return None


def _marker_committed(
    conn: Connection,
    repo: WriterRepository,
    unknown: CommitUnknown,
    keyed: list[IdempotencyRequest],
) -> bool:
    """SQLite: a COMMIT that raised is settled; the batch's rows tell whether it landed."""
    try:
        if unknown.marker_txn_id is not None:
            return repo.transaction_exists(unknown.marker_txn_id)
        stored = repo.load_outcomes(k.ident for k in keyed)
        return bool(keyed) and all(k.ident in stored for k in keyed)
    finally:
        conn.rollback()
