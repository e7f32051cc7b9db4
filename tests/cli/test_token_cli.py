"""``giftflow token``: bounded by the same maximum lifetime the server accepts; a bad user id or
lifetime is one line and exit code 2, never a traceback or a token."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

from giftflow.auth.tokens import ALGORITHM, verify_user_token
from giftflow.cli import app

from .conftest import run_giftflow

SECRET = "cli-test-secret-0123456789abcdef0123"


@pytest.fixture
def with_secret(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIFTFLOW_JWT_SECRET", SECRET)
    return workdir


def lifetime(token: str) -> int:
    claims = jwt.decode(token, SECRET, algorithms=[ALGORITHM], options={"verify_exp": False})
    return int(claims["exp"]) - int(claims["iat"])


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_token_verifies_and_lives_the_default_lifetime(
    with_secret: Path, runner: CliRunner
) -> None:
    result = runner.invoke(app, ["token", "u-1.x_Y"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    now = datetime.now(UTC)
    assert verify_user_token(token, SECRET, now, max_ttl_seconds=900) == "u-1.x_Y"
    assert lifetime(token) == 900
    assert list(with_secret.iterdir()) == []  # no database is touched


@pytest.mark.parametrize("ttl", ["901", "86400", "0", "-1"])
def test_ttl_outside_1_to_the_maximum_is_refused(
    ttl: str, with_secret: Path, runner: CliRunner
) -> None:
    result = runner.invoke(app, ["token", "u1", "--ttl", ttl])
    assert result.exit_code == 2
    assert result.stdout == ""
    line = one_line(result.stderr)
    assert line == (
        f"--ttl must be between 1 and 900 seconds, not {ttl} "
        "(the maximum is GIFTFLOW_JWT_MAX_TTL_SECONDS)"
    )


@pytest.mark.parametrize("user_id", ["a b", "user:1:coins", "x" * 65, "../admin"])
def test_an_invalid_user_id_is_refused(user_id: str, with_secret: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["token", user_id])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert one_line(result.stderr).startswith(f"invalid user id {user_id!r}")


def test_the_maximum_and_default_come_from_the_settings(
    with_secret: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from giftflow.settings import get_settings

    monkeypatch.setenv("GIFTFLOW_JWT_TTL_SECONDS", "600")
    get_settings.cache_clear()
    result = runner.invoke(app, ["token", "u1"])
    assert result.exit_code == 0 and lifetime(result.stdout.strip()) == 600

    monkeypatch.setenv("GIFTFLOW_JWT_MAX_TTL_SECONDS", "3600")
    get_settings.cache_clear()
    result = runner.invoke(app, ["token", "u1", "--ttl", "3600"])
    assert result.exit_code == 0 and lifetime(result.stdout.strip()) == 3600

    monkeypatch.setenv("GIFTFLOW_JWT_MAX_TTL_SECONDS", "300")
    get_settings.cache_clear()
    result = runner.invoke(app, ["token", "u1"])  # the default 600 is now over the maximum
    assert result.exit_code == 2
    assert "GIFTFLOW_JWT_TTL_SECONDS is 600, outside 1..300" in one_line(result.stderr)


def test_no_secret_is_one_line(workdir: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["token", "u1"])
    assert result.exit_code == 2
    assert one_line(result.stderr) == "GIFTFLOW_JWT_SECRET is not set."


def test_console_script_refuses_a_day_long_token(tmp_path: Path) -> None:
    done = run_giftflow(["token", "u1", "--ttl", "86400"], tmp_path, GIFTFLOW_JWT_SECRET=SECRET)
    assert done.returncode == 2
    assert done.stdout == ""
    assert one_line(done.stderr).startswith("--ttl must be between 1 and 900 seconds")
    done = run_giftflow(["token", "not a user"], tmp_path, GIFTFLOW_JWT_SECRET=SECRET)
    assert done.returncode == 2 and done.stdout == ""
    assert one_line(done.stderr).startswith("invalid user id 'not a user'")
    assert list(tmp_path.iterdir()) == []
