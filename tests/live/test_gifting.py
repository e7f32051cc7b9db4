"""Sending gifts through the HTTP API: the money, the event, every refusal, idempotency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from giftflow.errors import CreatorNotEligible
from giftflow.money.policy import SpendingCap
from tests.live.conftest import LiveApi, OpenLive, err, store_version


def refused(
    api: LiveApi,
    live: str,
    send: Callable[[], httpx.Response],
    status: int,
    code: str,
    *users: str,
) -> dict[str, Any]:
    """``send`` is refused with (status, code) and moves nothing: the senders' coins, the
    creator's diamonds, the room's sequence and the live's totals are as they were."""
    api.close_combos()  # streaks due to end (the clock moved) end now, not during the check
    before = api.snapshot(live, *users)
    r = send()
    assert err(r) == (status, code), r.text
    assert api.snapshot(live, *users) == before
    details: dict[str, Any] = r.json()["error"]["details"]
    return details


def test_a_gift_moves_coins_and_diamonds_in_one_transaction(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1", display_name="Cee")
        api.viewer("v1", coins=10, display_name="Vee")
        api.grant("user:v1:coins:bonus", 3, "bonus-v1")
        live = api.start("c1")
        r = api.gift("v1", live, "panda", 2)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["object"] == "gift" and body["live_id"] == live
        assert (body["gift_id"], body["count"]) == ("panda", 2)
        assert body["coins"] == {"asset": "COIN", "amount": 10, "display": "10"}
        assert body["diamonds"] == {"asset": "DIAMOND", "amount": 500, "display": "5.00"}
        assert body["balance"]["amount"] == 3  # bonus coins went first
        assert body["seq"] == 2 and body["combo_count"] == 2 and body["combo_id"]
        assert body["policy_version"].startswith("seed-002@")
        assert body["created_at"] == "2026-01-01T00:00:00Z"
        assert api.balance("user:v1:coins:bonus", "COIN") == 0
        assert api.balance("user:v1:coins", "COIN") == 3
        assert api.diamonds("c1") == (500, 0)
        # the ledger's transaction: coins to revenue, diamonds issued to the creator
        txn = api.client.get(
            f"/v1/admin/transactions/{body['transaction_id']}", headers=api.admin()
        ).json()
        assert txn["kind"] == "gift" and txn["policy_version"] == body["policy_version"]
        moves = sorted(
            (p["source"], p["destination"], p["asset"], p["amount"]) for p in txn["postings"]
        )
        assert moves == [
            ("platform:diamonds:issued", "creator:c1:diamonds", "DIAMOND", 500),
            ("user:v1:coins", "platform:revenue:gifts", "COIN", 7),
            ("user:v1:coins:bonus", "platform:revenue:gifts", "COIN", 3),
        ]
        assert txn["metadata"] == {"live": live, "gift": "panda", "count": "2"}
        # the room's event
        event = api.events(live)[-1]
        assert event["type"] == "gift" and event["seq"] == 2
        assert event["sender"] == {"id": "v1", "name": "Vee"}
        assert event["gift"]["id"] == "panda" and event["gift"]["name"] == "Panda"
        assert (event["count"], event["coins"], event["diamonds"]) == (2, 10, 500)
        assert event["transaction_id"] == body["transaction_id"]
        assert event["combo_id"] == body["combo_id"] and event["combo_end"] is False
        view = api.live(live)
        assert view["gifts_count"] == 2 and view["coins"]["amount"] == 10
        assert view["diamonds"]["amount"] == 500 and view["last_seq"] == 2
        api.assert_clean()


def test_insufficient_funds(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=4)
        api.viewer("v0")
        live = api.start("c1")
        details = refused(
            api, live, lambda: api.gift("v1", live, "panda"), 409, "insufficient_funds", "v1"
        )
        assert (details["available"], details["required"]) == (4, 5)
        refused(api, live, lambda: api.gift("v0", live), 409, "insufficient_funds", "v0")
        # four Roses fit exactly
        assert api.gift("v1", live, "rose", 4).json()["balance"]["amount"] == 0
        api.assert_clean()


def test_a_spending_cap_of_the_policy(open_live: OpenLive, database_url: str) -> None:
    store_version(
        database_url, "seed-002", caps=[SpendingCap(scope="region", key="US", daily_coins=10)]
    )
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=100)
        api.viewer("gb", coins=100, region="GB")
        live = api.start("c1")
        assert api.gift("v1", live, "panda", 2).json()["policy_version"] == "seed-002@2"
        details = refused(api, live, lambda: api.gift("v1", live), 409, "cap_exceeded", "v1")
        assert details["rule"] == "region:US daily"
        assert details["resets_at"] == "2026-01-02T00:00:00Z"
        # the cap is the US region's; one more request over it in one go is refused whole
        assert api.gift("gb", live, "panda", 20).status_code == 201
        api.clock.advance(timedelta(days=1))
        refused(api, live, lambda: api.gift("v1", live, "rose", 11), 409, "cap_exceeded", "v1")
        assert api.gift("v1", live, "rose", 10).status_code == 201
        assert api.coins("v1") == 80
        api.assert_clean()


