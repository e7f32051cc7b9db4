"""Two ``giftflow`` server processes on one PostgreSQL share a room through Redis: gifts sent to
either process land in one gap-free sequence, and a subscriber on each process sees exactly the
same events in the same order (issue 8, "Several processes")."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx

from giftflow.auth.tokens import mint_user_token
from giftflow.clock import FrozenClock, SystemClock
from giftflow.db import make_engine
from giftflow.ledger.reconcile_repository import reconcile
from tests.api.conftest import SECRET, make_keys
from tests.realtime.conftest import RedisServer, redis_server  # noqa: F401  (fixture)

VIEWERS = 20
GIFTS_PER_PROCESS = 40
PRICE = 999  # Fireworks: not streakable, so every gift is its own event


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def server(database_url: str, redis_url: str, shard: int) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "GIFTFLOW_DATABASE_URL": database_url,
        "GIFTFLOW_REDIS_URL": redis_url,
        "GIFTFLOW_JWT_SECRET": SECRET,
        "GIFTFLOW_POLICY_PROFILE": "seed-002",
        "GIFTFLOW_WRITER_SHARD": str(shard),
        "GIFTFLOW_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "uvicorn", "giftflow.api:create_app", "--factory"]
    command += ["--port", str(port), "--log-level", "warning", "--timeout-graceful-shutdown", "1"]
    proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("giftflow serve did not start")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Subscriber(threading.Thread):
    """Reads a room's SSE stream; records every event's (seq, type) in arrival order."""

    def __init__(self, base: str, live_id: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{base}/v1/lives/{live_id}/events"
        self.events: list[tuple[int, str]] = []
        self.frame_seqs: list[int] = []
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            self._read()
        except httpx.HTTPError:
            if not self.stop.is_set():  # the server going away at the end is expected
                raise

    def _read(self) -> None:
        headers = {"Accept": "text/event-stream"}
        with (
            httpx.Client(timeout=None) as client,
            client.stream("GET", self.url, headers=headers) as response,
        ):
            kind = ""
            for line in response.iter_lines():
                if self.stop.is_set():
                    return
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data: dict[str, Any] = json.loads(line[5:])
                    if kind == "welcome":
                        self.ready.set()
                    elif kind == "events":
                        self.frame_seqs.append(int(data["seq"]))
                        self.events += [(int(e["seq"]), e["type"]) for e in data["events"]]

    def seen_up_to(self) -> int:
        return self.frame_seqs[-1] if self.frame_seqs else 0


def test_two_processes_share_a_room_through_redis(
    postgres_url: str,
    redis_server: RedisServer,  # noqa: F811
) -> None:
    admin, platform = make_keys(postgres_url, FrozenClock())
    auth = {"Authorization": f"Bearer {platform}"}
    with (
        server(postgres_url, redis_server.url, shard=1) as a,
        server(postgres_url, redis_server.url, shard=2) as b,
        httpx.Client(timeout=30) as http,
    ):

        def token(user_id: str) -> dict[str, str]:
            minted = mint_user_token(user_id, SECRET, SystemClock().now(), 900)
            return {"Authorization": f"Bearer {minted}"}

        facts = {"region": "US", "birth_date": "1990-01-01"}
        r = http.put(f"{a}/v1/users/c1", json={**facts, "follower_count": 5000}, headers=auth)
        assert r.status_code == 201, r.text
        viewers = [f"v{n:02d}" for n in range(VIEWERS)]
        for v in viewers:
            assert http.put(f"{a}/v1/users/{v}", json=facts, headers=auth).status_code == 201
            grant = {
                "postings": [
                    {
                        "source": "platform:equity:grants",
                        "destination": f"user:{v}:coins",
                        "asset": "COIN",
                        "amount": PRICE * GIFTS_PER_PROCESS,
                    }
                ]
            }
            headers = {"Authorization": f"Bearer {admin}", "Idempotency-Key": f"g-{v}"}
            r = http.post(f"{a}/v1/admin/transfers", json=grant, headers=headers)
            assert r.status_code == 201, r.text
        r = http.post(f"{a}/v1/lives", json={"title": "two"}, headers=token("c1"))
        assert r.status_code == 201, r.text
        live_id = r.json()["id"]

        subscribers = [Subscriber(a, live_id), Subscriber(b, live_id)]
        for s in subscribers:
            s.start()
            assert s.ready.wait(10), "no welcome"

        def send(n: int) -> int:
            base = a if n % 2 == 0 else b
            viewer = viewers[n % VIEWERS]
            headers = token(viewer) | {"Idempotency-Key": f"gift-{n}"}
            response = httpx.post(
                f"{base}/v1/lives/{live_id}/gifts",
                json={"gift_id": "fireworks"},
                headers=headers,
                timeout=30,
            )
            assert response.status_code == 201, response.text
            return int(response.json()["seq"])

        with ThreadPoolExecutor(16) as pool:
            seqs = sorted(pool.map(send, range(2 * GIFTS_PER_PROCESS)))
        # one gap-free sequence, whichever process committed each gift
        assert seqs == list(range(2, 2 + 2 * GIFTS_PER_PROCESS))
        last = seqs[-1]
        deadline = time.monotonic() + 15
        while any(s.seen_up_to() < last for s in subscribers) and time.monotonic() < deadline:
            time.sleep(0.05)
        for s in subscribers:
            s.stop.set()
        expected = [(seq, "gift") for seq in range(2, last + 1)]
        assert subscribers[0].events == expected
        assert subscribers[1].events == expected

        live = http.get(f"{a}/v1/lives/{live_id}", headers=auth).json()
        assert live["gifts_count"] == 2 * GIFTS_PER_PROCESS
        assert live["last_seq"] == last
        diamonds = http.get(
            f"{b}/v1/admin/balances",
            params={"path": "creator:c1:diamonds"},
            headers={"Authorization": f"Bearer {admin}"},
        ).json()["balances"]
        total = sum(x["amount"] for x in diamonds if x["asset"] == "DIAMOND")
        assert total == 2 * GIFTS_PER_PROCESS * PRICE * 50  # 50 % of 999 coins, in hundredths
    engine = make_engine(postgres_url, pool_size=1)
    try:
        assert reconcile(engine).differences == []
    finally:
        engine.dispose()
