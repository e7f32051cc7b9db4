"""Price lists: the regional lists of `standard`, custom-amount bounds, and their validation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from giftflow.cli import app
from giftflow.money.amounts import MAX_AMOUNT
from giftflow.money.assets import get_asset
from giftflow.money.policy import (
    PROFILES_DIR,
    Campaign,
    check_policy_file,
    load_profile,
    parse_policy,
)


def standard_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(load_profile("standard").model_dump_json())
    return data


def problems_of(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    return check_policy_file(path)


def test_standard_lists_usd_everywhere_first_then_yen_and_dinars() -> None:
    policy = load_profile("standard")
    assert [(p.region, p.channel, p.currency) for p in policy.prices] == [
        ("*", "app", "USD"),
        ("*", "web", "USD"),
        ("JP", "app", "JPY"),
        ("JP", "web", "JPY"),
        ("KW", "app", "KWD"),
        ("KW", "web", "KWD"),
    ]
    assert (get_asset("JPY").scale, get_asset("KWD").scale) == (0, 3)
    jp_app, kw_app = policy.prices[2], policy.prices[4]
    assert (jp_app.packs[0].price_minor, jp_app.store_fee_bps) == (160, 3000)  # ¥160
    assert (kw_app.packs[0].price_minor, kw_app.store_fee_bps) == (260, 3000)  # 0.260 KWD
    assert (policy.prices[3].packs[0].price_minor, policy.prices[3].store_fee_bps) == (140, 0)
    assert (policy.prices[5].packs[0].price_minor, policy.prices[5].store_fee_bps) == (230, 0)


def test_every_standard_pack_costs_its_lists_unit_rate_exactly() -> None:
    for plist in load_profile("standard").prices:
        assert [p.coins for p in plist.packs] == [70, 350, 700, 1400, 3500, 7000, 17500]
        for pack in plist.packs:
            assert pack.price_minor * plist.unit_coins == pack.coins * plist.unit_price_minor
        assert (plist.custom_min_coins, plist.custom_max_coins) == (1, 1_000_000)


def test_lists_open_to_a_region_put_its_own_first() -> None:
    policy = load_profile("standard")
    assert [p.currency for p in policy.price_lists_for("JP", "app")] == ["JPY", "USD"]
    assert [(p.region, p.currency) for p in policy.price_lists_for("KW", "web")] == [
        ("KW", "KWD"),
        ("*", "USD"),
    ]
    assert [p.region for p in policy.price_lists_for("US", "app")] == ["*"]
    assert [p.region for p in policy.price_lists_for("*", "web")] == ["*"]
    assert load_profile("seed-002").price_lists_for("JP", "app") == []
    assert load_profile("seed-002").price_lists_for("US", "web") == []


def test_a_pack_is_found_by_its_exact_size() -> None:
    plist = load_profile("standard").prices[0]
    found = plist.pack(350)
    assert found is not None and found.price_minor == 420
    assert plist.pack(351) is None


def test_a_campaign_runs_from_its_start_to_before_its_end() -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    campaign = Campaign(
        id="c", starts_at=start, ends_at=start + timedelta(days=7), bonus_percent=10
    )
    assert not campaign.running_at(start - timedelta(microseconds=1))
    assert campaign.running_at(start)
    assert campaign.running_at(start + timedelta(days=7, microseconds=-1))
    assert not campaign.running_at(start + timedelta(days=7))


def test_custom_bounds_are_optional_and_checked(tmp_path: Path) -> None:
    data = standard_data()
    for plist in data["prices"]:
        del plist["custom_min_coins"], plist["custom_max_coins"]
    data["prices"][1].update(custom_min_coins=10, custom_max_coins=10)  # one amount only: fine
    policy = parse_policy(json.dumps(data))
    assert (policy.prices[0].custom_min_coins, policy.prices[0].custom_max_coins) == (1, 1_000_000)
    assert (policy.prices[1].custom_min_coins, policy.prices[1].custom_max_coins) == (10, 10)
    assert problems_of(tmp_path, data) == []


def test_every_price_list_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = standard_data()
    data["refund_window_days"] = -1  # a problem elsewhere in the document
    data["prices"][0]["custom_min_coins"] = 0
    data["prices"][1].update(custom_min_coins=500, custom_max_coins=100)
    data["prices"][1]["packs"].append({"coins": 70, "price_minor": 84})  # same list: both found
    data["prices"][2]["custom_max_coins"] = MAX_AMOUNT  # ¥160 per 70 coins: beyond MAX_AMOUNT
    data["prices"][3]["custom_max_coins"] = MAX_AMOUNT + 1
    data["prices"][4]["custom_min_coins"] = 1.5  # floats are refused everywhere
    problems = problems_of(tmp_path, data)
    fields = sorted(p.split(":")[0] for p in problems)
    assert fields == [
        "prices.0.custom_min_coins",
        "prices.1.custom_max_coins",
        "prices.1.packs",
        "prices.2.custom_max_coins",
        "prices.3.custom_max_coins",
        "prices.4.custom_min_coins",
        "refund_window_days",
    ]
    text = "\n".join(problems)
    assert "custom_min_coins (500) is above custom_max_coins (100)" in text
    assert "two packs have the same number of coins" in text
    assert f"custom_max_coins ({MAX_AMOUNT}) would cost more than {MAX_AMOUNT}" in text


def test_policy_check_accepts_the_regional_lists() -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    for target in ("standard", str(PROFILES_DIR / "standard.toml")):
        result = runner.invoke(app, ["policy", "check", target])
        assert result.exit_code == 0, result.output
