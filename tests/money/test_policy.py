"""Policy documents: shipped profiles validate; bad documents report every problem at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from giftflow.cli import app
from giftflow.errors import InvalidPolicy
from giftflow.money.policy import (
    PROFILES_DIR,
    PolicyBook,
    check_policy_file,
    list_profiles,
    load_profile,
)


def test_all_four_profiles_ship_and_validate() -> None:
    assert list_profiles() == ["seed-000", "seed-001", "seed-002", "standard"]
    for name in list_profiles():
        assert check_policy_file(PROFILES_DIR / f"{name}.toml") == []


def test_seed_facts_and_blanks() -> None:
    s000, s001, s002, std = (load_profile(n) for n in list_profiles())
    assert (std.cashout.hold_days, s002.cashout.hold_days) == (7, 0)
    assert s000.cashout.fee_bps == 5000 and s002.cashout.fee_bps == 0
    assert s001.cashout.minimum_minor == 10_000 and s001.cashout.maximum_per_week_minor == 100_000
    assert s001.cashout.maximum_per_day_minor is None  # a blank is no limit, not the default
    assert std.cashout.maximum_per_day_minor == 100_000
    assert s001.gifts.followers_to_receive == 1000 and s002.gifts.followers_to_receive == 0


def bad_document(tmp_path: Path) -> Path:
    data = (PROFILES_DIR / "standard.toml").read_text()
    data = data.replace("creator_share_percent = 50", "creator_share_percent = 50.5")
    data = data.replace("fee_bps = 0", "fee_bps = 20000")
    data = data.replace('currency = "USD"\nfiat_minor', 'currency = "XXX"\nfiat_minor', 1)
    path = tmp_path / "bad.toml"
    path.write_text(data)
    return path


def test_every_problem_is_reported_with_its_field(tmp_path: Path) -> None:
    problems = check_policy_file(bad_document(tmp_path))
    fields = sorted(p.split(":")[0] for p in problems)
    assert fields == ["cashout.currency", "cashout.fee_bps", "gifts.creator_share_percent"]
    assert any("unknown currency 'XXX'" in p for p in problems)


def test_limits_must_be_ordered_and_times_aware(tmp_path: Path) -> None:
    data = json.loads(load_profile("standard").model_dump_json())
    data["cashout"]["minimum_minor"] = 200_000
    data["effective_from"] = "2026-01-01T00:00:00"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    problems = check_policy_file(path)
    assert any(p.startswith("effective_from:") and "time zone" in p for p in problems)
    assert any("minimum_minor is above maximum_per_day_minor" in p for p in problems)


def test_policy_check_command(tmp_path: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    ok = runner.invoke(app, ["policy", "check", str(PROFILES_DIR / "seed-002.toml")])
    assert ok.exit_code == 0 and "valid economy policy" in ok.output
    bad = runner.invoke(app, ["policy", "check", str(bad_document(tmp_path))])
    assert bad.exit_code == 1 and "3 problem(s)" in bad.output


def test_policy_book_picks_latest_effective_version() -> None:
    v1 = load_profile("standard")
    v2 = v1.model_copy(update={"version": 2, "effective_from": datetime(2026, 6, 1, tzinfo=UTC)})
    book = PolicyBook([v2, v1])
    assert book.active_at(datetime(2026, 5, 31, tzinfo=UTC)).version == 1
    assert book.active_at(datetime(2026, 6, 1, tzinfo=UTC)).version == 2
    with pytest.raises(InvalidPolicy):
        book.active_at(datetime(2025, 1, 1, tzinfo=UTC))
