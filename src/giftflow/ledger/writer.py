"""The batching ledger writer: one per process, many commands per commit.

Requests submit commands and await a future. The writer thread takes whatever is queued (up to
``max_batch``), applies the commands in order to one batch's book, writes everything set-based in
one transaction, commits, and only then resolves the futures: a request is acknowledged only after
its commit. A lone request commits at once; under load batches grow by themselves.

Before anything is applied, every command announces the accounts it touches and the writer locks
all of them in one statement in id order; a command that reaches for an account it did not
announce makes the writer roll back and lock the whole, larger set again in order. So writers in
several processes always take account row locks in one global order.

If the batch transaction fails, nobody in it is acknowledged: the batch is split and the halves
retried until a poison command stands alone and gets its own error. If COMMIT itself fails the
outcome is unknown. On PostgreSQL the writer asks the server about the batch's own transaction id
(``txid_status``) and waits while it is still in progress, so a COMMIT that lands late is never
mistaken for one that did not; on SQLite it looks for the batch's first transaction row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from giftflow import metrics
from giftflow.clock import Clock
from giftflow.errors import (
    GiftflowError,
    IdempotencyKeyInFlight,
    LedgerWriteFailed,
    UserNotFound,
    WriterOverloaded,
    WriterUnavailable,
)
from giftflow.jsontext import dumps_sorted
from giftflow.ledger.accounts import classify
from giftflow.ledger.batch_repository import BatchRepository
from giftflow.ledger.book import Book, LateAccount
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.commit_recovery import CommitUnknown, settle
from giftflow.ledger.idempotency import IdempotencyRequest, Outcome, replay
from giftflow.ledger.model import AccountKey, AccountRef
from giftflow.ledger.prefetch import prefetch
from giftflow.ledger.repository import AccountCache, WriterRepository

log = logging.getLogger("giftflow.writer")

CommitListener = Callable[[Mapping[str, list[Any]]], None]

ID_BLOCK = 4096
SHARDS = 16
KEEP_CONNECTION_SECONDS = 0.05


class _Relock(Exception):
    """A command reached for an account it had not announced: lock the larger set in order."""

    def __init__(self, index: int, ref: AccountRef) -> None:
        self.index = index
        self.ref = ref


class DatabaseDown(Exception):
    """No connection could be had: no command in the batch can be applied."""


def _database_down(exc: BaseException) -> bool:
    return isinstance(exc, DatabaseDown) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


@dataclass(slots=True)
class _Item:
    """A queued command and who waits for it: an asyncio future (requests) or a thread future."""

    command: Command
    idempotency: IdempotencyRequest | None = None
    future: Future[Outcome] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    waiter: asyncio.Future[Outcome] | None = None
    outcome: Outcome | None = None
    late: list[AccountRef] = field(default_factory=list)  # accounts found missing by an attempt


def _resolve(items: list[_Item]) -> None:
    """Runs on the event loop: one wake-up per batch, not one per request."""
    for item in items:
        if item.waiter is not None and item.outcome is not None and not item.waiter.done():
            item.waiter.set_result(item.outcome)


class _IdAllocator:
    def __init__(self) -> None:
        self.next = 0
        self.end = 0

    def take(self) -> int:
        if self.next >= self.end:
            raise _NeedIds
        value = self.next
        self.next += 1
        return value


class _NeedIds(Exception):
    pass


def default_shard() -> int:
    return os.getpid() % SHARDS


class LedgerWriter:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        shard: int | None = None,
        max_batch: int = 1000,
        queue_limit: int = 20000,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.shard = default_shard() if shard is None else shard % SHARDS
        self.max_batch = max_batch
        self.queue_limit = queue_limit
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._cache = AccountCache()
        self._held: Connection | None = None  # kept between back-to-back batches (_connection)
        self._ids = _IdAllocator()
        self._listeners: list[CommitListener] = []

    def add_commit_listener(self, listener: CommitListener) -> None:
        """Call ``listener`` in the writer thread after each commit with what the batch's
        extensions staged, by extension name (e.g. the room events to publish). It must be quick
        and must not raise into the writer (errors are logged). A batch whose COMMIT outcome had
        to be recovered is not announced: listeners must tolerate gaps (the outbox has it all)."""
        self._listeners.append(listener)

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout_seconds: int = 30) -> None:
        """Finish what is queued, then stop."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_seconds)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def queue_depth(self) -> int:
        return len(self._queue)

    # --- submitting -------------------------------------------------------------------------
    def submit_future(
        self, command: Command, *, idempotency: IdempotencyRequest | None = None
    ) -> Future[Outcome]:
        future: Future[Outcome] = Future()
        self._enqueue(_Item(command, idempotency, future=future))
        return future

    async def submit(
        self, command: Command, *, idempotency: IdempotencyRequest | None = None
    ) -> Outcome:
        """Queue ``command`` (under ``idempotency``, if given); wait for its committed outcome."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Outcome] = loop.create_future()
        self._enqueue(_Item(command, idempotency, loop=loop, waiter=waiter))
        return await waiter

    def _enqueue(self, item: _Item) -> None:
        with self._cond:
            if self._stopping or not self.running:
                raise WriterUnavailable()
            if len(self._queue) >= self.queue_limit:
                metrics.WRITER_REJECTED.inc()
                raise WriterOverloaded(queue_limit=self.queue_limit)
            self._queue.append(item)
            self._cond.notify()

    def execute(
        self,
        command: Command,
        *,
        idempotency: IdempotencyRequest | None = None,
        timeout_seconds: int | None = 60,
    ) -> Outcome:
        """Submit and wait (for the CLI, scripts and tests outside an event loop)."""
        return self.submit_future(command, idempotency=idempotency).result(timeout_seconds)

    # --- the loop ---------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            idle = False
            with self._cond:
                while not self._queue and not self._stopping:
                    if self._held is None:
                        self._cond.wait()
                    elif not self._cond.wait(KEEP_CONNECTION_SECONDS) and not self._queue:
                        idle = True  # nothing came: give the connection back (below)
                        break
                if not idle:
                    if not self._queue and self._stopping:
                        self._release_connection()
                        return
                    n = min(len(self._queue), self.max_batch)
                    items = [self._queue.popleft() for _ in range(n)]
            if idle:
                self._release_connection()
                continue
            metrics.WRITER_QUEUE.set(len(self._queue))
            started = time.perf_counter()
            try:
                self._process(items)
            except BaseException as exc:  # the writer must never die with futures pending
                log.exception("writer batch crashed")
                self._fail(items, LedgerWriteFailed(reason=type(exc).__name__))
            metrics.WRITER_BATCH_SECONDS.observe(time.perf_counter() - started)
            metrics.WRITER_BATCH_SIZE.observe(len(items))

    def _fail(self, items: Sequence[_Item], error: GiftflowError) -> None:
        pending = [i for i in items if i.outcome is None]
        self._deliver(pending, [Outcome.from_error(error)] * len(pending))

    def _deliver(self, items: Sequence[_Item], outcomes: Sequence[Outcome]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Item]] = {}
        ok = 0
        for item, outcome in zip(items, outcomes, strict=True):
            item.outcome = outcome
            ok += outcome.ok
            if item.future is not None:
                item.future.set_result(outcome)
            elif item.loop is not None:
                by_loop.setdefault(item.loop, []).append(item)
        for loop, waiting in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
                loop.call_soon_threadsafe(_resolve, waiting)
        metrics.WRITER_COMMANDS.labels(outcome="ok").inc(ok)
        metrics.WRITER_COMMANDS.labels(outcome="refused").inc(len(items) - ok)

    def _process(self, items: list[_Item], retried: bool = False) -> None:
        try:
            outcomes = self._attempt(items)
        except CommitUnknown as unknown:
            self._recover_unknown_commit(items, unknown)
            return
        except Exception as exc:  # a database error or a bug in one command
            metrics.WRITER_FAILED_BATCHES.inc()
            if _database_down(exc):
                # splitting cannot isolate anything: answer everyone 503, they retry by key
                log.warning("database unreachable: %s", exc)
                self._fail(items, WriterUnavailable("The database is unreachable; retry shortly."))
                return
            if len(items) > 1:
                # isolate the poison command: neighbours must not fail with it
                mid = len(items) // 2
                self._process(items[:mid])
                self._process(items[mid:])
                return
            if not retried:
                # alone: a key raced from another process is now visible and answers itself
                self._process(items, retried=True)
                return
            log.warning("command failed alone: %s", exc)
            self._fail(items, LedgerWriteFailed(reason=_reason(exc)))
            return
        self._deliver(items, outcomes)

    def _recover_unknown_commit(self, items: list[_Item], unknown: CommitUnknown) -> None:
        """Find out whether the batch committed before answering anyone."""
        keyed = [i.idempotency for i in items if i.idempotency is not None]
        try:
            committed = settle(self.engine, self._cache, self.clock, unknown, keyed)
        except SQLAlchemyError:
            committed = None
        if committed is None:
            self._fail(items, LedgerWriteFailed("The outcome of the commit is unknown."))
        elif committed:
            self._deliver(items, unknown.outcomes)
        else:
            # nothing landed: running the batch again cannot apply anything twice
            self._process(items)

    def _attempt(self, items: list[_Item]) -> list[Outcome]:
        now = self.clock.now()
        conn = self._connection()
        done = False
        try:
            if self._ids.end - self._ids.next < 4 * len(items):
                self._refill_ids(conn)  # ahead: running out midway throws the attempt away
            while True:
                try:
                    outcomes = self._apply_batch(conn, items, now)
                    done = True
                    return outcomes
                except _NeedIds:
                    # ids of an abandoned attempt are simply skipped: they are plentiful and
                    # reusing them after an unknown commit could collide
                    conn.rollback()
                    self._refill_ids(conn)
                except _Relock as relock:
                    # release every lock, then take the larger set again in one ordered go
                    conn.rollback()
                    items[relock.index].late.append(relock.ref)
        finally:
            # after a failure it goes back to the pool at once (rolled back, or dropped if it
            # broke): the next checkout pings it
            if not done:
                self._release_connection()

    def _connection(self) -> Connection:
        """The batch's connection: the previous batch's while the writer stays busy (no
        checkout, no ping, no reset between back-to-back batches), a fresh checkout otherwise.
        It goes back to the pool after ``KEEP_CONNECTION_SECONDS`` without work, after a failed
        attempt and when the writer stops."""
        conn = self._held
        if conn is not None and not conn.closed and not conn.invalidated:
            return conn
        self._release_connection()
        try:
            conn = self.engine.connect()
        except DBAPIError as exc:
            raise DatabaseDown() from exc
        self._held = conn
        return conn

    def _release_connection(self) -> None:
        conn, self._held = self._held, None
        if conn is not None:
            with contextlib.suppress(Exception):  # an invalidated connection is simply dropped
                conn.close()

    def _refill_ids(self, conn: Connection) -> None:
        repo = WriterRepository(conn, self._cache, self.clock.now())
        with conn.begin():
            start = repo.allocate_ids(ID_BLOCK)
        self._ids.next, self._ids.end = start, start + ID_BLOCK

    def _apply_batch(self, conn: Connection, items: list[_Item], now: datetime) -> list[Outcome]:
        repo = WriterRepository(conn, self._cache, now)
        conn.begin()
        keys = [i.idempotency.ident for i in items if i.idempotency is not None]
        server_txn, stored = repo.start(keys)
        outcomes: list[Outcome | None] = [None] * len(items)
        active: list[int] = []
        seen: set[tuple[str, str]] = set()
        for n, item in enumerate(items):
            req = item.idempotency
            if req is not None and req.ident in stored:
                s = stored[req.ident]
                outcomes[n] = replay(req, s.request_hash, s.status_code, s.response)
            elif req is not None and req.ident in seen:
                outcomes[n] = Outcome.from_error(IdempotencyKeyInFlight(key=req.key))
            else:
                if req is not None:
                    seen.add(req.ident)
                active.append(n)
        book = Book(repo, shard=self.shard, now=now, next_id=self._ids.take)
        ctx = BatchContext(book=book, repo=BatchRepository(conn), now=now)
        announced = active
        active = self._lock_accounts(repo, ctx, items, active, outcomes)
        if active:
            prefetch(ctx)  # what the commands announced besides accounts, in one round trip
        for n in active:
            item = items[n]
            book.begin_command()
            try:
                outcome = Outcome(item.command.success_status, item.command.apply(ctx))
            except GiftflowError as err:
                book.rollback_command()
                outcome = Outcome.from_error(err)
            except LateAccount as late:
                raise _Relock(n, late.ref) from None
            outcomes[n] = outcome
        # every storable outcome this batch decided is kept under its key, a refusal found while
        # the accounts were gathered (no such live: 404) as much as one found by apply (422s,
        # such as user_not_found, are never stored)
        key_rows: list[dict[str, object]] = []
        for n in announced:
            req, decided = items[n].idempotency, outcomes[n]
            if req is not None and decided is not None and decided.storable():
                key_rows.append(
                    {
                        "scope": req.scope,
                        "key": req.key,
                        "request_hash": req.request_hash,
                        "status_code": decided.status,
                        "response": dumps_sorted(decided.body),
                        "created_at": now,
                    }
                )
        repo.write(book, key_rows)
        final = [o for o in outcomes if o is not None]
        try:
            conn.commit()
        except SQLAlchemyError as exc:
            marker = book.transactions[0].id if book.transactions else None
            raise CommitUnknown(final, marker, server_txn) from exc
        self._cache.update(repo.new_cache_entries)
        if self._listeners and book.staged:
            staged = {name: rows for name, (_, rows) in book.staged.items()}
            for listener in self._listeners:
                try:
                    listener(staged)
                except Exception:
                    log.exception("commit listener failed")
        return final

    def _lock_accounts(
        self,
        repo: WriterRepository,
        ctx: BatchContext,
        items: list[_Item],
        active: list[int],
        outcomes: list[Outcome | None],
    ) -> list[int]:
        """Gather every command's accounts, refuse unknown owners, lock the rest in one go.

        Returns the commands still to apply; the others already have their outcome.
        """
        refs: dict[int, list[AccountRef]] = {}
        for n in active:
            try:
                refs[n] = [*items[n].command.account_hints(ctx), *items[n].late]
            except GiftflowError as err:
                outcomes[n] = Outcome.from_error(err)
        missing = repo.missing_owners(r for rs in refs.values() for r in rs)
        if missing:
            for n, rs in list(refs.items()):
                owners = {_owner(r) for r in rs} & missing
                if owners:
                    who = sorted(o for o in owners if o)
                    outcomes[n] = Outcome.from_error(
                        UserNotFound(f"No user {who[0]!r}: create it first.", users=who)
                    )
                    del refs[n]
        ctx.book.preload(r for rs in refs.values() for r in rs)
        return [n for n in active if n in refs]


def _owner(ref: AccountRef) -> str | None:
    if isinstance(ref, AccountKey):
        return classify(ref.path).owner_id
    return None


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return type(orig or exc).__name__
