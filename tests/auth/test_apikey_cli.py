"""API keys through the CLI: create prints the key once, list shows it, revoke stops it; a scope
is required and names are unique (revoked keys' names included), in the CLI and the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from giftflow.auth.apikeys import create_api_key, find_api_key, list_api_keys
from giftflow.cli import app
from giftflow.db import make_engine, unit_of_work
from giftflow.errors import ValidationFailed
from giftflow.schema import api_keys
from giftflow.settings import get_settings

NOW = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("GIFTFLOW_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner(env={"COLUMNS": "200"})
    get_settings.cache_clear()


def names_in(database_url: str) -> list[str]:
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            return [name for _, name, _, _, _ in list_api_keys(conn)]
    finally:
        engine.dispose()


def test_create_list_revoke(cli: CliRunner, database_url: str) -> None:
    created = cli.invoke(app, ["apikey", "create", "--name", "ops", "--scope", "admin"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("gfk_") and len(key) > 40
    engine = make_engine(database_url, pool_size=1)
    with engine.connect() as conn:
        record = find_api_key(conn, key)
    assert record is not None and record.scopes == frozenset({"admin"})
    listed = cli.invoke(app, ["apikey", "list"])
    assert record.prefix in listed.output and "ops" in listed.output
    assert cli.invoke(app, ["apikey", "revoke", record.prefix]).exit_code == 0
    with engine.connect() as conn:
        assert find_api_key(conn, key) is None
    assert cli.invoke(app, ["apikey", "revoke", record.prefix]).exit_code == 1
    engine.dispose()


def test_create_without_scope_is_an_error_listing_the_scopes(
    cli: CliRunner, database_url: str
) -> None:
    result = cli.invoke(app, ["apikey", "create", "--name", "ops"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--scope is required" in lines[0]
    assert "admin" in lines[0] and "platform" in lines[0]
    assert names_in(database_url) == []  # no key was made (formerly: a silent platform key)


def test_create_with_an_unknown_scope_is_an_error(cli: CliRunner, database_url: str) -> None:
    result = cli.invoke(app, ["apikey", "create", "--name", "x", "--scope", "root"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "root" in lines[0] and "admin, platform" in lines[0]
    assert names_in(database_url) == []


def test_both_scopes(cli: CliRunner, database_url: str) -> None:
    result = cli.invoke(
        app, ["apikey", "create", "--name", "svc", "--scope", "admin", "--scope", "platform"]
    )
    assert result.exit_code == 0, result.output
    engine = make_engine(database_url, pool_size=1)
    with engine.connect() as conn:
        record = find_api_key(conn, result.stdout.strip().splitlines()[-1])
    engine.dispose()
    assert record is not None and record.scopes == frozenset({"admin", "platform"})


def test_a_name_is_refused_a_second_time_even_after_revocation(
    cli: CliRunner, database_url: str
) -> None:
    first = cli.invoke(app, ["apikey", "create", "--name", "ops", "--scope", "admin"])
    assert first.exit_code == 0, first.output
    again = cli.invoke(app, ["apikey", "create", "--name", "ops", "--scope", "platform"])
    assert again.exit_code == 2 and again.stdout == ""
    lines = again.stderr.strip().splitlines()
    assert len(lines) == 1 and "'ops' already exists" in lines[0]
    assert "Traceback" not in again.output
    assert names_in(database_url) == ["ops"]

    engine = make_engine(database_url, pool_size=1)
    with engine.connect() as conn:
        record = find_api_key(conn, first.stdout.strip().splitlines()[-1])
    engine.dispose()
    assert record is not None
    assert cli.invoke(app, ["apikey", "revoke", record.prefix]).exit_code == 0
    reused = cli.invoke(app, ["apikey", "create", "--name", "ops", "--scope", "admin"])
    assert reused.exit_code == 2 and "already exists" in reused.stderr
    other = cli.invoke(app, ["apikey", "create", "--name", "ops-2", "--scope", "admin"])
    assert other.exit_code == 0, other.output
    assert sorted(names_in(database_url)) == ["ops", "ops-2"]


def test_create_api_key_refuses_a_taken_name(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            create_api_key(conn, "app", {"platform"}, NOW)
        with (
            pytest.raises(ValidationFailed, match="'app' already exists"),
            unit_of_work(engine) as conn,
        ):
            create_api_key(conn, "app", {"admin"}, NOW)
        with (
            pytest.raises(ValidationFailed, match="1 to 100 characters"),
            unit_of_work(engine) as conn,
        ):
            create_api_key(conn, "x" * 101, {"admin"}, NOW)
    finally:
        engine.dispose()


def test_the_database_refuses_a_duplicate_name(database_url: str) -> None:
    """The unique constraint holds even for a writer that skips ``create_api_key``'s check."""
    row = {"prefix": "gfk_x", "name": "dup", "scopes": "admin", "created_at": NOW}
    engine = make_engine(database_url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            conn.execute(api_keys.insert().values(digest="a" * 64, **row))
        with pytest.raises(IntegrityError), unit_of_work(engine) as conn:
            conn.execute(api_keys.insert().values(digest="b" * 64, **row))
    finally:
        engine.dispose()
