"""SQLite engines: the pragmas every connection gets, and BEGIN IMMEDIATE for the writer."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from giftflow.db import make_engine, sqlite_path, unit_of_work


@contextmanager
def engine_for(url: str, *, writer: bool) -> Iterator[Engine]:
    engine = make_engine(url, writer=writer, pool_size=2)
    try:
        yield engine
    finally:
        engine.dispose()


def probe(path: Path) -> sqlite3.Connection:
    """A plain connection that gives up on a lock after 50 ms instead of waiting 30 s."""
    return sqlite3.connect(path, timeout=0.05, isolation_level=None)


def can_take_write_lock(path: Path) -> bool:
    with closing(probe(path)) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            return False
        conn.execute("ROLLBACK")
        return True


@pytest.mark.parametrize("writer", [False, True], ids=["reader", "writer"])
def test_every_connection_gets_the_pragmas(sqlite_url: str, writer: bool) -> None:
    with engine_for(sqlite_url, writer=writer) as engine, engine.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,  # FULL
        "foreign_keys": 1,
        "busy_timeout": 30000,
    }


def test_a_new_database_file_is_put_in_wal_mode(tmp_path: Path) -> None:
    # the template the sqlite_url fixture copies may already be in WAL (the mode is kept in the
    # file); a brand-new file can only be WAL because the engine's connect hook made it so
    path = tmp_path / "fresh.db"
    with closing(sqlite3.connect(path)) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    with engine_for(f"sqlite:///{path}", writer=False) as engine, engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    with closing(sqlite3.connect(path)) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_writer_transactions_take_the_write_lock_up_front(sqlite_url: str) -> None:
    path = sqlite_path(sqlite_url)
    assert path is not None
    assert can_take_write_lock(path)
    with engine_for(sqlite_url, writer=True) as engine, engine.connect() as conn:
        with conn.begin():
            # nothing written or even read yet: only BEGIN IMMEDIATE holds the lock here
            assert not can_take_write_lock(path)
        assert can_take_write_lock(path)


def test_reader_transactions_take_no_lock(sqlite_url: str) -> None:
    path = sqlite_path(sqlite_url)
    assert path is not None
    with engine_for(sqlite_url, writer=False) as engine, engine.connect() as conn, conn.begin():
        conn.exec_driver_sql("SELECT count(*) FROM accounts").scalar()
        assert can_take_write_lock(path)  # a deferred read never blocks a writer under WAL


def test_unit_of_work_takes_the_write_lock_on_a_reader_engine(sqlite_url: str) -> None:
    path = sqlite_path(sqlite_url)
    assert path is not None
    with engine_for(sqlite_url, writer=False) as engine:
        with unit_of_work(engine):
            assert not can_take_write_lock(path)
        assert can_take_write_lock(path)


@pytest.mark.parametrize(("writer", "begin"), [(False, "BEGIN"), (True, "BEGIN IMMEDIATE")])
def test_the_begin_statement_each_engine_sends(sqlite_url: str, writer: bool, begin: str) -> None:
    with engine_for(sqlite_url, writer=writer) as engine:
        sent: list[str] = []

        @event.listens_for(engine, "before_cursor_execute")
        def _record(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
            sent.append(statement)

        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql("SELECT 1")
    assert sent == [begin, "SELECT 1"]
