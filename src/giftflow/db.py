"""Engines and migrations: SQLite (embedded default) or PostgreSQL, chosen by URL.

SQLite runs in WAL mode with ``synchronous=FULL``: a commit is on disk before it is acknowledged,
so nothing acknowledged is lost even if the process is killed the next instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def make_engine(url: str, *, writer: bool = False, pool_size: int = 10) -> Engine:
    """An engine for readers, or (``writer=True``) the ledger writer's single-connection engine.

    On SQLite the writer's transactions start with ``BEGIN IMMEDIATE`` so the write lock is taken
    up front; readers use deferred transactions and never block the writer under WAL.
    """
    url = normalise_url(url)
    if is_sqlite(url):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=pool_size
        )
        begin = "BEGIN IMMEDIATE" if writer else "BEGIN"

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("sqlite_immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else begin)

        return engine
    size = 1 if writer else pool_size
    engine = create_engine(
        url, pool_size=size, max_overflow=0 if writer else 20, pool_pre_ping=True
    )

    @event.listens_for(engine, "connect")
    def _binary_arrays(dbapi_conn: Any, _record: Any) -> None:
        # lists (the writer's unnest arrays) go in binary: in text format psycopg escapes every
        # element with a regex, ~90 us per stored JSON outcome; binary is ~1 us
        from psycopg.types.array import ListBinaryDumper

        dbapi_conn.adapters.register_dumper(list, ListBinaryDumper)

    return engine


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Connection]:
    """One transaction for a write that moves no value (users, API keys, policy versions).

    On SQLite it takes the write lock up front, so it waits its turn instead of failing midway.
    """
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_immediate=True)
        with conn.begin():
            yield conn


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction, so every query in it sees the same committed moment:
    ``REPEATABLE READ READ ONLY`` on PostgreSQL, a plain read transaction on SQLite."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with conn.begin():
            yield conn


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "giftflow:migrations")
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (creating a SQLite file if needed)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def migration_status(url: str, engine: Engine | None = None) -> tuple[str | None, str | None]:
    """(current revision in the database, head revision of the code)."""
    from alembic.runtime.migration import MigrationContext

    head = _script_head(url)
    own = engine is None
    engine = engine or make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    finally:
        if own:
            engine.dispose()
    return current, head


def _script_head(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def upsert_insert(conn: Connection, table: Any) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the connection's dialect (both dialects
    spell it the same way in SQLAlchemy: ``.on_conflict_do_update(index_elements=…, set_=…)``)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


@contextmanager
def pg_pipeline(conn: Connection) -> Iterator[Any]:
    """PostgreSQL pipeline mode on ``conn``'s driver connection (yielded): statements sent inside
    go to the server without waiting for each other, and the block ends with one round trip.

    An error in any of them is raised when the block ends, as the same ``DBAPIError`` SQLAlchemy
    raises for a statement (``connection_invalidated`` when the connection was lost), so a
    caller handles it as any database error.
    """
    import psycopg  # PostgreSQL only
    from sqlalchemy.exc import DBAPIError

    driver: Any = conn.connection.driver_connection
    try:
        with driver.pipeline():
            yield driver
    except psycopg.Error as exc:  # raised by the pipeline's sync, outside SQLAlchemy
        lost = bool(driver.broken or driver.closed)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            None, None, exc, psycopg.Error, connection_invalidated=lost
        ) from exc
