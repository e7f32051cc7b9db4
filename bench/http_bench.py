"""End-to-end HTTP throughput: gift-shaped admin transfers through ``giftflow serve``, driven by
wrk (Debian's package) from a second process, each request with its own Idempotency-Key."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.api.server import ServerProcess

from bench.writer_bench import create_users
from giftflow.auth.apikeys import create_api_key
from giftflow.clock import SystemClock
from giftflow.db import make_engine, unit_of_work

SECRET = "bench-secret-bench-secret-bench-secret"
VIEWERS = 2000

WRK_SCRIPT = """
local thread_id = 0
local n = 0
function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end
function request()
  n = n + 1
  local v = math.random(0, %(viewers)d - 1)
  local body = '{"postings":[{"source":"user:v' .. v .. ':coins",' ..
    '"destination":"platform:revenue:gifts","asset":"COIN","amount":5},' ..
    '{"source":"platform:equity:promotions","destination":"creator:c0:diamonds",' ..
    '"asset":"DIAMOND","amount":250}]}'
  local headers = {}
  headers["Authorization"] = "Bearer %(key)s"
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = "wrk-" .. tostring(tid) .. "-" .. n .. "-" .. math.random(1, 1e9)
  return wrk.format("POST", "/v1/admin/transfers", headers, body)
end
"""


@dataclass(frozen=True)
class HttpResult:
    label: str
    requests_per_second: float
    non_2xx: int


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _admin_key(url: str) -> str:
    engine = make_engine(url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            key, _ = create_api_key(conn, "bench", {"admin"}, SystemClock().now())
    finally:
        engine.dispose()
    return key


def _fund(base_url: str, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for start in range(0, VIEWERS, 100):
            postings = [
                {
                    "source": "platform:equity:grants",
                    "destination": f"user:v{i}:coins",
                    "asset": "COIN",
                    "amount": 10_000_000,
                }
                for i in range(start, start + 100)
            ]
            r = client.post(
                "/v1/admin/transfers",
                json={"postings": postings},
                headers={**headers, "Idempotency-Key": f"fund-{start}"},
            )
            r.raise_for_status()


def measure_http(url: str, label: str, seconds: int, connections: int = 64) -> HttpResult:
    """Start a server on a migrated database at ``url``, fund viewers, run wrk against it."""
    key = _admin_key(url)
    engine = make_engine(url, pool_size=1)
    try:
        create_users(engine)
    finally:
        engine.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(url, SECRET, Path(tmp), GIFTFLOW_PENDING_SWEEP_SECONDS="0").start()
        try:
            _fund(server.url, key)
            script = Path(tmp) / "gift.lua"
            script.write_text(WRK_SCRIPT % {"viewers": VIEWERS, "key": key})
            out = subprocess.run(
                ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), server.url],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        finally:
            server.stop()
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return HttpResult(label, rps, int(bad.group(1)) if bad else 0)
