"""Gifts end to end through HTTP: ``POST /v1/lives/{id}/gifts`` against one ``giftflow serve``
process, driven by wrk, next to the same server's ``GET /healthz`` rate in the same run.

Everything is set up through the API, as a platform would: the creator and the viewers with
``PUT /v1/users/{id}`` (platform key), the viewers' coins with admin grants, the live with
``POST /v1/lives`` (the creator's token). wrk's Lua script picks a viewer's token at random and a
unique Idempotency-Key for every request. The ratio gifts/s ÷ healthz/s is what to read: it says
how much of the web stack's own ceiling the full gift keeps.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tests.api.server import ServerProcess

from bench.gift_bench import CpuMeter, CpuSplit, analyze, postgres_cpu, process_cpu, thread_cpu
from giftflow.auth.apikeys import create_api_key
from giftflow.auth.tokens import mint_user_token
from giftflow.clock import SystemClock
from giftflow.db import make_engine, unit_of_work

SECRET = "bench-secret-bench-secret-bench-secret"
VIEWERS = 1000
GIFT = "rose"

HEALTHZ_SCRIPT = 'wrk.method = "GET"\nwrk.path = "/healthz"\n'

GIFTS_SCRIPT = """
local tokens = %(tokens)s
local path = "/v1/lives/%(live)s/gifts"
local body = '{"gift_id":"%(gift)s","count":1}'
local threads = 0
local counter = 0
local prefix = ""
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  -- unique per run and per thread: a reused key would be answered as a replay, not a gift
  math.randomseed(os.time() * 1000 + (tid or 0))
  prefix = tostring(os.time()) .. "-" .. tostring(tid or 0) .. "-" .. math.random(1, 1e9)
end
function request()
  counter = counter + 1
  local headers = {}
  headers["Authorization"] = "Bearer " .. tokens[math.random(1, #tokens)]
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = "wrk-" .. prefix .. "-" .. counter
  return wrk.format("POST", path, headers, body)
end
"""


@dataclass(frozen=True)
class WrkRun:
    requests_per_second: float
    requests: int
    non_2xx: int
    latency_p99_ms: float


@dataclass(frozen=True)
class GiftHttpResult:
    healthz: WrkRun
    gifts: WrkRun
    healthz_cpu: CpuSplit = field(default_factory=CpuSplit)
    gifts_cpu: CpuSplit = field(default_factory=CpuSplit)
    committed: int = 0  # the live's gifts_count moved by this much during the gift window
    mean_batch: float = 0.0  # commands per writer batch during the gift window

    @property
    def ratio(self) -> float:
        h = self.healthz.requests_per_second
        return self.gifts.requests_per_second / h if h else 0.0


def _keys(url: str) -> tuple[str, str]:
    engine = make_engine(url, pool_size=1)
    now = SystemClock().now()
    try:
        with unit_of_work(engine) as conn:
            admin, _ = create_api_key(conn, "bench-admin", {"admin"}, now)
            platform, _ = create_api_key(conn, "bench-platform", {"platform"}, now)
    finally:
        engine.dispose()
    return admin, platform


def seed(base_url: str, admin: str, platform: str, viewers: int) -> str:
    """Creator ``c0`` (1,000 followers) with a live, viewers ``v…`` with coins; the live's id."""
    person = {"region": "US", "birth_date": "1990-01-01"}
    with httpx.Client(base_url=base_url, timeout=60) as client:
        as_platform = {"Authorization": f"Bearer {platform}"}
        r = client.put("/v1/users/c0", json={**person, "follower_count": 1000}, headers=as_platform)
        r.raise_for_status()
        for i in range(viewers):
            client.put(f"/v1/users/v{i}", json=person, headers=as_platform).raise_for_status()
        for start in range(0, viewers, 100):
            postings = [
                {
                    "source": "platform:equity:grants",
                    "destination": f"user:v{i}:coins",
                    "asset": "COIN",
                    "amount": 10_000_000,
                }
                for i in range(start, min(start + 100, viewers))
            ]
            client.post(
                "/v1/admin/transfers",
                json={"postings": postings},
                headers={"Authorization": f"Bearer {admin}", "Idempotency-Key": f"fund-{start}"},
            ).raise_for_status()
        token = mint_user_token("c0", SECRET, SystemClock().now())
        r = client.post(
            "/v1/lives", json={"title": "bench"}, headers={"Authorization": f"Bearer {token}"}
        )
        r.raise_for_status()
        return str(r.json()["id"])


def gifts_count(base_url: str, platform: str, live: str) -> int:
    """The live's committed gifts, as ``GET /v1/lives/{id}`` reports them."""
    r = httpx.get(
        f"{base_url}/v1/lives/{live}", headers={"Authorization": f"Bearer {platform}"}, timeout=30
    )
    r.raise_for_status()
    return int(r.json()["gifts_count"])


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not match:
        return 0.0
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, script: Path, seconds: int, connections: int) -> WrkRun:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.MULTILINE)  # not a "+/- Stdev" like 75.99%
    if rps is None or total is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    return WrkRun(
        requests_per_second=float(rps.group(1)),
        requests=int(total.group(1)),
        non_2xx=int(bad.group(1)) if bad else 0,
        latency_p99_ms=_duration_ms(p99.group(1)) if p99 else 0.0,
    )


