"""Fixtures for ledger tests: a started writer on a fresh database, with a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from giftflow.clock import FrozenClock
from giftflow.db import make_engine
from giftflow.ledger.writer import LedgerWriter


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def reader(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def writer(database_url: str, clock: FrozenClock) -> Iterator[LedgerWriter]:
    engine = make_engine(database_url, writer=True)
    w = LedgerWriter(engine, clock, shard=1, max_batch=500)
    w.start()
    yield w
    w.stop()
    engine.dispose()
