"""Committed gifts per second through the ledger writer, in-process: the full gift as built.

Each gift is a ``SendGift`` command (a Rose, count 1) submitted under its own
``IdempotencyRequest``, scoped and fingerprinted exactly as ``POST /v1/lives/{id}/gifts`` does:
the live and its room (locked), both users' facts, the wallet counter (lots FIFO), the spending
caps' windows, coins to ``platform:revenue:gifts``, diamonds to the creator (into the hold under a
policy that holds earnings), the combo, the room's ``gift`` event in the outbox, the live's totals
and the stored idempotency outcome — one batch transaction for up to ``max_batch`` gifts.

``hot`` sends every gift to one live; otherwise gifts are spread over 1,000 lives of 1,000
creators. Many asyncio submitters keep the writer fed, as concurrent HTTP requests would. Where
the time goes is measured alongside: CPU of the writer thread, of the submitting event loop and of
the PostgreSQL server, per gift. ``BENCH_PROFILE=1`` adds a cProfile of the writer thread
(``BENCH_PROFILE_OUT=path`` keeps the raw stats for ``python -m pstats``).
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import io
import os
import pstats
import random
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from giftflow import metrics
from giftflow.api import tune_gc
from giftflow.clock import SystemClock
from giftflow.db import make_engine, unit_of_work
from giftflow.ledger.commands import TransferCommand
from giftflow.ledger.idempotency import IdempotencyRequest, Outcome, fingerprint
from giftflow.ledger.model import Posting
from giftflow.ledger.writer import LedgerWriter
from giftflow.live.engagement import install as install_engagement
from giftflow.live.gifting.commands import GiftOrder, SendGift
from giftflow.live.gifting.hooks import clear as clear_hooks
from giftflow.live.rooms import repository as rooms
from giftflow.money.policy import Policy
from giftflow.money.repository import PolicySource
from giftflow.schema import users

VIEWERS = 2000
CREATORS = 1000
GIFT = "rose"
POLICY_PROFILE = os.environ.get("BENCH_POLICY", "standard")
ROUTE = "POST /v1/lives/{live_id}/gifts"
TICK = os.sysconf("SC_CLK_TCK")
DEFAULT_GC = gc.get_threshold()


# --- CPU accounting (Linux /proc) ---------------------------------------------------------------
def _stat_cpu(path: Path, *, reaped: bool = False) -> tuple[float, int]:
    """(user + system CPU seconds, parent pid) of the process or thread whose stat is at path;
    with ``reaped``, plus what its children that exited and were waited for used."""
    try:
        fields = path.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0, 0
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK, int(fields[1])


def thread_cpu(native_id: int, pid: int | None = None) -> float:
    """CPU seconds of one thread (of this process, or of ``pid``)."""
    return _stat_cpu(Path(f"/proc/{pid or os.getpid()}/task/{native_id}/stat"))[0]


def process_cpu(pid: int) -> float:
    """CPU seconds of a whole process, every thread."""
    return _stat_cpu(Path(f"/proc/{pid}/stat"))[0]


SEEDED_TABLES = ("users", "accounts", "wallet_state", "lives", "room_sequences")


def analyze(engine: Engine) -> None:
    """Refresh PostgreSQL's planner statistics of the tables seeding filled and a window does
    not grow (as autovacuum does within a minute on a live system): with stale estimates (a few
    hundred rows where there are thousands) the writer's reads of them were sequential scans,
    ~10-15% of the server's CPU per gift at batches of 32. Not the tables a window grows: an
    ANALYZE of a nearly empty ``transactions`` made the postings' foreign-key check, whose plan
    each connection keeps, a sequential scan of a table growing by thousands of rows a second
    (the fan-out bench fell from ~1,980 to ~910 gifts/s, at ~900 µs of server CPU per gift); on a
    live system autovacuum analyzes again at every 10% of growth."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "ANALYZE " + ", ".join(SEEDED_TABLES)
        )


