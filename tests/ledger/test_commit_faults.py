"""When COMMIT itself fails the outcome is unknown: the writer finds it out before answering."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from giftflow.ledger.writer import LedgerWriter

from .support import balance, grant, transfer


@pytest.fixture
def flaky_commit(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """Make the next COMMIT raise, either after it took effect or instead of it."""
    original = Connection.commit
    plan: list[bool] = []

    def commit(self: Connection) -> None:
        if plan:
            durable = plan.pop()
            if durable:
                original(self)
            else:
                self.rollback()
            raise OperationalError("COMMIT", {}, Exception("connection lost during COMMIT"))
        original(self)

    monkeypatch.setattr(Connection, "commit", commit)
    return plan.append


def test_commit_that_landed_is_answered_from_the_store(
    writer: LedgerWriter, reader: Engine, flaky_commit: Callable[[bool], None]
) -> None:
    grant(writer, "user:a:coins", 10)
    flaky_commit(True)
    out = transfer(writer, "user:a:coins", "user:b:coins", 4, idem="lost-ack")
    assert out.status == 201
    assert balance(reader, "user:b:coins") == 4
    again = transfer(writer, "user:a:coins", "user:b:coins", 4, idem="lost-ack")
    assert again.replayed and again.body == out.body
    assert balance(reader, "user:b:coins") == 4


def test_commit_that_did_not_land_is_retried_once(
    writer: LedgerWriter, reader: Engine, flaky_commit: Callable[[bool], None]
) -> None:
    grant(writer, "user:a:coins", 10)
    flaky_commit(False)
    out = transfer(writer, "user:a:coins", "user:b:coins", 4, idem="lost-commit")
    assert out.status == 201
    assert balance(reader, "user:b:coins") == 4
    assert balance(reader, "user:a:coins") == 6


def test_keyless_batch_whose_commit_landed_is_not_applied_twice(
    writer: LedgerWriter, reader: Engine, flaky_commit: Callable[[bool], None]
) -> None:
    """No idempotency key to look up: the batch's own transaction row proves the commit."""
    grant(writer, "user:a:coins", 10)
    flaky_commit(True)
    out = transfer(writer, "user:a:coins", "user:b:coins", 3)
    assert out.status == 201
    assert balance(reader, "user:b:coins") == 3
    assert transfer(writer, "user:a:coins", "user:b:coins", 1).status == 201
    assert balance(reader, "user:b:coins") == 4
