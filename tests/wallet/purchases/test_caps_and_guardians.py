"""Spending caps of the policy (per region, per provider) and a guardian's rules, at purchase."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from giftflow.db import make_engine, unit_of_work
from giftflow.money.policy import SpendingCap, load_profile
from giftflow.money.repository import store_policy

from .conftest import WalletApi


def with_caps(database_url: str, *caps: SpendingCap) -> None:
    policy = load_profile("standard").model_copy(
        update={
            "version": 2,
            "effective_from": datetime(2025, 12, 31, tzinfo=UTC),
            "caps": list(caps),
        }
    )
    engine = make_engine(database_url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            store_policy(conn, policy, datetime(2025, 12, 31, tzinfo=UTC))
    finally:
        engine.dispose()


def test_region_daily_and_weekly_caps(open_api: Any, database_url: str) -> None:
    with_caps(
        database_url, SpendingCap(scope="region", key="US", daily_coins=1000, weekly_coins=1500)
    )
    with open_api("standard") as api:
        api.buyer("c")
        assert api.buy("c", "1", pack=700).status_code == 201
        r = api.buy("c", "2", pack=350)
        assert r.status_code == 409 and r.json()["error"]["code"] == "cap_exceeded"
        details = r.json()["error"]["details"]
        assert details["rule"] == "region:US daily"
        assert details["resets_at"] == "2026-01-02T00:00:00Z"  # 2026-01-01 is a Thursday
        assert api.coins("c") == {"user:c:coins": 700}
        api.clock.advance(timedelta(days=1))
        assert api.buy("c", "3", pack=700).status_code == 201
        api.clock.advance(timedelta(days=1))
        r = api.buy("c", "4", pack=350)
        assert r.json()["error"]["details"]["rule"] == "region:US weekly"
        assert r.json()["error"]["details"]["resets_at"] == "2026-01-05T00:00:00Z"
        # other regions are not capped by the US rule
        api.buyer("jp", region="GB")
        assert api.buy("jp", "5", pack=1400).status_code == 201
        api.assert_clean()


def test_a_provider_cap_counts_only_that_provider(open_api: Any, database_url: str) -> None:
    with_caps(database_url, SpendingCap(scope="provider", key="sandbox", daily_coins=100))
    with open_api("standard") as api:
        api.buyer("p")
        assert api.buy("p", "1", pack=70).status_code == 201
        r = api.buy("p", "2", pack=70)
        assert r.json()["error"]["details"]["rule"] == "provider:sandbox daily"


def rules(api: WalletApi, link: str, who: str, **changes: Any) -> Any:
    return api.client.put(f"/v1/guardians/links/{link}", json=changes, headers=api.user(who))


def link_users(api: WalletApi, guardian: str, ward: str) -> Any:
    body = {"guardian_id": guardian, "ward_id": ward}
    return api.client.post("/v1/guardians/links", json=body, headers=api.platform())


def test_guardian_rules(open_api: Any) -> None:
    with open_api("standard") as api:
        api.buyer("parent", birth_date="1980-01-01")
        api.buyer("teen", birth_date="2005-01-01")
        r = link_users(api, "parent", "teen")
        assert r.status_code == 201
        assert link_users(api, "parent", "teen").status_code == 200  # the same link again
        link = r.json()["id"]
        # the ward may not change the rules; the guardian may
        r = api.client.put(
            f"/v1/guardians/links/{link}", json={"daily_cap_coins": 100}, headers=api.user("teen")
        )
        assert r.status_code == 404
        r = api.client.put(
            f"/v1/guardians/links/{link}", json={"daily_cap_coins": 100}, headers=api.user("parent")
        )
        assert r.status_code == 200 and r.json()["daily_cap_coins"] == 100
        assert api.buy("teen", "1", pack=70).status_code == 201
        r = api.buy("teen", "2", pack=70)
        assert r.json()["error"]["code"] == "cap_exceeded"
        assert r.json()["error"]["details"]["rule"] == f"guardian:{link} daily"
        api.client.put(
            f"/v1/guardians/links/{link}",
            json={"purchases_enabled": False},
            headers=api.user("parent"),
        )
        api.clock.advance(timedelta(days=1))
        r = api.buy("teen", "3", pack=70)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "purchases_disabled")
        assert api.coins("teen") == {"user:teen:coins": 70}
        mine = api.client.get("/v1/guardians/links", headers=api.user("teen")).json()["data"]
        assert [(m["guardian_id"], m["purchases_enabled"]) for m in mine] == [("parent", False)]
        # a link to oneself, or to nobody, is refused
        r = api.client.post(
            "/v1/guardians/links",
            json={"guardian_id": "teen", "ward_id": "teen"},
            headers=api.platform(),
        )
        assert r.status_code == 422
        r = api.client.post(
            "/v1/guardians/links",
            json={"guardian_id": "nobody", "ward_id": "teen"},
            headers=api.platform(),
        )
        assert r.json()["error"]["code"] == "user_not_found"