def postgres_cpu(data_dir: Path | None) -> float:
    """CPU seconds of a PostgreSQL server: its postmaster and every child process (backends,
    WAL writer, checkpointer, autovacuum workers). A child that exits (an autovacuum worker, a
    closed backend) moves from the living children to the postmaster's reaped-children time
    (it waits for each), so the sum stays monotonic across a window."""
    if data_dir is None:
        return 0.0
    try:
        postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    total = _stat_cpu(Path(f"/proc/{postmaster}/stat"), reaped=True)[0]
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            cpu, parent = _stat_cpu(proc / "stat")
            if parent == postmaster:
                total += cpu
    return total


@dataclass
class CpuSplit:
    """CPU seconds spent, by whom, during a timed window."""

    seconds: dict[str, float] = field(default_factory=dict)

    def per(self, n: int) -> dict[str, float]:
        """Microseconds per unit of work (gift, request)."""
        return {k: v * 1e6 / n for k, v in self.seconds.items()} if n else {}

    def describe(self, n: int, unit: str = "gift") -> str:
        parts = [f"{k} {v:,.0f} µs" for k, v in self.per(n).items()]
        return f"CPU per {unit}: " + ", ".join(parts)


class CpuMeter:
    """Take CPU readings from named sources before and after a window."""

    def __init__(self, **sources: object) -> None:
        self.sources = sources
        self._start: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        out = {}
        for name, source in self.sources.items():
            assert callable(source)
            out[name] = float(source())
        return out

    def __enter__(self) -> CpuMeter:
        self._start = self._read()
        return self

    def __exit__(self, *_: object) -> None:
        end = self._read()
        self.split = CpuSplit({k: end[k] - self._start[k] for k in end})


# --- the gift bench ----------------------------------------------------------------------------
@dataclass(frozen=True)
class GiftResult:
    label: str
    committed: int
    refused: int
    seconds: float
    batches: int = 0
    cpu: CpuSplit = field(default_factory=CpuSplit)
    profile: str = ""

    @property
    def rate(self) -> float:
        return self.committed / self.seconds if self.seconds else 0.0

    @property
    def mean_batch(self) -> float:
        return self.committed / self.batches if self.batches else 0.0

    @property
    def wall_per_gift_us(self) -> float:
        return self.seconds * 1e6 / self.committed if self.committed else 0.0


def combined(label: str, runs: list[GiftResult]) -> GiftResult:
    """Several windows of one scenario as one: gifts, time, batches and CPU added up."""
    cpu: dict[str, float] = {}
    for r in runs:
        for k, v in r.cpu.seconds.items():
            cpu[k] = cpu.get(k, 0.0) + v
    return GiftResult(
        label,
        sum(r.committed for r in runs),
        sum(r.refused for r in runs),
        sum(r.seconds for r in runs),
        sum(r.batches for r in runs),
        CpuSplit(cpu),
        "".join(r.profile for r in runs),
    )


def create_people(engine: Engine, viewers: int = VIEWERS, creators: int = CREATORS) -> None:
    """Viewers ``v…`` (adult, US) and creators ``c…`` (adult, 1,000 followers), as the platform
    creates them with ``PUT /v1/users/{id}``."""
    now = SystemClock().now()
    born = date(1990, 1, 1)
    people = [(f"v{i}", 0) for i in range(viewers)] + [(f"c{i}", 1000) for i in range(creators)]
    with unit_of_work(engine) as conn:
        existing = set(conn.execute(select(users.c.id)).scalars())
        rows = [
            {
                "id": user_id,
                "region": "US",
                "birth_date": born,
                "follower_count": followers,
                "created_at": now,
                "updated_at": now,
            }
            for user_id, followers in people
            if user_id not in existing
        ]
        if rows:
            conn.execute(users.insert(), rows)


