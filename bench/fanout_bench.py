"""Fan-out: many subscribers on one room's stream while gifts are committed at a steady rate.

One server (the app under uvicorn, in this process, as ``giftflow serve`` runs it) on the bench
PostgreSQL; a creator with a live, ``senders`` viewers with coins. Client processes open
``subscribers`` WebSockets on ``GET /v1/lives/{id}/events`` (a minimal client: it reads each
``events`` frame's ``seq`` and adds up the gifts' ``count`` without decoding the rest). Once every
subscriber has its welcome, gifts — ``SendGift`` commands, count 1, each under its own
idempotency key as the HTTP route submits them — go to the server's ledger writer at ``rate`` per
second for ``seconds``; a commit listener notes when each gift event's batch committed.

Read off: every subscriber must receive every gift (the sum of ``count`` in its frames equals the
gifts committed; coalesced combos carry the sum), and the latency of each delivery is (when the
frame reached the subscriber) − (when the gift committed), over every (subscriber, gift) pair;
its p99 is the figure (target ≤ 250 ms; frames wait ``GIFTFLOW_REALTIME_FLUSH_MS`` = 50 ms by
design). Clock: ``time.monotonic`` (CLOCK_MONOTONIC, one clock for every process on the host).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from tests.api.server import free_port

from bench.gift_bench import (
    CpuMeter,
    CpuSplit,
    analyze,
    create_people,
    gift_request,
    postgres_cpu,
)
from giftflow.ledger.commands import TransferCommand
from giftflow.ledger.idempotency import Outcome
from giftflow.ledger.model import Posting
from giftflow.live.gifting.commands import GiftOrder, SendGift
from giftflow.realtime.outbox import OUTBOX_NAME

SECRET = "bench-secret-bench-secret-bench-secret"
GIFT = "rose"
BUCKET = 0.0005  # latency histogram resolution, seconds

EVENTS_HEAD = re.compile(rb'^\{"type":"events","seq":(\d+)')
COUNT = re.compile(rb'[{,]"count":(\d+)')


# --- the client side (runs in its own processes) ----------------------------------------------
@dataclass
class Sub:
    start: int = -1  # the welcome's seq
    frames: list[tuple[int, float, int]] = field(default_factory=list)  # (seq, received, count)
    closed: int | None = None  # a close code, if the server closed the stream
    last: int = -1


class WsClient(asyncio.Protocol):
    """Just enough WebSocket (RFC 6455) for a bench: no extensions, unmasked server frames,
    pongs for pings, whole messages (continuations joined)."""

    def __init__(self, host: str, path: str, sub: Sub, on_welcome: Callable[[], None]) -> None:
        self.host = host
        self.path = path
        self.sub = sub
        self.on_welcome = on_welcome
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.fragments = bytearray()
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)

    def _send(self, opcode: int, payload: bytes) -> None:
        assert self.transport is not None
        assert len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buf = self.buffer
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(f"handshake refused: {bytes(buf[:200])!r}")
            del buf[: end + 4]
            self.upgraded = True
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            if size - pos < head + length:
                break
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            opcode = b0 & 0x0F
            if opcode == 0:
                self.fragments += payload
                if b0 & 0x80:
                    self._message(bytes(self.fragments), now)
                    self.fragments.clear()
            elif opcode == 1:
                if b0 & 0x80:
                    self._message(payload, now)
                else:
                    self.fragments = bytearray(payload)
            elif opcode == 9:
                self._send(0xA, payload)
            elif opcode == 8:
                self.sub.closed = int.from_bytes(payload[:2], "big") if payload else 1005
                if self.transport is not None:
                    self.transport.close()
        del buf[:pos]

    def _message(self, payload: bytes, now: float) -> None:
        head = EVENTS_HEAD.match(payload)
        if head is not None:
            seq = int(head.group(1))
            count = sum(int(c) for c in COUNT.findall(payload))
            self.sub.frames.append((seq, now, count))
            self.sub.last = seq
            return
        message = json.loads(payload)
        if message.get("type") == "welcome":
            self.sub.start = self.sub.last = int(message["seq"])
            self.on_welcome()


async def _client(host: str, port: int, live_id: str, n: int, out: Path) -> None:
    """``n`` subscribers; prints ``ready`` when all have their welcome, then waits for
    ``final SEQ`` on stdin and writes what each received to ``out`` once all reached it."""
    loop = asyncio.get_running_loop()
    subs = [Sub() for _ in range(n)]
    welcomed = 0
    all_welcomed = asyncio.Event()

    def on_welcome() -> None:
        nonlocal welcomed
        welcomed += 1
        if welcomed == n:
            all_welcomed.set()

    path = f"/v1/lives/{live_id}/events"
    clients: list[WsClient] = []
    for start in range(0, n, 50):  # connect in waves: the server opens each stream in a thread
        wave = [
            loop.create_connection(
                lambda s=sub: WsClient(f"{host}:{port}", path, s, on_welcome),  # type: ignore[misc]
                host,
                port,
            )
            for sub in subs[start : start + 50]
        ]
        for _, protocol in await asyncio.gather(*wave):
            clients.append(protocol)
    await asyncio.wait_for(all_welcomed.wait(), 120)
    print("ready", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    line = (await reader.readline()).decode().split()
    final = int(line[1])
    deadline = time.monotonic() + float(line[2])
    while time.monotonic() < deadline:
        if all(s.last >= final or s.closed is not None for s in subs):
            break
        await asyncio.sleep(0.05)
    for c in clients:
        if c.transport is not None:
            c.transport.close()
    out.write_text(
        json.dumps([{"start": s.start, "frames": s.frames, "closed": s.closed} for s in subs])
    )
    print("done", flush=True)


# --- the server side ---------------------------------------------------------------------------
@dataclass
class FanoutResult:
    subscribers: int
    offered_rate: float
    gifts: int  # committed during the window
    seconds: float
    complete: int  # subscribers whose counts add up to ``gifts``
    closed: int  # subscribers the server closed (dropped as slow)
    deliveries: int  # (subscriber, gift) pairs delivered
    frames: int  # frames received, all subscribers
    p50_ms: float
    p99_ms: float
    max_ms: float
    refused: int = 0
    cpu: CpuSplit = field(default_factory=CpuSplit)

    @property
    def rate(self) -> float:
        return self.gifts / self.seconds if self.seconds else 0.0

    @property
    def all_received(self) -> bool:
        return self.complete == self.subscribers and self.gifts > 0


class CommitTimes:
    """A commit listener: when each of the room's gift events committed (writer thread)."""

    def __init__(self, room_id: int) -> None:
        self.room_id = room_id
        self.at: dict[int, float] = {}
        self.armed = False

    def __call__(self, staged: Mapping[str, list[Any]]) -> None:
        if not self.armed:
            return
        now = time.monotonic()
        for event in staged.get(OUTBOX_NAME, ()):
            if event.room_id == self.room_id and event.type == "gift":
                self.at[event.seq] = now


