"""The in-process API fixture, shared with tests/api, and one whose policy has bonuses.

``promo_api`` stores two versions of ``standard`` before the app starts: version 1 as shipped
(no bonus), and version 2, in force from 2 January 2026, with a 10% first-purchase bonus and a
20% "launch-week" campaign from 5 to 12 January. The clock starts on 1 January.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from giftflow.api import create_app
from giftflow.clock import FrozenClock
from giftflow.db import make_engine, unit_of_work
from giftflow.money.policy import BonusRules, Campaign, Policy, load_profile
from giftflow.money.repository import store_policy
from giftflow.settings import Settings
from tests.api.conftest import SECRET, Api, api, make_keys

__all__ = ["LAUNCH_END", "LAUNCH_START", "PROMO_FROM", "api", "promo_api"]

PROMO_FROM = datetime(2026, 1, 2, tzinfo=UTC)
LAUNCH_START = datetime(2026, 1, 5, tzinfo=UTC)
LAUNCH_END = datetime(2026, 1, 12, tzinfo=UTC)


def promo_policy() -> Policy:
    standard = load_profile("standard")
    bonuses = BonusRules(
        first_purchase_percent=10,
        campaigns=[
            Campaign(id="launch-week", starts_at=LAUNCH_START, ends_at=LAUNCH_END, bonus_percent=20)
        ],
    )
    return standard.model_copy(
        update={"version": 2, "effective_from": PROMO_FROM, "bonuses": bonuses}
    )


@pytest.fixture
def promo_api(database_url: str) -> Iterator[Api]:
    clock = FrozenClock()
    admin, platform = make_keys(database_url, clock)
    engine = make_engine(database_url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            store_policy(conn, load_profile("standard"), clock.now())
            store_policy(conn, promo_policy(), clock.now())
    finally:
        engine.dispose()
    settings = Settings(database_url=database_url, jwt_secret=SECRET, pending_sweep_seconds=0)
    with TestClient(create_app(settings, clock)) as client:
        yield Api(client, clock, admin, platform)