def start_lives(engine: Engine, policy: Policy, creators: int) -> list[int]:
    """One live per creator ``c0…``, as ``giftflow.live.rooms.service.start`` creates it (the
    live's row and its room with ``live_started`` at sequence 1), all in one transaction."""
    now = SystemClock().now()
    ids = []
    with unit_of_work(engine) as conn:
        for i in range(creators):
            live_id = rooms.create_live(
                conn,
                creator_id=f"c{i}",
                title="bench",
                policy_version=policy.version_label,
                now=now,
            )
            payload = {"live_id": str(live_id), "creator_id": f"c{i}", "title": "bench"}
            rooms.open_live_room(conn, live_id, payload, now)
            ids.append(live_id)
    return ids


def fund_viewers(writer: LedgerWriter, coins: int, viewers: int = VIEWERS) -> None:
    """An admin grant per viewer (``platform:equity:grants → user:{v}:coins``), 100 per command."""
    postings = [
        Posting("platform:equity:grants", f"user:v{i}:coins", "COIN", coins) for i in range(viewers)
    ]
    for start in range(0, len(postings), 100):
        out = writer.execute(TransferCommand(postings[start : start + 100], policy_version="grant"))
        assert out.status == 201, out.body


def gift_request(viewer: str, live_id: int, key: str, count: int = 1) -> IdempotencyRequest:
    """The key a viewer's ``POST /v1/lives/{id}/gifts`` is stored under, fingerprinted as
    ``giftflow.http.idempotent.idempotency_request`` does."""
    payload = {
        "path": {"live_id": str(live_id)},
        "query": [],
        "body": {"gift_id": GIFT, "count": count},
    }
    return IdempotencyRequest(f"user:{viewer} {ROUTE}", key, fingerprint(payload))


def send(
    writer: LedgerWriter, policy: Policy, viewer: str, live_id: int, key: str
) -> Coroutine[Any, Any, Outcome]:
    """Submit one gift as the route does: the command and its idempotency request."""
    order = GiftOrder(live_id=live_id, user_id=viewer, gift_id=GIFT, count=1)
    return writer.submit(
        SendGift(order, policy=policy), idempotency=gift_request(viewer, live_id, key)
    )