def latency_histogram(subs: list[dict[str, Any]], committed: dict[int, float]) -> Counter[int]:
    """Deliveries by latency bucket: a frame ending at seq F received at t delivers, to its
    subscriber, every gift with previous frame's seq < seq <= F, each with latency t − commit."""
    gift_seqs = sorted(committed)
    by_range: dict[tuple[int, int], list[float]] = {}
    for sub in subs:
        prev = int(sub["start"])
        for seq, received, _ in sub["frames"]:
            by_range.setdefault((prev, int(seq)), []).append(float(received))
            prev = int(seq)
    hist: Counter[int] = Counter()
    for (lo, hi), received in by_range.items():
        i, j = bisect.bisect_right(gift_seqs, lo), bisect.bisect_right(gift_seqs, hi)
        commits = Counter(int(committed[s] / BUCKET) for s in gift_seqs[i:j])
        if not commits:
            continue
        arrivals = Counter(int(t / BUCKET) for t in received)
        for a, na in arrivals.items():
            for c, nc in commits.items():
                hist[a - c] += na * nc
    return hist


def percentile(hist: Counter[int], q: float) -> float:
    """The q-quantile (0..1) of a bucketed histogram, in milliseconds."""
    total = sum(hist.values())
    if not total:
        return 0.0
    rank = q * total
    seen = 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= rank:
            return bucket * BUCKET * 1000
    return max(hist) * BUCKET * 1000


async def _start_server(url: str, port: int) -> tuple[Any, asyncio.Task[None], Any]:
    import uvicorn

    from giftflow.api import create_app
    from giftflow.clock import SystemClock
    from giftflow.settings import Settings

    settings = Settings(
        database_url=url,
        jwt_secret=SECRET,
        pending_sweep_seconds=0,
        log_level="warning",
        gc_tuning=True,  # as giftflow serve runs
    )
    app = create_app(settings, SystemClock())
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the server stopped during startup")
        await asyncio.sleep(0.05)
    return server, task, app.state.giftflow


