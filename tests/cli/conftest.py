"""CLI tests run in an empty working directory with no ``GIFTFLOW_*`` variables set, as a user
would run ``giftflow`` from somewhere other than the project directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from giftflow.settings import get_settings


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty current directory; settings re-read from a clean environment."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    for name in list(os.environ):
        if name.startswith("GIFTFLOW_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(cwd)
    get_settings.cache_clear()
    yield cwd
    get_settings.cache_clear()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "80"})


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIFTFLOW_")}
    env.update(extra)
    return env


def giftflow_script() -> str:
    """The installed ``giftflow`` console script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("giftflow")
    found = str(beside) if beside.exists() else shutil.which("giftflow")
    assert found, "the giftflow console script is not installed"
    return found


def run_giftflow(
    args: list[str], cwd: Path, *, module: bool = False, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the real command (``giftflow …`` or ``python -m giftflow …``) in ``cwd``."""
    command = [sys.executable, "-m", "giftflow"] if module else [giftflow_script()]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=clean_env(COLUMNS="80", **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
