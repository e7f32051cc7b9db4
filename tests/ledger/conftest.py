"""Fixtures for ledger tests: a started writer on a fresh database, with a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from giftflow.clock import FrozenClock
from giftflow.db import make_engine
from giftflow.ledger.writer import LedgerWriter
from tests.conftest import make_users

# The users the ledger tests move value for; the platform must create a user before value moves.
CAST = (
    "a",
    "b",
    "c",
    "alice",
    "bob",
    "carol",
    "c0",
    "c1",
    "x",
    "u",
    "q",
    "m",
    "one",
    "poor",
    "s1",
    "s2",
    "s3",
    "f1",
    "f2",
    "f3",
)


class CommitFaults:
    """Make upcoming COMMITs raise: ``"landed"`` after taking effect, ``"lost"`` instead of it."""

    def __init__(self) -> None:
        self.plan: list[str] = []
        self.original = Connection.commit

    def next(self, fault: str) -> None:
        self.plan.append(fault)

    def commit(self, conn: Connection) -> None:
        fault = self.plan.pop() if self.plan else "none"
        if fault == "none":
            self.original(conn)
            return
        if fault == "landed":
            self.original(conn)
        else:
            conn.rollback()
        raise OperationalError("COMMIT", {}, Exception(f"connection lost during COMMIT ({fault})"))


@pytest.fixture
def commit_faults(monkeypatch: pytest.MonkeyPatch) -> CommitFaults:
    faults = CommitFaults()
    monkeypatch.setattr(Connection, "commit", lambda conn: faults.commit(conn))
    return faults


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def reader(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=2)
    make_users(engine, *CAST)
    yield engine
    engine.dispose()


@pytest.fixture
def writer(database_url: str, clock: FrozenClock) -> Iterator[LedgerWriter]:
    engine = make_engine(database_url, writer=True)
    make_users(engine, *CAST)
    w = LedgerWriter(engine, clock, shard=1, max_batch=500)
    w.start()
    yield w
    w.stop()
    engine.dispose()