def measure_gift_http(
    url: str,
    seconds: int,
    connections: int = 64,
    viewers: int = VIEWERS,
    pg_data: Path | None = None,
) -> GiftHttpResult:
    """Start ``giftflow serve`` on a migrated database at ``url``, seed it through the API, then
    run wrk on ``GET /healthz`` and on ``POST /v1/lives/{id}/gifts``, one after the other, with
    the CPU each used: the server's event loop (its main thread), its other threads (the ledger
    writer, the thread pool) and PostgreSQL."""
    admin, platform = _keys(url)
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(url, SECRET, Path(tmp), GIFTFLOW_PENDING_SWEEP_SECONDS="0").start()
        try:
            assert server.proc is not None
            pid = server.proc.pid
            live = seed(server.url, admin, platform, viewers)
            seeded = make_engine(url)
            analyze(seeded)
            seeded.dispose()
            now = SystemClock().now()
            tokens = [mint_user_token(f"v{i}", SECRET, now) for i in range(viewers)]
            healthz_lua = Path(tmp) / "healthz.lua"
            healthz_lua.write_text(HEALTHZ_SCRIPT)
            gifts_lua = Path(tmp) / "gifts.lua"
            gifts_lua.write_text(
                GIFTS_SCRIPT
                % {
                    "tokens": "{" + ",".join(json.dumps(t) for t in tokens) + "}",
                    "live": live,
                    "gift": GIFT,
                }
            )
            # a short warm-up of both paths (imports, plans, caches) outside the timed windows
            wrk(server.url, healthz_lua, 1, connections)
            wrk(server.url, gifts_lua, 1, connections)

            def meter() -> CpuMeter:
                return CpuMeter(
                    event_loop=lambda: thread_cpu(pid, pid),
                    other_threads=lambda: process_cpu(pid) - thread_cpu(pid, pid),
                    postgresql=lambda: postgres_cpu(pg_data),
                )

            with meter() as on_healthz:
                healthz = wrk(server.url, healthz_lua, seconds, connections)
            before = gifts_count(server.url, platform, live)
            batches_before = writer_batches(server.url)
            with meter() as on_gifts:
                gifts = wrk(server.url, gifts_lua, seconds, connections)
            committed = gifts_count(server.url, platform, live) - before
            batches = writer_batches(server.url) - batches_before
            mean_batch = committed / batches if batches else 0.0
        finally:
            server.stop()
    return GiftHttpResult(
        healthz, gifts, on_healthz.split, on_gifts.split, committed, round(mean_batch, 1)
    )


def writer_batches(url: str) -> int:
    """How many batches the server's writer has committed (its ``/metrics``)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    found = re.search(r"^giftflow_writer_batch_size_count ([0-9.e+]+)$", text, re.MULTILINE)
    return int(float(found.group(1))) if found else 0