def test_live_not_active_after_the_end(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=10)
        live = api.start("c1")
        assert api.end(live, "c1").status_code == 200
        details = refused(api, live, lambda: api.gift("v1", live), 409, "live_not_active", "v1")
        assert details["live_id"] == live


def test_creator_not_eligible_at_gift_time(open_live: OpenLive) -> None:
    """The creator's followers, age and freezing are checked again with every gift."""
    with open_live("standard") as api:
        api.creator("c1")
        api.viewer("v1", coins=10)
        live = api.start("c1")
        cases: list[tuple[dict[str, Any], str]] = [
            ({"follower_count": 999}, "followers"),
            ({"birth_date": "2010-06-01"}, "under_age"),
            ({"birth_date": None}, "age_unknown"),
            ({"frozen": True}, "frozen"),
        ]
        for n, (facts, reason) in enumerate(cases):
            api.set_user("c1", **facts)
            view = api.live(live)
            assert (view["eligible"], view["ineligible_reason"]) == (False, reason)
            details = refused(
                api,
                live,
                lambda n=n: api.gift("v1", live, idem=f"k{n}"),  # type: ignore[misc]
                409,
                "creator_not_eligible",
                "v1",
            )
            assert details["reason"] == reason and details["creator_id"] == "c1"
            assert reason in CreatorNotEligible.REASONS  # every reason has a message
            assert details["followers_needed"] == 1000
            api.set_user("c1", follower_count=1000, birth_date="1990-01-01", frozen=False)
            assert api.live(live)["eligible"] is True
        assert api.gift("v1", live, idem="ok").status_code == 201
        assert api.diamonds("c1") == (0, 50)


