"""Migration 0003: duplicate API key names from before it are renamed, then names are unique."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from giftflow.db import alembic_config, make_engine, migrate, migration_status, unit_of_work
from giftflow.schema import api_keys
from tests.pgcluster import PostgresCluster

NOW = datetime(2024, 6, 1, tzinfo=UTC)
_numbers = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind, not migrated at all."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'blank.db'}"
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"gf_blank{next(_numbers)}")


def insert_keys(url: str, names: list[str]) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            for i, name in enumerate(names):
                conn.execute(
                    api_keys.insert().values(
                        prefix=f"gfk_{i}",
                        digest=f"{i:064d}",
                        name=name,
                        scopes="admin",
                        created_at=NOW,
                    )
                )
    finally:
        engine.dispose()


def names_by_id(url: str) -> list[str]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(api_keys.c.name).order_by(api_keys.c.id))
            return [name for (name,) in rows]
    finally:
        engine.dispose()


def test_upgrade_renames_duplicates_then_refuses_them(blank_url: str) -> None:
    migrate(blank_url, "0002")
    long = "L" * 100
    insert_keys(blank_url, ["ops", "app", "ops", "ops #3", "ops", long, long])
    migrate(blank_url, "0003")
    assert migration_status(blank_url)[0] == "0003"
    names = names_by_id(blank_url)
    # the oldest key keeps its name; later ones get " #<id>", never taking an existing name
    assert names[:5] == ["ops", "app", "ops #3.1", "ops #3", "ops #5"]
    assert len(set(names)) == len(names) == 7
    assert all(len(n) <= 100 for n in names)
    assert names[5] == long and names[6].endswith(" #7")
    with pytest.raises(IntegrityError):
        insert_keys(blank_url, ["app"])


def test_downgrade_drops_the_constraint(blank_url: str) -> None:
    migrate(blank_url, "head")
    command.downgrade(alembic_config(blank_url), "0002")
    assert migration_status(blank_url)[0] == "0002"
    insert_keys(blank_url, ["same", "same"])
    assert names_by_id(blank_url) == ["same", "same"]
    migrate(blank_url, "head")
    assert names_by_id(blank_url) == ["same", "same #2"]
