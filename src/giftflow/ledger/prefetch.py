"""The batch's first reads in one round trip (PostgreSQL).

A command announces from ``account_hints`` what it will read besides accounts (its live's room,
the users, the wallets, an open combo, the live's goals…), and each feature's batch module reads
everything announced in one statement the first time a command asks (its *lazy* read). That made
a dozen round trips per batch, one after another: at the small batches a web server's load makes
(~30 gifts), they were most of the writer's time, and each one a wait on the network.

A feature also registers a *prefetcher* here: given the batch, it returns the same reads as
``Read`` values (statement, parameters, result columns) and what to do with their rows — the
very memo entries its lazy read would make. After the batch's accounts are locked the writer
sends every prefetcher's reads in one pipeline, in the prefetchers' ``order`` (the order locks
are taken in: rooms before wallets, as a gift's lazy reads take them), and hands each its rows.
A lazy read then finds its memo filled and asks nothing; anything not announced, and everything
on SQLite, is still read lazily, so a prefetcher is an optimisation that may skip anything it
does not know how to read ahead.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from psycopg.rows import dict_row

from giftflow.db import pg_pipeline

if TYPE_CHECKING:
    from sqlalchemy import Column, Connection
    from sqlalchemy.sql.elements import ClauseElement

    from giftflow.ledger.commands import BatchContext

Row = dict[str, Any]
log = logging.getLogger("giftflow.writer")


@dataclass(frozen=True, slots=True)
class Read:
    """One statement of the pipeline and what to do with its rows.

    ``columns`` give result types by name, as ``text(...).columns(...)`` does for the lazy read
    (timestamps through ``UTCDateTime``, for instance); ``done`` gets every row as a dict.
    ``params`` go to the driver as they are (no SQLAlchemy bind processing): plain values and
    lists for ``CAST(:x AS type[])`` arrays.
    """

    statement: ClauseElement
    params: Mapping[str, Any]
    done: Callable[[list[Row]], None] | None = None
    columns: Sequence[Column[Any]] = field(default=())


Prefetcher = Callable[["BatchContext"], Iterable[Read]]

_PREFETCHERS: list[tuple[int, str, Prefetcher]] = []


def register(order: int, name: str, prefetcher: Prefetcher) -> None:
    """Add (or replace, by ``name``) a prefetcher; lower ``order`` reads (and locks) first."""
    _PREFETCHERS[:] = [p for p in _PREFETCHERS if p[1] != name]
    _PREFETCHERS.append((order, name, prefetcher))
    _PREFETCHERS.sort(key=lambda p: (p[0], p[1]))


def unread(ctx: BatchContext, announced: Any, prefix: str) -> list[Any]:
    """What was announced under the memo key ``announced`` (a set) and is not in the memo as
    ``(prefix, item)`` yet: what a prefetcher has to read, sorted (one statement text, one lock
    order)."""
    memo = ctx.book.memo
    found: set[Any] = memo.get(announced, set())
    return sorted(i for i in found if (prefix, i) not in memo)


def prefetch(ctx: BatchContext) -> int:
    """Run every registered prefetcher's reads in one round trip (PostgreSQL only); returns
    the number of statements sent.

    A prefetcher that fails before anything is sent (a bug) is logged and the batch goes on
    with its lazy reads; once the reads are sent, any error fails the batch like any other
    statement of it (the split and retry of the writer deal with it)."""
    conn = ctx.repo.conn
    if conn.dialect.name != "postgresql":
        return 0
    try:
        reads = [r for _, _, prefetcher in _PREFETCHERS for r in prefetcher(ctx)]
        statements = [_compiled(conn, r) for r in reads]
    except Exception:
        log.exception("a prefetcher failed: this batch reads lazily")
        return 0
    if reads:
        _run(conn, reads, statements)
    return len(reads)


def run(conn: Connection, reads: Sequence[Read]) -> None:
    """Send ``reads`` in one pipeline, in order, then hand each its rows."""
    _run(conn, reads, [_compiled(conn, r) for r in reads])


def _run(
    conn: Connection, reads: Sequence[Read], statements: Sequence[tuple[str, dict[str, Any]]]
) -> None:
    if not reads:
        return
    with contextlib.ExitStack() as cursors:
        sent = []
        with pg_pipeline(conn) as driver:
            for sql, params in statements:
                cursor = cursors.enter_context(driver.cursor(row_factory=dict_row))
                cursor.execute(sql, params)
                sent.append(cursor)
        for read, cursor in zip(reads, sent, strict=True):
            rows: list[Row] = cursor.fetchall() if cursor.description is not None else []
            if read.done is None:
                continue
            if read.columns and rows:
                _convert(conn, read.columns, rows)
            read.done(rows)


_SQL: dict[int, tuple[Any, str, list[str]]] = {}  # id(statement) → (statement, SQL, parameters)


def _compiled(conn: Connection, read: Read) -> tuple[str, dict[str, Any]]:
    found = _SQL.get(id(read.statement))
    if found is None or found[0] is not read.statement:
        compiled = read.statement.compile(dialect=conn.dialect)
        binds: dict[str, Any] = getattr(compiled, "binds", {})
        if any(b.expanding for b in binds.values()):
            raise ValueError("a prefetched statement takes arrays, not expanding IN lists")
        found = (read.statement, str(compiled), list(compiled.params))
        _SQL[id(read.statement)] = found
    _, sql, names = found
    return sql, {n: read.params[n] for n in names}


# column ids → (the columns, their result processors by name); the columns are kept so that an id
# cannot be reused by another column while its entry lives
_PROCESSORS: dict[
    tuple[int, ...], tuple[Sequence[Any], list[tuple[str, Callable[[Any], Any]]]]
] = {}


def _convert(conn: Connection, columns: Sequence[Column[Any]], rows: list[Row]) -> None:
    key = tuple(id(c) for c in columns)
    entry = _PROCESSORS.get(key)
    processors = entry[1] if entry is not None else None
    if processors is None:
        dialect = conn.dialect
        processors = []
        for c in columns:
            found = c.type.dialect_impl(dialect).result_processor(dialect, None)
            if found is not None:
                processors.append((c.name, found))
        _PROCESSORS[key] = (tuple(columns), processors)
    for name, process in processors:
        for row in rows:
            if name in row:
                row[name] = process(row[name])
