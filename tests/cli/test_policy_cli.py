"""``giftflow policy check`` takes a file or a shipped profile name; a path that exists wins."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from giftflow.cli import app
from giftflow.money.policy import PROFILES_DIR, list_profiles


@pytest.mark.parametrize("name", list_profiles())
def test_every_shipped_profile_checks_by_name(name: str, workdir: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["policy", "check", name])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"✓ profile {name} is a valid economy policy"


def test_a_profile_file_by_path(workdir: Path, runner: CliRunner) -> None:
    path = PROFILES_DIR / "standard.toml"
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path} is a valid economy policy" in result.stdout


def test_an_existing_path_wins_over_a_profile_name(workdir: Path, runner: CliRunner) -> None:
    (workdir / "standard").write_text("this is = [not valid toml\n")
    result = runner.invoke(app, ["policy", "check", "standard"])
    assert result.exit_code == 1
    assert "not valid TOML" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "standard: 1 problem(s)"


def test_neither_a_file_nor_a_profile(workdir: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["policy", "check", "nonesuch"])
    assert result.exit_code == 1
    assert "no such file or shipped profile nonesuch" in result.stderr
    assert "standard" in result.stderr  # the shipped profiles are listed


def test_a_directory_is_a_problem_not_a_traceback(workdir: Path, runner: CliRunner) -> None:
    (workdir / "policies").mkdir()
    result = runner.invoke(app, ["policy", "check", "policies"])
    assert result.exit_code == 1
    assert "is not a file" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
