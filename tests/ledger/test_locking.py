"""Row locks between writers: one global order (no deadlocks), and debits of sharded accounts
that succeed whenever the sum over shards allows, whichever writer (shard) asks."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Engine

from giftflow import metrics
from giftflow.clock import FrozenClock
from giftflow.db import make_engine
from giftflow.ledger.commands import TransferCommand
from giftflow.ledger.model import AccountState, Posting
from giftflow.ledger.repository import WriterRepository
from giftflow.ledger.reversal import ReverseTransaction
from giftflow.ledger.writer import LedgerWriter

from .support import GRANTS, POLICY, assert_clean, balance, grant, transfer

POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
WORLD = "external:world"


def start_writer(database_url: str, clock: FrozenClock, shard: int) -> LedgerWriter:
    w = LedgerWriter(make_engine(database_url, writer=True), clock, shard=shard)
    w.start()
    return w


def stop_writer(w: LedgerWriter) -> None:
    w.stop()
    w.engine.dispose()


@POSTGRES_ONLY
def test_two_writers_reversing_opposite_transfers_never_deadlock(
    writer: LedgerWriter,
    reader: Engine,
    clock: FrozenClock,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """T1 moves grants → world, T2 world → grants. Reversing them in two writers at once locks
    the same two rows; every lock statement is slowed down so that, taken one row at a time in
    posting order, the two writers would each hold one row and wait for the other."""
    t1 = transfer(writer, GRANTS, WORLD, 5)
    t2 = transfer(writer, WORLD, GRANTS, 5)
    other = start_writer(database_url, clock, shard=2)
    original = WriterRepository.lock_ids

    def slow_lock(self: WriterRepository, ids: Sequence[int]) -> dict[int, AccountState]:
        found = original(self, ids)
        time.sleep(0.5)  # hold what was locked while the other writer locks too
        return found

    failed_before = metrics.WRITER_FAILED_BATCHES._value.get()
    monkeypatch.setattr(WriterRepository, "lock_ids", slow_lock)
    try:
        first = writer.submit_future(ReverseTransaction(int(t1.body["id"])))
        second = other.submit_future(ReverseTransaction(int(t2.body["id"])))
        outcomes = [first.result(60), second.result(60)]
    finally:
        monkeypatch.setattr(WriterRepository, "lock_ids", original)
        stop_writer(other)
    assert [o.status for o in outcomes] == [201, 201], [o.body for o in outcomes]
    # a deadlock would have failed a batch (PostgreSQL aborts one side) before the split retry
    assert metrics.WRITER_FAILED_BATCHES._value.get() == failed_before
    assert balance(reader, WORLD) == 0 and balance(reader, GRANTS) == 0
    assert_clean(reader)


def test_a_refund_draws_on_revenue_earned_in_another_writers_shard(
    writer: LedgerWriter, reader: Engine, clock: FrozenClock, database_url: str
) -> None:
    """Revenue earned by writer shard 1; after a restart on shard 2, a refund of it succeeds."""
    grant(writer, "user:a:coins", 100)
    spend = transfer(writer, "user:a:coins", "platform:revenue:gifts", 60)
    writer.stop()
    restarted = start_writer(database_url, clock, shard=2)
    try:
        refund = restarted.execute(
            TransferCommand(
                [Posting("platform:revenue:gifts", "user:a:coins", "COIN", 25)],
                policy_version=POLICY,
            )
        )
        assert refund.status == 201, refund.body
        assert [(p["source"], p["amount"]) for p in refund.body["postings"]] == [
            ("platform:revenue:gifts", 25)
        ]
        # the rest comes back by reversal, also from shard 1's row
        too_much = restarted.execute(ReverseTransaction(int(spend.body["id"])))
        assert too_much.error_code == "insufficient_funds"
        assert too_much.body["error"]["details"]["available"] == 35
        more = restarted.execute(
            TransferCommand(
                [Posting("platform:revenue:gifts", "user:a:coins", "COIN", 35)],
                policy_version=POLICY,
            )
        )
        assert more.status == 201
    finally:
        stop_writer(restarted)
    assert balance(reader, "user:a:coins") == 100
    assert balance(reader, "platform:revenue:gifts") == 0
    assert_clean(reader)


def test_announced_accounts_are_locked_in_one_ordered_statement(
    writer: LedgerWriter, reader: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of transfers and a reversal takes its account locks in one statement, sorted."""
    grant(writer, "user:a:coins", 50)
    txn = transfer(writer, "user:a:coins", "platform:revenue:items", 20)
    calls: list[list[int]] = []
    original = WriterRepository.lock_ids

    def spy(self: WriterRepository, ids: Sequence[int]) -> dict[int, Any]:
        calls.append(sorted(set(ids)))
        return original(self, ids)

    monkeypatch.setattr(WriterRepository, "lock_ids", spy)
    with writer._cond:  # queue both, so they share one batch
        futures = [
            writer.submit_future(ReverseTransaction(int(txn.body["id"]))),
            writer.submit_future(
                TransferCommand([Posting(GRANTS, "user:b:coins", "COIN", 3)], policy_version=POLICY)
            ),
        ]
    assert [f.result(30).status for f in futures] == [201, 201]
    assert len(calls) == 1, calls
    assert_clean(reader)
