"""Commands that read or write data never create a database: outside the project directory, or
on a database that is not migrated or not reachable, they print one line and exit 2."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from giftflow.cli import app
from giftflow.db import migrate
from tests.pgcluster import PostgresCluster, free_port

from .conftest import run_giftflow

DATA_COMMANDS = [
    ["reconcile"],
    ["apikey", "list"],
    ["apikey", "create", "--name", "ops", "--scope", "admin"],
    ["apikey", "revoke", "gfk_abcdefgh"],
    ["policy", "list"],
    ["policy", "load", "standard"],
]


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def not_migrated(path: Path) -> str:
    return f"database not migrated: run giftflow migrate (database: {path.resolve()})"


@pytest.mark.parametrize("args", DATA_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_data_commands_create_no_database_outside_the_project(
    args: list[str], workdir: Path, runner: CliRunner
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert one_line(result.stderr) == not_migrated(workdir / "giftflow.db")
    assert list(workdir.iterdir()) == []


def test_console_script_in_a_temporary_directory(tmp_path: Path) -> None:
    for args in (["reconcile"], ["apikey", "list"], ["policy", "list"]):
        done = run_giftflow(args, tmp_path)
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""
        assert one_line(done.stderr) == not_migrated(tmp_path / "giftflow.db")
        assert list(tmp_path.iterdir()) == []


def test_python_dash_m_in_a_temporary_directory(tmp_path: Path) -> None:
    done = run_giftflow(
        ["apikey", "create", "--name", "ops", "--scope", "admin"], tmp_path, module=True
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert one_line(done.stderr) == not_migrated(tmp_path / "giftflow.db")
    assert list(tmp_path.iterdir()) == []


def test_an_explicit_sqlite_path_that_does_not_exist(
    workdir: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = workdir / "data" / "gf.db"
    monkeypatch.setenv("GIFTFLOW_DATABASE_URL", f"sqlite:///{target}")
    result = runner.invoke(app, ["reconcile"])
    assert result.exit_code == 2
    assert one_line(result.stderr) == not_migrated(target)
    assert not target.exists() and list(workdir.iterdir()) == []


def test_a_sqlite_file_without_tables(workdir: Path, runner: CliRunner) -> None:
    sqlite3.connect(workdir / "giftflow.db").close()  # an empty database file
    result = runner.invoke(app, ["apikey", "list"])
    assert result.exit_code == 2
    assert one_line(result.stderr) == not_migrated(workdir / "giftflow.db")


def test_a_database_behind_head_names_its_revision(workdir: Path, runner: CliRunner) -> None:
    migrate("sqlite:///giftflow.db", "0002")
    result = runner.invoke(app, ["apikey", "list"])
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert line.startswith("database not migrated: at revision 0002, head is ")
    assert line.endswith(f"run giftflow migrate (database: {workdir / 'giftflow.db'})")


def test_a_database_ahead_of_the_code(workdir: Path, runner: CliRunner) -> None:
    with sqlite3.connect(workdir / "giftflow.db") as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('9999')")
    result = runner.invoke(app, ["reconcile"])
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert "revision 9999, unknown to this giftflow" in line and "upgrade giftflow" in line


def test_a_file_that_is_not_a_database(workdir: Path, runner: CliRunner) -> None:
    (workdir / "giftflow.db").write_bytes(b"this is not a SQLite database, just text" * 100)
    result = runner.invoke(app, ["reconcile"])
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert line.startswith("cannot connect to the database: ")
    assert line.endswith(f"(database: {workdir / 'giftflow.db'})")


def test_migrate_still_creates_the_database_and_then_commands_work(
    workdir: Path, runner: CliRunner
) -> None:
    migrated = runner.invoke(app, ["migrate"])
    assert migrated.exit_code == 0, migrated.output
    assert (workdir / "giftflow.db").is_file()
    listed = runner.invoke(app, ["apikey", "list"])
    assert listed.exit_code == 0, listed.output
    assert runner.invoke(app, ["reconcile"]).exit_code == 0


@pytest.mark.parametrize("command", ["reconcile", "migrate"])
def test_an_unreachable_postgresql_is_one_line(
    command: str, workdir: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()  # nothing listens there
    monkeypatch.setenv(
        "GIFTFLOW_DATABASE_URL", f"postgresql://gf:s3cret-pw@127.0.0.1:{port}/giftflow"
    )
    result = runner.invoke(app, [command])
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert line.startswith("cannot connect to the database: ")
    assert f"(database: postgresql://gf:***@127.0.0.1:{port}/giftflow)" in line
    assert "s3cret-pw" not in result.output
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize(
    "url",
    ["bogus://x", "postgresql+nodriver://u:pw@h/db", "not a url", "mysql://u@h/db"],
)
@pytest.mark.parametrize("args", [["reconcile"], ["migrate"], ["demo"], ["serve"]], ids=str)
def test_a_database_url_no_engine_can_be_made_of_is_one_line(
    url: str,
    args: list[str],
    workdir: Path,
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unknown dialect or driver used to end in a NoSuchModuleError traceback."""
    monkeypatch.setenv("GIFTFLOW_DATABASE_URL", url)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert line.startswith("GIFTFLOW_DATABASE_URL "), line
    assert "not a usable database URL" in line or "needs a driver" in line, line
    assert list(workdir.iterdir()) == []


def test_a_postgresql_database_without_tables(
    workdir: Path,
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    pg_cluster: PostgresCluster,
) -> None:
    url = pg_cluster.create_database("gf_cli_empty")
    monkeypatch.setenv("GIFTFLOW_DATABASE_URL", url)
    result = runner.invoke(app, ["apikey", "create", "--name", "ops", "--scope", "admin"])
    assert result.exit_code == 2
    assert one_line(result.stderr) == (
        f"database not migrated: run giftflow migrate (database: {url})"
    )


def test_commands_work_on_a_migrated_database(
    workdir: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("GIFTFLOW_DATABASE_URL", database_url)
    for args in (["apikey", "list"], ["policy", "list"], ["reconcile"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    assert list(workdir.iterdir()) == []
