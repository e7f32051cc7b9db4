"""``giftflow simulate``: drive a live room through the real HTTP API with synthetic viewers.

It creates ``--viewers`` users (``sim-0001`` …), has each buy coins through the sandbox provider,
subscribes to the room's event stream (SSE), then sends gifts at ``--rate`` per second for
``--duration`` seconds (mostly Roses and Pandas, now and then Fireworks), each under its own
Idempotency-Key, with a progress bar. It ends with a summary: gifts sent, accepted, refused by
error code, coins and diamonds moved (from the responses), the gifts the stream delivered
(coalesced counts added up), request latency and commit → delivery percentiles, and a reconcile
of the ledger.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

GIFTS = [("rose", 70), ("panda", 25), ("fireworks", 5)]
PACK = 17500
CARD = "4242 4242 4242 4242"


@dataclass
class Stats:
    sent: int = 0
    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    coins: int = 0
    diamonds: int = 0
    latencies: list[float] = field(default_factory=list)
    delivered: int = 0  # gifts (counts) seen on the stream from our viewers
    deliveries: list[float] = field(default_factory=list)  # commit → delivery, seconds
    events: int = 0
    frames: int = 0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


async def _prepare(
    client: httpx.AsyncClient, platform_key: str, token: Callable[[str], str], viewers: list[str]
) -> None:
    run = secrets.token_hex(4)
    limit = asyncio.Semaphore(16)

    async def one(user_id: str) -> None:
        async with limit:
            r = await client.put(
                f"/v1/users/{user_id}",
                json={"region": "US", "birth_date": "1990-01-01", "display_name": user_id},
                headers={"Authorization": f"Bearer {platform_key}"},
            )
            r.raise_for_status()
            r = await client.post(
                "/v1/purchases",
                json={"pack": PACK, "channel": "web", "card": {"number": CARD}},
                headers={
                    "Authorization": f"Bearer {token(user_id)}",
                    "Idempotency-Key": f"sim-buy-{run}-{user_id}",
                },
            )
            if r.status_code != 201:
                raise RuntimeError(f"buying coins for {user_id}: {r.status_code} {r.text[:200]}")

    await asyncio.gather(*(one(v) for v in viewers))


async def _watch(
    base_url: str, live_id: str, ours: set[str], stats: Stats, ready: asyncio.Event
) -> None:
    """Read the room's SSE stream until cancelled."""
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=None) as client,
        client.stream(
            "GET", f"/v1/lives/{live_id}/events", headers={"Accept": "text/event-stream"}
        ) as response,
    ):
        response.raise_for_status()
        kind = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data = json.loads(line[5:])
                if kind == "welcome":
                    ready.set()
                elif kind == "events":
                    stats.frames += 1
                    now = time.time()
                    for event in data.get("events", []):
                        stats.events += 1
                        sender = (event.get("sender") or {}).get("id")
                        if event.get("type") == "gift" and sender in ours:
                            stats.delivered += int(event.get("count", 0))
                            at = datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
                            stats.deliveries.append(now - at.timestamp())


async def run(
    *,
    base_url: str,
    live_id: str,
    viewers: int,
    rate: float,
    duration: float,
    platform_key: str,
    token: Callable[[str], str],
    console: Console,
) -> Stats:
    stats = Stats()
    names = [f"sim-{n:04d}" for n in range(1, viewers + 1)]
    limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        live = await client.get(
            f"/v1/lives/{live_id}", headers={"Authorization": f"Bearer {platform_key}"}
        )
        if live.status_code != 200:
            raise RuntimeError(f"live {live_id}: {live.status_code} {live.text[:200]}")
        if live.json()["state"] != "active":
            raise RuntimeError(f"live {live_id} has ended; start one (POST /v1/lives)")
        console.print(f"preparing {viewers} viewers (each buys {PACK:,} coins in the sandbox)…")
        await _prepare(client, platform_key, token, names)
        tokens = {n: token(n) for n in names}
        ready = asyncio.Event()
        watcher = asyncio.create_task(_watch(base_url, live_id, set(names), stats, ready))
        await asyncio.wait_for(ready.wait(), timeout=10)
        total = max(1, int(rate * duration))
        run_id = secrets.token_hex(4)
        limit = asyncio.Semaphore(256)
        gifts, weights = zip(*GIFTS, strict=True)

        async def send(i: int, progress: Progress, task: Any) -> None:
            async with limit:
                viewer = random.choice(names)
                gift = random.choices(gifts, weights)[0]
                started = time.perf_counter()
                try:
                    r = await client.post(
                        f"/v1/lives/{live_id}/gifts",
                        json={"gift_id": gift, "count": 1},
                        headers={
                            "Authorization": f"Bearer {tokens[viewer]}",
                            "Idempotency-Key": f"sim-{run_id}-{i}",
                        },
                    )
                    stats.latencies.append(time.perf_counter() - started)
                    if r.status_code == 201:
                        body = r.json()
                        stats.accepted += 1
                        stats.coins += body["coins"]["amount"]
                        stats.diamonds += body["diamonds"]["amount"]
                    else:
                        stats.refused[
                            r.json().get("error", {}).get("code", str(r.status_code))
                        ] += 1
                except httpx.HTTPError as exc:
                    stats.refused[type(exc).__name__] += 1
                stats.sent += 1
                refused = sum(stats.refused.values())
                text = f"gifts: {stats.accepted:,} ok, {refused:,} refused"
                progress.update(task, advance=1, description=text)

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("gifts", total=total)
            t0 = time.perf_counter()
            pending = []
            for i in range(total):
                delay = t0 + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                pending.append(asyncio.create_task(send(i, progress, task)))
            await asyncio.gather(*pending)
        deadline = time.perf_counter() + 5
        while stats.delivered < stats.accepted and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    return stats
