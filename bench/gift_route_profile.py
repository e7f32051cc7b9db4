"""Where the event loop's time goes for ``POST /v1/lives/{id}/gifts``, in-process.

``python -m bench.gift_route_profile`` starts a throwaway PostgreSQL, builds the app (as ``giftflow
serve`` does, lifespan and writer included), seeds a creator, a live and viewers through the API,
then calls the ASGI app directly from 64 concurrent tasks — no HTTP server, no wrk, so what is
measured is the app's own share: CPU of the event loop's thread per request for ``GET /healthz``
and for the gift, the gift's writer thread excluded. ``BENCH_PROFILE=1`` adds a cProfile of the
event loop during the gifts; ``BENCH_ROUTE_FIRST=1`` moves the gift route's router to the front
of the app's routes first (what the route costs to find behind twenty routers: FastAPI matches
routes in order, router by router). ``BENCH_REQUESTS`` sets the number of gifts (default 6000).
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import threading
import time
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.types import Message
from tests.pgcluster import PostgresCluster

from bench.gift_bench import thread_cpu
from bench.gift_http_bench import SECRET, _keys
from giftflow.api import create_app
from giftflow.auth.tokens import mint_user_token
from giftflow.clock import SystemClock
from giftflow.db import migrate
from giftflow.live.gifting.routes import router as gifting_router
from giftflow.settings import Settings

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "6000"))
CONCURRENCY = 64
VIEWERS = 300
PROFILE = os.environ.get("BENCH_PROFILE", "") not in ("", "0")
ROUTE_FIRST = os.environ.get("BENCH_ROUTE_FIRST", "") not in ("", "0")


async def call(app: FastAPI, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
    """One request straight into the ASGI app; its status."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # never: a complete request does not read again
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def seed(app: FastAPI, admin: str, platform: str) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        as_platform = {"Authorization": f"Bearer {platform}"}
        person = {"region": "US", "birth_date": "1990-01-01"}
        r = await client.put(
            "/v1/users/c0", json={**person, "follower_count": 1000}, headers=as_platform
        )
        r.raise_for_status()
        for i in range(VIEWERS):
            (
                await client.put(f"/v1/users/v{i}", json=person, headers=as_platform)
            ).raise_for_status()
        for start in range(0, VIEWERS, 100):
            postings = [
                {
                    "source": "platform:equity:grants",
                    "destination": f"user:v{i}:coins",
                    "asset": "COIN",
                    "amount": 10_000_000,
                }
                for i in range(start, min(start + 100, VIEWERS))
            ]
            r = await client.post(
                "/v1/admin/transfers",
                json={"postings": postings},
                headers={"Authorization": f"Bearer {admin}", "Idempotency-Key": f"f{start}"},
            )
            r.raise_for_status()
        token = mint_user_token("c0", SECRET, SystemClock().now())
        r = await client.post(
            "/v1/lives", json={"title": "bench"}, headers={"Authorization": f"Bearer {token}"}
        )
        r.raise_for_status()
        return str(r.json()["id"])


async def drive(app: FastAPI, live: str, requests: int) -> tuple[float, dict[int, int], str]:
    """Gifts from ``CONCURRENCY`` tasks; (event-loop CPU µs per gift, statuses, profile)."""
    now = SystemClock().now()
    tokens = [mint_user_token(f"v{i}", SECRET, now) for i in range(VIEWERS)]
    body = b'{"gift_id":"rose","count":1}'
    path = f"/v1/lives/{live}/gifts"
    statuses: dict[int, int] = {}

    async def sender(n: int, count: int) -> None:
        for j in range(count):
            headers = {
                "Authorization": f"Bearer {tokens[(n * 7 + j) % VIEWERS]}",
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
            }
            status = await call(app, "POST", path, headers, body)
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(sender(n, 20) for n in range(CONCURRENCY)))  # warm: caches, plans
    statuses.clear()
    profiler = cProfile.Profile() if PROFILE else None
    loop_thread = threading.get_native_id()
    started = thread_cpu(loop_thread)
    if profiler is not None:
        profiler.enable()
    await asyncio.gather(*(sender(n, requests // CONCURRENCY) for n in range(CONCURRENCY)))
    if profiler is not None:
        profiler.disable()
    used = thread_cpu(loop_thread) - started
    report = ""
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(30)
        report = out.getvalue()
    done = sum(statuses.values())
    return used * 1e6 / done, statuses, report


async def healthz(app: FastAPI, requests: int) -> float:
    async def one(count: int) -> None:
        for _ in range(count):
            await call(app, "GET", "/healthz", {}, b"")

    loop_thread = threading.get_native_id()
    started = thread_cpu(loop_thread)
    await asyncio.gather(*(one(requests // CONCURRENCY) for _ in range(CONCURRENCY)))
    return (thread_cpu(loop_thread) - started) * 1e6 / (requests // CONCURRENCY * CONCURRENCY)


def route_first(app: FastAPI) -> None:
    routes = app.router.routes
    at = next(
        i for i, r in enumerate(routes) if getattr(r, "original_router", None) is gifting_router
    )
    routes.insert(0, routes.pop(at))


async def main(url: str) -> None:
    admin, platform = _keys(url)
    settings = Settings(database_url=url, jwt_secret=SECRET, pending_sweep_seconds=0)
    app = create_app(settings)
    if ROUTE_FIRST:
        route_first(app)
    async with app.router.lifespan_context(app):
        live = await seed(app, admin, platform)
        per_healthz = await healthz(app, REQUESTS)
        wall = time.perf_counter()
        per_gift, statuses, report = await drive(app, live, REQUESTS)
        wall = time.perf_counter() - wall
    where = "first" if ROUTE_FIRST else "as mounted"
    print(f"GET /healthz: event loop {per_healthz:,.0f} µs per request (in-process, no server)")
    print(
        f"POST /v1/lives/{{id}}/gifts (route {where}): event loop {per_gift:,.0f} µs per gift,"
        f" {sum(statuses.values()) / wall:,.0f} gifts/s, statuses {statuses}"
    )
    if report:
        print(report)


if __name__ == "__main__":
    with PostgresCluster(fast=True) as pg:
        database = pg.create_database("route_profile")
        migrate(database)
        asyncio.run(main(database))
