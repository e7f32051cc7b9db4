"""The policy's fraud section (shipped defaults, validation) and the scan's checkpoint; a quiet
economy on the shipped thresholds raises nothing; the maintenance loop's entry point."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from giftflow.errors import InvalidPolicy
from giftflow.money.policy import FraudRules, list_profiles, load_profile, parse_policy
from giftflow.operations.fraud.service import scan_for_fraud
from giftflow.schema import job_state
from tests.operations.fraud.conftest import OpenFraud


def test_every_profile_ships_the_default_thresholds() -> None:
    for name in list_profiles():
        assert load_profile(name).fraud == FraudRules(), name
    rules = FraudRules()
    assert (rules.rings.max_length, rules.rings.min_coins, rules.rings.window_hours) == (
        3,
        1000,
        24,
    )
    assert rules.new_account_bursts.max_coins == 5000
    assert rules.shared_fingerprint.min_users == 3
    assert rules.withdrawal_after_method_change.within_hours == 72


def problems(**fraud: Any) -> list[str]:
    document = json.loads(load_profile("standard").model_dump_json())
    document["fraud"] = fraud
    with pytest.raises(InvalidPolicy) as caught:
        parse_policy(json.dumps(document))
    found: list[str] = caught.value.details["problems"]
    return found


def test_bad_thresholds_are_refused_with_their_fields() -> None:
    found = problems(
        rings={"max_length": 5, "min_coins": 0, "window_hours": 24 * 91},
        new_account_bursts={"account_age_hours": 1, "window_minutes": 61},
        refund_after_gifting={"within_hours": -1, "min_gifted_coins": 10**15},
        shared_fingerprint={"min_users": 1, "window_days": 0},
        withdrawal_after_method_change={"within_hours": 0},
    )
    fields = sorted(p.split(":")[0] for p in found)
    assert fields == [
        "fraud.new_account_bursts",
        "fraud.refund_after_gifting.min_gifted_coins",
        "fraud.refund_after_gifting.within_hours",
        "fraud.rings.max_length",
        "fraud.rings.min_coins",
        "fraud.rings.window_hours",
        "fraud.shared_fingerprint.min_users",
        "fraud.shared_fingerprint.window_days",
        "fraud.withdrawal_after_method_change.within_hours",
    ]
    assert any("longer than an account stays new" in p for p in found)


@pytest.mark.parametrize(
    "fraud",
    [
        {"rings": {"min_coins": 100.5}},  # no floats
        {"rings": {"min_coins": "100"}},  # no strings for numbers
        {"rings": {"enabled": "yes"}},
        {"rings": {"minimum": 100}},  # unknown field
        {"ring": {}},
    ],
)
def test_malformed_thresholds_are_refused(fraud: dict[str, Any]) -> None:
    assert all(p.startswith("fraud.") for p in problems(**fraud))


def test_a_document_without_the_section_gets_the_defaults() -> None:
    document = json.loads(load_profile("seed-001").model_dump_json())
    del document["fraud"]
    assert parse_policy(json.dumps(document)).fraud == FraudRules()


def test_a_quiet_economy_raises_nothing_and_the_checkpoint_moves(open_fraud: OpenFraud) -> None:
    with open_fraud() as api:  # seed-002 as shipped: the default thresholds, all on
        api.creator("star")
        api.creator("other")
        live = api.start("star")
        for user in ("v1", "v2"):
            api.person(user)
            api.buy(user, 350, f"buy-{user}")
            r = api.gift(user, live, "panda", 10, idem=f"gift-{user}")
            assert r.status_code == 201, r.text
        api.grant("user:star:coins", 10, "grant-star")
        r = api.gift("star", api.start("other"), "rose", 1, idem="star-gift")
        assert r.status_code == 201, r.text
        # the maintenance loop's entry point is the scan itself
        created = api.client.portal.call(scan_for_fraud, api.ctx)  # type: ignore[union-attr]
        assert created == 0 and api.flags.list() == []
        with api.ctx.engine.connect() as conn:
            value = conn.execute(
                select(job_state.c.value).where(job_state.c.name == "fraud_scan")
            ).scalar_one()
        assert json.loads(value) == {
            "since": "2025-12-31T00:00:00Z",  # the first scan looks back a day
            "until": "2026-01-01T00:00:00Z",
        }
        api.clock.advance(timedelta(minutes=30))
        assert api.flags.scan_moving_nothing() == 0
        with api.ctx.engine.connect() as conn:
            value = conn.execute(
                select(job_state.c.value).where(job_state.c.name == "fraud_scan")
            ).scalar_one()
        assert json.loads(value) == {  # from the last one, with five minutes of overlap
            "since": "2025-12-31T23:55:00Z",
            "until": "2026-01-01T00:30:00Z",
        }
