"""What the writer does to save round trips keeps every guarantee: its writes go in one pipeline
on PostgreSQL (a failing statement still fails the batch, as the same SQLAlchemy error), and it
keeps its connection only between back-to-back batches (an idle or failed writer gives it back)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from giftflow.clock import FrozenClock
from giftflow.ledger import writer as writer_module
from giftflow.ledger.book import Book
from giftflow.ledger.commands import TransferCommand
from giftflow.ledger.model import Posting
from giftflow.ledger.repository import AccountCache, WriterRepository
from giftflow.ledger.writer import LedgerWriter
from giftflow.schema import idempotency_keys

from .support import GRANTS, POLICY, assert_clean, balance, grant, key
from .test_writer import POISON_ROWS


def test_a_failing_write_fails_as_the_same_error(writer: LedgerWriter) -> None:
    """An extension row breaking a constraint surfaces from the (pipelined) write as
    SQLAlchemy's IntegrityError, before COMMIT, with nothing written."""
    with writer.engine.connect() as conn:
        repo = WriterRepository(conn, AccountCache(), FrozenClock().now())
        conn.begin()
        book = Book(repo, shard=1, now=FrozenClock().now(), next_id=iter(range(10**6)).__next__)
        book.stage(POISON_ROWS, "ledger")  # the id block 'ledger' exists: a duplicate key
        with pytest.raises(IntegrityError):
            repo.write(book, [])
        conn.rollback()


def test_a_key_that_raced_in_is_answered_from_the_store(
    writer: LedgerWriter, reader: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch does not see a key stored meanwhile (as if another process committed it after
    the batch read the keys): its write breaks the unique key, the batch is split and retried,
    and the retry replays the stored outcome. The money moved once."""
    grant(writer, "user:alice:coins", 100)
    command = TransferCommand(
        [Posting("user:alice:coins", "platform:revenue:gifts", "COIN", 9)], policy_version=POLICY
    )
    first = writer.execute(command, idempotency=key("raced", 9))
    assert first.status == 201
    original = WriterRepository.load_outcomes
    blind = [True]

    def load_outcomes(self: WriterRepository, keys: Any) -> Any:
        if blind:
            blind.clear()
            return {}  # the first attempt misses the stored key
        return original(self, keys)

    monkeypatch.setattr(WriterRepository, "load_outcomes", load_outcomes)
    again = writer.execute(command, idempotency=key("raced", 9))
    assert again.replayed and again.body == first.body
    assert balance(reader, "platform:revenue:gifts") == 9
    with reader.connect() as conn:
        stored = conn.execute(
            select(idempotency_keys.c.key).where(idempotency_keys.c.key == "raced")
        ).all()
    assert len(stored) == 1
    assert_clean(reader)


def _checked_out(engine: Engine) -> int:
    return int(engine.pool.checkedout())  # type: ignore[attr-defined]


def test_the_connection_goes_back_when_the_writer_is_idle(
    writer: LedgerWriter, reader: Engine
) -> None:
    grant(writer, "user:alice:coins", 10)
    deadline = time.monotonic() + 5
    while _checked_out(writer.engine) and time.monotonic() < deadline:
        time.sleep(writer_module.KEEP_CONNECTION_SECONDS)
    assert _checked_out(writer.engine) == 0
    # and the writer takes one again for the next batch
    assert grant(writer, "user:alice:coins", 5).status == 201
    assert balance(reader, "user:alice:coins") == 15


def test_the_connection_is_kept_between_back_to_back_batches(
    writer: LedgerWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkouts = []
    original = writer.engine.connect

    def connect() -> Any:
        checkouts.append(1)
        return original()

    monkeypatch.setattr(writer.engine, "connect", connect)
    futures = []
    for n in range(30):  # a steady stream: each batch finds the next one queued
        futures.append(
            writer.submit_future(
                TransferCommand(
                    [Posting(GRANTS, "user:bob:coins", "COIN", 1)], policy_version=POLICY
                ),
                idempotency=key(f"stream-{n}"),
            )
        )
        time.sleep(0.002)
    assert all(f.result(30).status == 201 for f in futures)
    assert len(checkouts) < 30