class WriterProfile:
    """cProfile of the writer thread only: a hook set with ``threading.setprofile`` before the
    writer starts turns the profiler on in that thread once ``armed``."""

    def __init__(self) -> None:
        self.profiler = cProfile.Profile()
        self.armed = False

    def install(self) -> None:
        def hook(*_: object) -> None:
            if self.armed and threading.current_thread().name == "ledger-writer":
                self.profiler.enable()  # replaces this hook in the writer thread

        threading.setprofile(hook)

    def report(self, limit: int = 30) -> str:
        self.profiler.disable()
        dump = os.environ.get("BENCH_PROFILE_OUT")
        if dump:
            self.profiler.dump_stats(dump)
        out = io.StringIO()
        stats = pstats.Stats(self.profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(limit)
        stats.sort_stats("tottime").print_stats(limit)
        return out.getvalue()


def _count(outcomes: list[Outcome]) -> tuple[int, int]:
    ok = sum(1 for o in outcomes if o.status == 201)
    if ok < len(outcomes):
        first = next(o for o in outcomes if o.status != 201)
        print(f"  refused: {len(outcomes) - ok} (first: {first.status} {first.body})")
    return ok, len(outcomes) - ok


async def _warm(writer: LedgerWriter, policy: Policy, lives: list[int]) -> None:
    """Every viewer gives, and every live receives, at least once (accounts, wallets, plans and
    the writer's caches exist before the timed window), all queued at once."""
    n = max(VIEWERS, len(lives))
    outcomes = await asyncio.gather(
        *(
            send(writer, policy, f"v{i % VIEWERS}", lives[i % len(lives)], f"warm-{i}")
            for i in range(n)
        )
    )
    _count(list(outcomes))


async def _drive(
    writer: LedgerWriter,
    policy: Policy,
    lives: list[int],
    *,
    seconds: float,
    submitters: int,
    hot: bool,
) -> tuple[int, int, float]:
    committed = refused = 0
    stop_at = time.perf_counter() + seconds
    failures: list[Outcome] = []

    async def submitter(n: int) -> None:
        nonlocal committed, refused
        rng = random.Random(n)
        sent = 0
        while time.perf_counter() < stop_at:
            viewer = f"v{rng.randrange(VIEWERS)}"
            live_id = lives[0] if hot else lives[rng.randrange(len(lives))]
            sent += 1
            outcome = await send(writer, policy, viewer, live_id, f"timed-{n}-{sent}")
            if outcome.status == 201:
                committed += 1
            else:
                refused += 1
                failures.append(outcome)

    started = time.perf_counter()
    await asyncio.gather(*(submitter(n) for n in range(submitters)))
    elapsed = time.perf_counter() - started
    if failures:
        _count(failures)
    return committed, refused, elapsed


def _batches() -> float:
    for metric in metrics.WRITER_BATCH_SIZE.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                return float(sample.value)
    return 0.0


def measure_gifts(
    url: str,
    *,
    label: str,
    hot: bool,
    seconds: float,
    submitters: int = 1000,
    max_batch: int = 1000,
    pg_data: Path | None = None,
    profile: bool = False,
    engagement: bool = True,
    on_window: Callable[[], None] | None = None,
) -> GiftResult:
    """Set up viewers, creators and lives on a migrated database at ``url``, then send gifts
    through one writer for ``seconds``; returns committed gifts per second and the CPU split.
    ``on_window`` is called just before the timed window starts (after the warm-up)."""
    if engagement:  # goals, leaderboards, battles and analytics follow every gift
        install_engagement()
    else:
        clear_hooks()
    engine = make_engine(url, writer=True)
    policy = PolicySource(engine, POLICY_PROFILE).in_force(SystemClock().now())
    prof = WriterProfile() if profile else None
    if prof is not None:
        prof.install()
    writer = LedgerWriter(engine, SystemClock(), shard=0, max_batch=max_batch, queue_limit=100_000)
    writer.start()
    try:
        create_people(engine)
        lives = start_lives(engine, policy, 1 if hot else CREATORS)
        fund_viewers(writer, 10_000_000)
        analyze(engine)
        asyncio.run(_warm(writer, policy, lives))
        writer_thread = next(t for t in threading.enumerate() if t.name == "ledger-writer")
        assert writer_thread.native_id is not None
        writer_id, main_id = writer_thread.native_id, threading.get_native_id()
        if prof is not None:
            prof.armed = True
        # as ``giftflow serve`` runs its writer: what is alive now is frozen out of the
        # collector's way and the young generation is collected less often (default thresholds
        # spent ~25% of the writer's CPU in full collections of the bench's large heap)
        tune_gc()
        before = _batches()
        if on_window is not None:
            on_window()
        with CpuMeter(
            writer=lambda: thread_cpu(writer_id),
            submitters=lambda: thread_cpu(main_id),
            postgresql=lambda: postgres_cpu(pg_data),
        ) as meter:
            committed, refused, elapsed = asyncio.run(
                _drive(writer, policy, lives, seconds=seconds, submitters=submitters, hot=hot)
            )
        batches = int(_batches() - before)
    finally:
        writer.stop()
        engine.dispose()
        threading.setprofile(None)
        gc.unfreeze()  # the next window freezes its own heap
        gc.set_threshold(*DEFAULT_GC)
    cpu = (
        meter.split
        if pg_data is not None
        else CpuSplit({k: v for k, v in meter.split.seconds.items() if k != "postgresql"})
    )
    report = prof.report() if prof is not None else ""
    return GiftResult(label, committed, refused, elapsed, batches, cpu, report)