def test_a_frozen_or_young_creator_cannot_start(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("frozen", frozen=True)
        api.creator("young", birth_date="2009-01-02")
        api.creator("unknown", birth_date=None)
        for creator, reason in (
            ("frozen", "frozen"),
            ("young", "under_age"),
            ("unknown", "age_unknown"),
        ):
            r = api.client.post("/v1/lives", json={}, headers=api.user(creator))
            assert err(r) == (409, "creator_not_eligible")
            assert r.json()["error"]["details"]["reason"] == reason
        assert api.client.get("/v1/lives", headers=api.platform()).json()["data"] == []
        api.set_user("young", birth_date="2008-01-01")  # 18 today
        assert api.start("young")


def test_self_gift(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.grant("user:c1:coins", 10, "g")
        live = api.start("c1")
        refused(api, live, lambda: api.gift("c1", live), 409, "self_gift", "c1")


def test_gift_unavailable_by_region_window_and_withdrawal(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("us", coins=100)
        api.viewer("jp", coins=100, region="JP")
        api.viewer("nowhere", coins=100, region=None)
        live = api.start("c1")
        made = api.client.post(
            "/v1/admin/gifts",
            json={"id": "lucky-cat", "name": "Lucky Cat", "price": 3, "regions": ["JP"]},
            headers=api.admin(),
        )
        assert made.status_code == 201, made.text
        for who in ("us", "nowhere"):
            details = refused(
                api,
                live,
                lambda who=who: api.gift(who, live, "lucky-cat"),  # type: ignore[misc]
                409,
                "gift_unavailable",
                who,
            )
            assert details == {"gift_id": "lucky-cat", "reason": "region"}
        r = api.gift("jp", live, "lucky-cat")
        assert r.status_code == 201 and r.json()["coins"]["amount"] == 3
        # a limited edition: from one hour ahead, for one hour
        made = api.client.post(
            "/v1/admin/gifts",
            json={
                "id": "new-year",
                "name": "New Year",
                "price": 2,
                "available_from": "2026-01-01T01:00:00Z",
                "available_until": "2026-01-01T02:00:00Z",
            },
            headers=api.admin(),
        )
        assert made.status_code == 201, made.text
        details = refused(
            api, live, lambda: api.gift("us", live, "new-year"), 409, "gift_unavailable", "us"
        )
        assert details["reason"] == "not_yet"
        api.clock.advance(timedelta(hours=1))
        assert api.gift("us", live, "new-year", idem="in-window").status_code == 201
        api.clock.advance(timedelta(hours=1))
        details = refused(
            api,
            live,
            lambda: api.gift("us", live, "new-year", idem="late"),
            409,
            "gift_unavailable",
            "us",
        )
        assert details["reason"] == "ended"
        # withdrawn by an operator
        assert (
            api.client.delete("/v1/admin/gifts/lucky-cat", headers=api.admin()).status_code == 200
        )
        details = refused(
            api,
            live,
            lambda: api.gift("jp", live, "lucky-cat", idem="withdrawn"),
            409,
            "gift_unavailable",
            "jp",
        )
        assert details["reason"] == "inactive"
        api.assert_clean()


def test_a_frozen_sender(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=10, frozen=True)
        live = api.start("c1")
        refused(api, live, lambda: api.gift("v1", live), 409, "account_frozen", "v1")
        api.set_user("v1", frozen=False)
        assert api.gift("v1", live, idem="thawed").status_code == 201


def test_age_restricted_senders(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("teen", coins=10, birth_date="2008-01-02")  # 18 tomorrow
        api.viewer("anon", coins=10, birth_date=None)
        live = api.start("c1")
        details = refused(api, live, lambda: api.gift("teen", live), 409, "age_restricted", "teen")
        assert details == {"reason": "under_age", "minimum_age": 18}
        details = refused(api, live, lambda: api.gift("anon", live), 409, "age_restricted", "anon")
        assert details["reason"] == "age_unknown"
        api.clock.advance(timedelta(days=1))
        assert api.gift("teen", live, idem="birthday").status_code == 201


def test_unknown_gifts_and_bad_counts_are_422(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=1000)
        live = api.start("c1")
        details = refused(
            api, live, lambda: api.gift("v1", live, "unicorn"), 422, "unknown_gift", "v1"
        )
        assert details["gift_id"] == "unicorn"
        details = refused(
            api, live, lambda: api.gift("v1", live, "rose", 101), 422, "validation_error", "v1"
        )
        assert details["maximum"] == 100
        for body in (
            {"gift_id": "rose", "count": 0},
            {"gift_id": "rose", "count": "2"},
            {"gift_id": "Rose!"},
            {"gift_id": "rose", "to": "c1"},
            {},
        ):
            r = api.client.post(
                f"/v1/lives/{live}/gifts",
                json=body,
                headers=api.user("v1") | {"Idempotency-Key": "bad"},
            )
            assert err(r) == (422, "validation_error"), body
        # the maximum itself is fine, and a 422 was not stored under its key
        assert api.gift("v1", live, "rose", 100).status_code == 201
        assert api.gift("v1", live, "rose", 1, idem="bad").status_code == 201
        assert api.coins("v1") == 899


def test_a_gift_to_no_such_live_is_a_404_stored_under_its_key(open_live: OpenLive) -> None:
    """The 404 is found while the writer gathers the accounts, before apply; it used to be
    answered without being stored, so the same key sent again was a new request."""
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=1000)
        live = api.start("c1")
        nowhere = str(int(live) + 10_000)
        first = api.gift("v1", nowhere, idem="k")
        assert err(first) == (404, "not_found")
        assert "Idempotent-Replayed" not in first.headers
        again = api.gift("v1", nowhere, idem="k")
        assert (again.status_code, again.headers["Idempotent-Replayed"]) == (404, "true")
        assert again.json() == first.json()
        other = api.gift("v1", live, idem="k")  # the key on another live: another request
        assert err(other) == (409, "idempotency_key_reused")
        assert api.coins("v1") == 1000
        assert api.gift("v1", live, idem="k2").status_code == 201


def test_only_users_send_gifts(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        live = api.start("c1")
        body = {"gift_id": "rose", "count": 1}
        for headers in (api.platform(), api.admin(), {}):
            r = api.client.post(
                f"/v1/lives/{live}/gifts", json=body, headers=headers | {"Idempotency-Key": "x"}
            )
            assert r.status_code in (401, 403), r.text
        # a user the platform never created
        r = api.gift("ghost", live)
        assert err(r) == (422, "user_not_found")
        assert api.live(live)["last_seq"] == 1


def test_idempotent_sends(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.creator("c2")
        api.viewer("v1", coins=20)
        live = api.start("c1")
        other = api.start("c2")
        first = api.gift("v1", live, "panda", idem="k1")
        assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
        again = api.gift("v1", live, "panda", idem="k1")
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        assert api.coins("v1") == 15 and api.diamonds("c1") == (250, 0)
        assert api.live(live)["last_seq"] == 2 and len(api.events(live)) == 2
        # the same key with another body, or on another live, is refused
        for send in (
            lambda: api.gift("v1", live, "rose", idem="k1"),
            lambda: api.gift("v1", live, "panda", 2, idem="k1"),
            lambda: api.gift("v1", other, "panda", idem="k1"),
        ):
            refused(api, live, send, 409, "idempotency_key_reused", "v1")
        # another sender's key space is their own
        api.viewer("v2", coins=5)
        assert api.gift("v2", live, "panda", idem="k1").status_code == 201
        # no key: 400, nothing moves
        refused(
            api,
            live,
            lambda: api.client.post(
                f"/v1/lives/{live}/gifts", json={"gift_id": "rose"}, headers=api.user("v1")
            ),
            400,
            "idempotency_key_required",
            "v1",
        )
        # a business refusal is final under its key, even once the coins are there
        r = api.gift("v1", live, "fireworks", idem="k2")
        assert err(r) == (409, "insufficient_funds")
        api.grant("user:v1:coins", 1000, "top-up")
        r = api.gift("v1", live, "fireworks", idem="k2")
        assert err(r) == (409, "insufficient_funds")
        assert r.headers["Idempotent-Replayed"] == "true"
        assert api.gift("v1", live, "fireworks", idem="k3").status_code == 201
        assert api.coins("v1") == 15 + 1000 - 999
        api.assert_clean()
