"""When COMMIT itself fails the outcome is unknown: the writer finds it out before answering."""

from __future__ import annotations

from sqlalchemy import Engine

from giftflow.ledger.writer import LedgerWriter

from .conftest import CommitFaults
from .support import balance, grant, transfer


def test_commit_that_landed_is_answered_from_the_store(
    writer: LedgerWriter, reader: Engine, commit_faults: CommitFaults
) -> None:
    grant(writer, "user:a:coins", 10)
    commit_faults.next("landed")
    out = transfer(writer, "user:a:coins", "user:b:coins", 4, idem="lost-ack")
    assert out.status == 201
    assert balance(reader, "user:b:coins") == 4
    again = transfer(writer, "user:a:coins", "user:b:coins", 4, idem="lost-ack")
    assert again.replayed and again.body == out.body
    assert balance(reader, "user:b:coins") == 4


def test_commit_that_did_not_land_is_retried_once(
    writer: LedgerWriter, reader: Engine, commit_faults: CommitFaults
) -> None:
    grant(writer, "user:a:coins", 10)
    commit_faults.next("lost")
    out = transfer(writer, "user:a:coins", "user:b:coins", 4, idem="lost-commit")
    assert out.status == 201
    assert balance(reader, "user:b:coins") == 4
    assert balance(reader, "user:a:coins") == 6


def test_keyless_batch_whose_commit_landed_is_not_applied_twice(
    writer: LedgerWriter, reader: Engine, commit_faults: CommitFaults
) -> None:
    """No idempotency key to look up: the batch's own transaction row proves the commit."""
    grant(writer, "user:a:coins", 10)
    commit_faults.next("landed")
    out = transfer(writer, "user:a:coins", "user:b:coins", 3)
    assert out.status == 201
    assert balance(reader, "user:b:coins") == 3
    assert transfer(writer, "user:a:coins", "user:b:coins", 1).status == 201
    assert balance(reader, "user:b:coins") == 4
