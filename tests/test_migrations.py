"""Migrations and schema.py describe the same database, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from giftflow.db import make_engine, migration_status
from giftflow.schema import metadata


def test_migrated_database_matches_the_schema(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()
    current, head = migration_status(database_url)
    assert current == head == "0011"
