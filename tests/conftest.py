"""Shared fixtures: one parametrised database fixture, so every test runs on SQLite and on a
real PostgreSQL server started for the session; Hypothesis profiles bounded for CI."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine

from giftflow.clock import FrozenClock
from giftflow.db import migrate, unit_of_work
from giftflow.users.repository import upsert_user

from .pgcluster import PostgresCluster, find_pg_bin

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# Timed engagement work (leaderboard snapshots, battle scores and deadlines, renewals) appends
# room events when the background loop happens to run; tests run it themselves
# (giftflow.live.engagement.run_ticks) so that event sequences are deterministic.
os.environ.setdefault("GIFTFLOW_ENGAGEMENT_TICK_MS", "0")

_db_numbers = itertools.count()


def _pg_required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("GIFTFLOW_REQUIRE_PG"))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    try:
        find_pg_bin()
    except RuntimeError as exc:
        if _pg_required():
            raise
        pytest.skip(str(exc))
    with PostgresCluster(fast=True) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "giftflow.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template(pg_cluster: PostgresCluster) -> str:
    pg_cluster.create_database("gf_template")
    migrate(pg_cluster.url("gf_template"))
    return "gf_template"


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "giftflow.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_url(pg_cluster: PostgresCluster, pg_template: str) -> str:
    return pg_cluster.create_database(f"gf_t{next(_db_numbers)}", template=pg_template)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated database of each kind: the same test proves both."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


def make_users(engine: Engine, *user_ids: str) -> None:
    """Create users as the platform would (value requests refuse users it never created)."""
    now = FrozenClock().now()
    with unit_of_work(engine) as conn:
        for user_id in user_ids:
            upsert_user(conn, user_id, {}, now)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in the main thread
    for the rest of the session, after which ``asyncio.run`` cannot be called."""
    items.sort(key=lambda item: "tests/web/" in item.nodeid.replace("\\", "/"))