async def _run(
    url: str,
    *,
    seconds: float,
    subscribers: int,
    rate: float,
    senders: int,
    processes: int,
    pg_data: Path | None,
) -> FanoutResult:
    from sqlalchemy import Engine

    from giftflow.live.rooms import service as lives

    port = free_port()
    server, serving, ctx = await _start_server(url, port)
    tmp = Path(tempfile.mkdtemp(prefix="giftflow-fanout-"))
    procs: list[asyncio.subprocess.Process] = []
    try:
        engine: Engine = ctx.engine
        await asyncio.to_thread(create_people, engine, senders, 1)
        postings = [
            Posting("platform:equity:grants", f"user:v{i}:coins", "COIN", 10_000_000)
            for i in range(senders)
        ]
        for start in range(0, senders, 100):
            funded = await ctx.writer.submit(
                TransferCommand(postings[start : start + 100], policy_version="grant")
            )
            assert funded.status == 201, funded.body
        live = await asyncio.to_thread(lives.start, ctx, "c0", "fan-out bench")
        live_id = int(live["id"])
        await asyncio.to_thread(analyze, ctx.engine)
        policy = ctx.policies.in_force(ctx.clock.now())
        times = CommitTimes(live_id)
        ctx.writer.add_commit_listener(times)

        share = [subscribers // processes + (i < subscribers % processes) for i in range(processes)]
        outs = [tmp / f"client{i}.json" for i in range(processes)]
        for n, out in zip(share, outs, strict=True):
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.fanout_bench",
                    "--client",
                    f"127.0.0.1:{port}",
                    str(live_id),
                    str(n),
                    str(out),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                )
            )
        for p in procs:
            assert p.stdout is not None
            line = await asyncio.wait_for(p.stdout.readline(), 180)
            if line.strip() != b"ready":
                raise RuntimeError(f"a fan-out client failed: {line!r}")

        outcomes: Counter[int] = Counter()
        pending: set[asyncio.Task[Outcome]] = set()

        def done(task: asyncio.Task[Outcome]) -> None:
            pending.discard(task)
            if task.cancelled() or task.exception() is not None:
                outcomes[0] += 1
            else:
                outcomes[task.result().status] += 1

        def gift(n: int) -> Coroutine[Any, Any, Outcome]:
            viewer = f"v{n % senders}"
            order = GiftOrder(live_id=live_id, user_id=viewer, gift_id=GIFT, count=1)
            return ctx.writer.submit(  # type: ignore[no-any-return]
                SendGift(order, policy=policy),
                idempotency=gift_request(viewer, live_id, f"fanout-{n}"),
            )

        times.armed = True
        sent = 0
        server_pid = os.getpid()
        with CpuMeter(
            server=lambda: _process_cpu(server_pid),
            clients=lambda: sum(_process_cpu(p.pid) for p in procs),
            postgresql=lambda: postgres_cpu(pg_data),
        ) as meter:
            started = time.monotonic()
            while (elapsed := time.monotonic() - started) < seconds:
                due = int(rate * elapsed) - sent
                for _ in range(max(0, due)):
                    task = asyncio.ensure_future(gift(sent))
                    task.add_done_callback(done)
                    pending.add(task)
                    sent += 1
                await asyncio.sleep(0.005)
            if pending:
                await asyncio.wait(set(pending))
            window = time.monotonic() - started
            times.armed = False
            final = max(times.at, default=0)
            for p in procs:
                assert p.stdin is not None
                p.stdin.write(f"final {final} 20\n".encode())
                await p.stdin.drain()
            for p in procs:
                assert p.stdout is not None
                await asyncio.wait_for(p.stdout.readline(), 60)
        subs: list[dict[str, Any]] = []
        for out in outs:
            subs.extend(json.loads(out.read_text()))
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
            await p.wait()
        server.should_exit = True
        await serving
        shutil.rmtree(tmp, ignore_errors=True)
    gifts = outcomes[201]
    complete = sum(1 for s in subs if sum(f[2] for f in s["frames"]) == gifts)
    hist = latency_histogram(subs, times.at)
    return FanoutResult(
        subscribers=subscribers,
        offered_rate=rate,
        gifts=gifts,
        seconds=window,
        complete=complete,
        closed=sum(1 for s in subs if s["closed"] is not None),
        deliveries=sum(hist.values()),
        frames=sum(len(s["frames"]) for s in subs),
        p50_ms=percentile(hist, 0.50),
        p99_ms=percentile(hist, 0.99),
        max_ms=percentile(hist, 1.0),
        refused=sum(n for status, n in outcomes.items() if status != 201),
        cpu=meter.split,
    )


def _process_cpu(pid: int) -> float:
    from bench.gift_bench import process_cpu

    return process_cpu(pid)


def measure_fanout(
    url: str,
    *,
    seconds: float,
    subscribers: int = 1000,
    rate: float = 2000.0,
    senders: int = 50,
    processes: int = 2,
    pg_data: Path | None = None,
) -> FanoutResult:
    """Run the fan-out bench against a migrated PostgreSQL database at ``url``."""
    coro = _run(
        url,
        seconds=seconds,
        subscribers=subscribers,
        rate=rate,
        senders=senders,
        processes=processes,
        pg_data=pg_data,
    )
    return _run_loop(coro)


def _run_loop(coro: Coroutine[Any, Any, FanoutResult]) -> FanoutResult:
    """Under uvloop when installed, as ``giftflow serve`` runs."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def main() -> None:
    parser = argparse.ArgumentParser(description="fan-out bench client (internal)")
    parser.add_argument("--client", nargs=4, metavar=("HOST:PORT", "LIVE", "N", "OUT"))
    args = parser.parse_args()
    if args.client is None:
        parser.error("run through `python -m bench.run` (BENCH_ONLY=fanout)")
    address, live_id, n, out = args.client
    host, _, port = address.rpartition(":")
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    asyncio.run(_client(host, int(port), live_id, int(n), Path(out)))


if __name__ == "__main__":
    main()
