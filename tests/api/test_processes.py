"""Real server processes: concurrent debits, two writers on one PostgreSQL, SIGKILL recovery.

These start ``giftflow serve`` as child processes and talk HTTP to them, so the checks cover
what a deployment does: one process's batches, two processes' row locks, and the disk.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from giftflow.clock import SystemClock
from giftflow.db import make_engine
from giftflow.ledger import read_repository as reads
from giftflow.ledger.reconcile_repository import reconcile
from tests.conftest import make_users

from .conftest import SECRET, make_keys
from .server import ServerProcess

GRANTS = "platform:equity:grants"
SPENT = ["platform:revenue:gifts", "platform:revenue:items"]
# narrow the two-database fixture to one kind for what only that kind can do
POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def body(src: str, dst: str, amount: int) -> dict[str, object]:
    return {"postings": [{"source": src, "destination": dst, "asset": "COIN", "amount": amount}]}


@pytest.fixture
def admin_key(database_url: str) -> str:
    admin, _ = make_keys(database_url, SystemClock())  # type: ignore[arg-type]
    return admin


# the users these tests move value for (the platform creates users before value moves)
CAST = ["one", "dup", *(f"m{n}" for n in range(6)), *(f"crash{n}" for n in range(20))]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    e = make_engine(database_url, pool_size=1)
    make_users(e, *CAST)
    yield e
    e.dispose()


def start_servers(database_url: str, tmp_path: Path, count: int) -> list[ServerProcess]:
    return [ServerProcess(database_url, SECRET, tmp_path).start() for _ in range(count)]


def coin_balance(engine: Engine, path: str) -> int:
    with engine.connect() as conn:
        return sum(total for _, asset, total in reads.balances(conn, path=path) if asset == "COIN")


def assert_reconciles(engine: Engine) -> None:
    assert reconcile(engine).differences == []


async def fire(
    urls: list[str], key: str, requests: list[tuple[str, dict[str, object]]]
) -> list[httpx.Response]:
    """Send every request at once, spread round-robin over the servers."""
    async with httpx.AsyncClient(timeout=60) as client:
        return await asyncio.gather(
            *(
                client.post(
                    urls[n % len(urls)] + "/v1/admin/transfers",
                    json=payload,
                    headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idem},
                )
                for n, (idem, payload) in enumerate(requests)
            )
        )


def run_debit_race(
    database_url: str, tmp_path: Path, admin_key: str, engine: Engine, processes: int
) -> None:
    servers = start_servers(database_url, tmp_path, processes)
    try:
        urls = [s.url for s in servers]
        granted = asyncio.run(fire(urls, admin_key, [("g", body(GRANTS, "user:one:coins", 10))]))
        assert granted[0].status_code == 201
        debits = [(f"d{n}", body("user:one:coins", SPENT[n % 2], 10)) for n in range(50)]
        responses = asyncio.run(fire(urls, admin_key, debits))
    finally:
        for s in servers:
            s.stop()
    codes = [r.status_code for r in responses]
    assert codes.count(201) == 1, codes
    assert [r.json()["error"]["code"] for r in responses if r.status_code != 201] == [
        "insufficient_funds"
    ] * 49
    assert coin_balance(engine, "user:one:coins") == 0
    assert_reconciles(engine)


def test_fifty_concurrent_debits_exactly_one_succeeds(
    database_url: str, tmp_path: Path, admin_key: str, engine: Engine
) -> None:
    run_debit_race(database_url, tmp_path, admin_key, engine, processes=1)


@POSTGRES_ONLY  # SQLite allows one server process (see the next test)
def test_fifty_concurrent_debits_across_two_processes(
    database_url: str, tmp_path: Path, admin_key: str, engine: Engine
) -> None:
    run_debit_race(database_url, tmp_path, admin_key, engine, processes=2)


@SQLITE_ONLY
def test_sqlite_refuses_a_second_server_process(
    database_url: str, tmp_path: Path, admin_key: str
) -> None:
    first = ServerProcess(database_url, SECRET, tmp_path).start()
    try:
        with pytest.raises(RuntimeError, match="SQLite allows one server process"):
            ServerProcess(database_url, SECRET, tmp_path).start(timeout=15)
    finally:
        first.stop()


@POSTGRES_ONLY
def test_same_key_sent_to_two_processes_has_one_effect(
    database_url: str, tmp_path: Path, admin_key: str, engine: Engine
) -> None:
    servers = start_servers(database_url, tmp_path, 2)
    try:
        urls = [s.url for s in servers]
        for round_ in range(10):
            payload = body(GRANTS, "user:dup:coins", 1)
            responses = asyncio.run(fire(urls, admin_key, [(f"same-{round_}", payload)] * 6))
            assert {r.status_code for r in responses} <= {201, 409}
            ok = [r for r in responses if r.status_code == 201]
            assert ok and all(r.json()["id"] == ok[0].json()["id"] for r in ok)
            for r in responses:
                if r.status_code == 409:
                    assert r.json()["error"]["code"] == "idempotency_key_in_flight"
                    assert r.headers["Retry-After"] == "1"
    finally:
        for s in servers:
            s.stop()
    assert coin_balance(engine, "user:dup:coins") == 10
    assert_reconciles(engine)


@POSTGRES_ONLY
def test_two_processes_random_transfers_reconcile(
    database_url: str, tmp_path: Path, admin_key: str, engine: Engine
) -> None:
    """Users spend into sharded revenue accounts and get refunds out of them, through two
    writers with two shards: a refund draws on whichever shards hold the revenue."""
    users = [f"user:m{n}:coins" for n in range(6)]
    accounts = [*users, *SPENT]
    servers = start_servers(database_url, tmp_path, 2)
    try:
        urls = [s.url for s in servers]
        grants = [(f"g{n}", body(GRANTS, a, 100)) for n, a in enumerate(users)]
        assert {r.status_code for r in asyncio.run(fire(urls, admin_key, grants))} == {201}
        rng = random.Random(7)
        moves = []
        for n in range(300):
            user, platform = rng.choice(users), rng.choice(SPENT)
            src, dst = (user, platform) if rng.random() < 0.6 else (platform, user)
            moves.append((f"m{n}", body(src, dst, rng.randint(1, 40))))
        responses = asyncio.run(fire(urls, admin_key, moves))
    finally:
        for s in servers:
            s.stop()
    assert {r.status_code for r in responses} <= {201, 409}
    assert sum(coin_balance(engine, a) for a in accounts) == 600
    assert all(coin_balance(engine, a) >= 0 for a in accounts)
    assert_reconciles(engine)


def test_sigkill_loses_nothing_acknowledged(
    database_url: str, tmp_path: Path, admin_key: str, engine: Engine
) -> None:
    """Kill a server mid-load; every acknowledged write survives; retries apply nothing twice."""
    server = ServerProcess(database_url, SECRET, tmp_path).start()
    acknowledged: dict[str, dict[str, object]] = {}
    attempted = [(f"k{n}", body(GRANTS, f"user:crash{n % 20}:coins", n + 1)) for n in range(400)]

    async def load() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            sem = asyncio.Semaphore(32)

            async def one(idem: str, payload: dict[str, object]) -> None:
                async with sem:
                    try:
                        r = await client.post(
                            server.url + "/v1/admin/transfers",
                            json=payload,
                            headers={
                                "Authorization": f"Bearer {admin_key}",
                                "Idempotency-Key": idem,
                            },
                        )
                    except httpx.HTTPError:
                        return
                    if r.status_code == 201:
                        acknowledged[idem] = r.json()
                    if len(acknowledged) == 150:
                        server.kill()

            await asyncio.gather(*(one(i, p) for i, p in attempted))

    asyncio.run(load())
    assert server.proc is not None and server.proc.poll() is not None, "server was not killed"
    assert 150 <= len(acknowledged) < len(attempted)
    restarted = ServerProcess(database_url, SECRET, tmp_path).start()
    try:
        retried = asyncio.run(fire([restarted.url], admin_key, attempted))
    finally:
        restarted.stop()
    for (idem, _), r in zip(attempted, retried, strict=True):
        assert r.status_code == 201
        if idem in acknowledged:
            assert r.json() == acknowledged[idem], "an acknowledged write changed or vanished"
    expected = {f"user:crash{n}:coins": 0 for n in range(20)}
    for n in range(400):
        expected[f"user:crash{n % 20}:coins"] += n + 1
    for path, amount in expected.items():
        assert coin_balance(engine, path) == amount, path
    assert_reconciles(engine)
