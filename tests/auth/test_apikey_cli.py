"""API keys through the CLI: create prints the key once, list shows it, revoke stops it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from giftflow.auth.apikeys import find_api_key
from giftflow.cli import app
from giftflow.db import make_engine
from giftflow.settings import get_settings


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("GIFTFLOW_DATABASE_URL", database_url)
    get_settings.cache_clear()
    return CliRunner(env={"COLUMNS": "200"})


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
    bad = cli.invoke(app, ["apikey", "create", "--name", "x", "--scope", "root"])
    assert bad.exit_code == 2
    engine.dispose()
    get_settings.cache_clear()
