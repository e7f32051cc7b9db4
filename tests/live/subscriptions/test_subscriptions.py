"""Subscriptions through the HTTP API: plans, paying a period, renewal by the engagement job,
cancellation, expiry, and subscriber-only lives."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.ledger.idempotency import Outcome
from giftflow.live.engagement import run_ticks
from giftflow.live.subscriptions.commands import RenewSubscription
from giftflow.live.subscriptions.service import _due, renew_due
from giftflow.money.policy import SpendingCap, SubscriptionRules
from giftflow.schema import diamond_holds
from tests.live.conftest import LiveApi, OpenLive, err, store_version

START = datetime(2026, 1, 1, tzinfo=UTC)  # the tests' frozen clock
MONTH = timedelta(days=30)
REVENUE = "platform:revenue:subscriptions"


# --- helpers ------------------------------------------------------------------------------------
def set_plan(api: LiveApi, creator: str, price: int) -> httpx.Response:
    r: httpx.Response = api.client.put(
        "/v1/creator/subscription-plan", json={"price_coins": price}, headers=api.user(creator)
    )
    return r


def subscribe(api: LiveApi, user: str, creator: str, idem: str = "") -> httpx.Response:
    headers = api.user(user) | {"Idempotency-Key": idem or f"sub-{user}-{creator}"}
    r: httpx.Response = api.client.post(
        "/v1/subscriptions", json={"creator_id": creator}, headers=headers
    )
    return r


def cancel(api: LiveApi, user: str, subscription_id: str, idem: str = "") -> httpx.Response:
    headers = api.user(user) | {"Idempotency-Key": idem or f"cancel-{user}-{subscription_id}"}
    r: httpx.Response = api.client.post(
        f"/v1/subscriptions/{subscription_id}/cancel", headers=headers
    )
    return r


def mine(api: LiveApi, user: str) -> list[dict[str, Any]]:
    r = api.client.get("/v1/subscriptions", headers=api.user(user))
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def ticks(api: LiveApi) -> None:
    """One round of the engagement job (as the server's loop runs it)."""
    api.client.portal.call(run_ticks, api.ctx)  # type: ignore[union-attr]


def money(api: LiveApi, user: str, creator: str) -> dict[str, Any]:
    """Everything a refused or failed subscription must leave as it was."""
    return {
        "coins": api.coins(user),
        "diamonds": api.diamonds(creator),
        "revenue": api.balance(REVENUE, "COIN"),
    }


def subscribed(api: LiveApi, user: str, creator: str, price: int = 100) -> dict[str, Any]:
    """``creator`` offers a plan at ``price``; ``user`` subscribes."""
    assert set_plan(api, creator, price).status_code == 200
    r = subscribe(api, user, creator)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def start_live(api: LiveApi, creator: str, *, subscribers_only: bool) -> str:
    r = api.client.post(
        "/v1/lives",
        json={"title": "members", "subscribers_only": subscribers_only},
        headers=api.user(creator),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


# --- plans --------------------------------------------------------------------------------------
def test_a_plan_within_the_policy_bounds(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1")
        for price in (9, 10_001, 0):
            r = set_plan(api, "c1", price)
            assert err(r) == (422, "validation_error"), r.text
        r = set_plan(api, "c1", 10)
        assert r.status_code == 200, r.text
        assert r.json()["price"] == {"asset": "COIN", "amount": 10, "display": "10"}
        assert set_plan(api, "c1", 250).json()["price"]["amount"] == 250
        # anyone may read it (a viewer's token, the platform's key)
        for headers in (api.user("v1"), api.platform()):
            r = api.client.get("/v1/creators/c1/subscription-plan", headers=headers)
            assert r.status_code == 200, r.text
            plan = r.json()
            assert plan["object"] == "subscription_plan" and plan["creator_id"] == "c1"
            assert plan["price"]["amount"] == 250 and plan["period_days"] == 30
            assert plan["creator_share_percent"] == 50 and plan["available"] is True
        r = api.client.get("/v1/creators/v1/subscription-plan", headers=api.user("v1"))
        assert err(r) == (404, "not_found")
        # only a user sets their own plan
        r = api.client.put(
            "/v1/creator/subscription-plan", json={"price_coins": 50}, headers=api.platform()
        )
        assert err(r) == (403, "forbidden")
        # withdrawn: no plan, no new subscriptions
        assert (
            api.client.delete("/v1/creator/subscription-plan", headers=api.user("c1")).status_code
            == 204
        )
        r = api.client.get("/v1/creators/c1/subscription-plan", headers=api.user("v1"))
        assert err(r) == (404, "not_found")
        r = api.client.delete("/v1/creator/subscription-plan", headers=api.user("c1"))
        assert err(r) == (404, "not_found")


def test_no_plan_or_disabled_subscriptions_move_nothing(
    open_live: OpenLive, database_url: str
) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=500)
        before = money(api, "v1", "c1")
        r = subscribe(api, "v1", "c1")
        assert err(r) == (409, "no_subscription_plan"), r.text
        assert r.json()["error"]["details"]["reason"] == "no_plan"
        assert money(api, "v1", "c1") == before and mine(api, "v1") == []
    store_version(database_url, "seed-002", subscriptions=SubscriptionRules(enabled=False))
    with open_live("seed-002") as api:
        assert err(set_plan(api, "c1", 100)) == (409, "no_subscription_plan")
        r = subscribe(api, "v1", "c1", "after-disable")
        assert err(r) == (409, "no_subscription_plan")
        assert r.json()["error"]["details"]["reason"] == "disabled"
        assert money(api, "v1", "c1") == before
        api.assert_clean()


# --- purchase -----------------------------------------------------------------------------------
def test_a_subscription_pays_coins_and_credits_the_creators_share(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=150)
        api.grant("user:v1:coins:bonus", 20, "bonus-v1")
        body = subscribed(api, "v1", "c1", 100)
        assert body["object"] == "subscription" and body["creator_id"] == "c1"
        assert body["subscriber_id"] == "v1"
        assert (body["state"], body["in_force"], body["renewals"]) == ("active", True, 0)
        assert body["period_start"] == rfc3339(START)
        assert body["period_end"] == body["renews_at"] == rfc3339(START + MONTH)
        assert body["coins"]["amount"] == 100 and body["price"]["amount"] == 100
        assert body["diamonds"] == {"asset": "DIAMOND", "amount": 5000, "display": "50.00"}
        assert body["balance"]["amount"] == 70  # bonus coins went first
        assert body["seq"] is None  # the creator is not live
        assert api.balance("user:v1:coins:bonus", "COIN") == 0
        assert api.balance("user:v1:coins", "COIN") == 70
        assert api.balance(REVENUE, "COIN") == 100
        assert api.diamonds("c1") == (5000, 0)
        txn = api.client.get(
            f"/v1/admin/transactions/{body['transaction_id']}", headers=api.admin()
        ).json()
        assert txn["kind"] == "subscription"
        assert txn["policy_version"] == body["policy_version"]
        moves = sorted(
            (p["source"], p["destination"], p["asset"], p["amount"]) for p in txn["postings"]
        )
        assert moves == [
            ("platform:diamonds:issued", "creator:c1:diamonds", "DIAMOND", 5000),
            ("user:v1:coins", REVENUE, "COIN", 80),
            ("user:v1:coins:bonus", REVENUE, "COIN", 20),
        ]
        assert txn["metadata"]["subscription"] == body["id"]
        assert txn["metadata"]["creator"] == "c1"
        listed = mine(api, "v1")
        assert [s["id"] for s in listed] == [body["id"]]
        assert listed[0]["state"] == "active" and listed[0]["period_end"] == body["period_end"]
        one = api.client.get(f"/v1/subscriptions/{body['id']}", headers=api.user("v1")).json()
        assert one["id"] == body["id"] and one["in_force"] is True
        api.assert_clean()


def test_the_policys_subscription_share_and_the_earnings_hold(
    open_live: OpenLive, database_url: str
) -> None:
    store_version(
        database_url, "standard", subscriptions=SubscriptionRules(creator_share_percent=70)
    )
    with open_live("standard") as api:
        api.creator("c1")
        api.viewer("v1", coins=100)
        body = subscribed(api, "v1", "c1", 100)
        assert body["diamonds"]["amount"] == 7000
        assert api.diamonds("c1") == (0, 7000)  # held for the policy's 7 days
        with api.ctx.engine.connect() as conn:
            buckets = conn.execute(
                select(
                    diamond_holds.c.creator_id,
                    diamond_holds.c.release_on,
                    diamond_holds.c.hundredths,
                )
            ).all()
        assert [(c, d.isoformat(), h) for c, d, h in buckets] == [("c1", "2026-01-08", 7000)]
        plan = api.client.get("/v1/creators/c1/subscription-plan", headers=api.user("v1"))
        assert plan.json()["creator_share_percent"] == 70
        api.assert_clean()


def test_refusals_move_nothing(open_live: OpenLive, database_url: str) -> None:
    store_version(
        database_url, "seed-002", caps=[SpendingCap(scope="region", key="US", daily_coins=50)]
    )
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=99, region="GB")
        api.viewer("young", coins=500, birth_date="2015-01-01")
        api.viewer("cold", coins=500)
        api.viewer("gb", coins=500, region="GB")
        api.viewer("us", coins=500)
        assert set_plan(api, "c1", 100).status_code == 200
        api.set_user("cold", frozen=True)
        cases = [
            ("v1", "c1", "insufficient_funds"),
            ("young", "c1", "age_restricted"),
            ("cold", "c1", "account_frozen"),
            ("us", "c1", "cap_exceeded"),
            ("c1", "c1", "self_gift"),
        ]
        for user, creator, code in cases:
            before = money(api, user, creator)
            r = subscribe(api, user, creator)
            assert err(r) == (409, code), (user, r.text)
            assert money(api, user, creator) == before
            assert mine(api, user) == []
        # a subscription in force cannot be bought again
        assert subscribe(api, "gb", "c1").status_code == 201
        before = money(api, "gb", "c1")
        r = subscribe(api, "gb", "c1", "again")
        assert err(r) == (409, "invalid_transition")
        assert r.json()["error"]["details"]["state"] == "active"
        assert money(api, "gb", "c1") == before
        api.assert_clean()


def test_the_post_is_idempotent(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=500)
        first = subscribed(api, "v1", "c1", 100)
        again = subscribe(api, "v1", "c1")  # the same key and body
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first
        assert api.coins("v1") == 400 and api.balance(REVENUE, "COIN") == 100
        r = api.client.post("/v1/subscriptions", json={"creator_id": "c1"}, headers=api.user("v1"))
        assert err(r) == (400, "idempotency_key_required")
        r = subscribe(api, "v1", "c2", first_key := "sub-v1-c1")  # the key, another body
        assert err(r) == (409, "idempotency_key_reused"), first_key
        api.assert_clean()


# --- renewal ------------------------------------------------------------------------------------
def test_renewal_after_a_month_charges_the_current_price(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=500)
        body = subscribed(api, "v1", "c1", 100)
        ticks(api)  # not due yet
        assert api.coins("v1") == 400
        assert set_plan(api, "c1", 120).status_code == 200  # from the next period
        api.clock.advance(MONTH - timedelta(seconds=1))
        ticks(api)
        assert api.coins("v1") == 400 and mine(api, "v1")[0]["renewals"] == 0
        api.clock.advance(timedelta(seconds=1))
        ticks(api)
        renewed = mine(api, "v1")[0]
        assert renewed["id"] == body["id"]
        assert (renewed["state"], renewed["in_force"], renewed["renewals"]) == ("active", True, 1)
        assert renewed["period_start"] == rfc3339(START + MONTH)
        assert renewed["period_end"] == rfc3339(START + 2 * MONTH)
        assert renewed["price"]["amount"] == 120
        assert api.coins("v1") == 280
        assert api.balance(REVENUE, "COIN") == 220
        assert api.diamonds("c1") == (5000 + 6000, 0)
        api.assert_clean()


def test_renewal_run_twice_or_from_two_places_charges_once(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=500)
        subscribed(api, "v1", "c1", 100)
        api.clock.advance(MONTH)
        ctx = api.ctx
        policy = ctx.policies.in_force(ctx.clock.now())
        due = _due(ctx, ctx.clock.now(), 10)
        assert len(due) == 1
        # two processes saw the same due row: both submit its renewal
        commands = [
            RenewSubscription(d.id, d.subscriber_id, d.creator_id, d.period_end, policy=policy)
            for d in due * 2
        ]

        async def both(c: AppContext) -> list[Outcome]:
            return list(await asyncio.gather(*(c.submit(x) for x in commands)))

        outcomes = api.client.portal.call(both, ctx)  # type: ignore[union-attr]
        assert sorted(o.body["outcome"] for o in outcomes) == ["renewed", "skipped"]
        # and the job itself, run again and again
        assert api.client.portal.call(renew_due, ctx)["due"] == 0  # type: ignore[union-attr]
        ticks(api)
        ticks(api)
        assert api.coins("v1") == 300 and api.balance(REVENUE, "COIN") == 200
        assert mine(api, "v1")[0]["renewals"] == 1
        api.assert_clean()


def test_a_failed_renewal_expires_with_nothing_moved(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=150)
        body = subscribed(api, "v1", "c1", 100)
        api.clock.advance(MONTH)
        before = money(api, "v1", "c1")
        ticks(api)
        expired = mine(api, "v1")[0]
        assert (expired["state"], expired["in_force"], expired["renews_at"]) == (
            "expired",
            False,
            None,
        )
        assert expired["period_end"] == rfc3339(START + MONTH) and expired["renewals"] == 0
        assert money(api, "v1", "c1") == before
        # nothing more happens to it
        api.clock.advance(timedelta(minutes=1))
        ticks(api)
        assert mine(api, "v1")[0]["state"] == "expired"
        # topped up, the viewer subscribes again: the same subscription, a fresh period
        api.grant("user:v1:coins", 100, "top-up")
        again = subscribe(api, "v1", "c1", "again")
        assert again.status_code == 201, again.text
        assert again.json()["id"] == body["id"] and again.json()["state"] == "active"
        assert again.json()["period_end"] == rfc3339(START + 2 * MONTH + timedelta(minutes=1))
        assert api.coins("v1") == 50
        api.assert_clean()


def test_a_withdrawn_plan_or_a_frozen_subscriber_expires_at_renewal(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.creator("c2")
        api.viewer("v1", coins=1000)
        subscribed(api, "v1", "c1", 100)
        subscribed(api, "v1", "c2", 100)
        assert (
            api.client.delete("/v1/creator/subscription-plan", headers=api.user("c1")).status_code
            == 204
        )
        api.clock.advance(MONTH)
        ticks(api)
        states = {s["creator_id"]: s["state"] for s in mine(api, "v1")}
        assert states == {"c1": "expired", "c2": "active"}
        assert api.coins("v1") == 700
        api.set_user("v1", frozen=True)
        api.clock.advance(MONTH)
        ticks(api)
        assert {s["state"] for s in mine(api, "v1")} == {"expired"}
        assert api.coins("v1") == 700
        api.assert_clean()


# --- cancellation -------------------------------------------------------------------------------
def test_cancel_runs_to_the_period_end_then_expires(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=500)
        api.viewer("v2", coins=500)
        sub = subscribed(api, "v1", "c1", 100)
        # someone else's subscription (or none) is not found, and nothing changes
        for user, sub_id in (("v2", sub["id"]), ("v1", "999999"), ("v1", "0")):
            assert err(cancel(api, user, sub_id)) == (404, "not_found")
        r = api.client.get(f"/v1/subscriptions/{sub['id']}", headers=api.user("v2"))
        assert err(r) == (404, "not_found")
        assert mine(api, "v2") == []
        api.clock.advance(timedelta(days=3))
        r = cancel(api, "v1", sub["id"])
        assert r.status_code == 200, r.text
        canceled = r.json()
        assert (canceled["state"], canceled["in_force"], canceled["renews_at"]) == (
            "canceled",
            True,
            None,
        )
        assert canceled["canceled_at"] == rfc3339(START + timedelta(days=3))
        assert canceled["period_end"] == sub["period_end"]
        replay = cancel(api, "v1", sub["id"])  # the same key
        assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
        assert err(cancel(api, "v1", sub["id"], "twice")) == (409, "invalid_transition")
        # still in force to the end of the paid period: a subscriber-only live admits them
        live = start_live(api, "c1", subscribers_only=True)
        assert api.watch("v1", live).status_code == 200
        api.clock.advance(MONTH - timedelta(days=3) - timedelta(seconds=1))
        ticks(api)
        assert mine(api, "v1")[0]["state"] == "canceled"
        assert api.gift("v1", live, idem="in-force").status_code == 201
        api.clock.advance(timedelta(seconds=1))
        assert err(api.gift("v1", live, idem="over")) == (409, "subscribers_only")
        ticks(api)
        expired = mine(api, "v1")[0]
        assert (expired["state"], expired["in_force"]) == ("expired", False)
        assert api.coins("v1") == 399  # the first period and the Rose, no renewal
        assert api.balance(REVENUE, "COIN") == 100
        assert err(cancel(api, "v1", sub["id"], "late")) == (409, "invalid_transition")
        api.assert_clean()


# --- subscriber-only lives ----------------------------------------------------------------------
def test_a_subscriber_only_live_admits_only_subscribers(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1", display_name="Cee")
        api.viewer("fan", coins=500, display_name="Fan")
        api.viewer("stranger", coins=500)
        assert set_plan(api, "c1", 100).status_code == 200
        live = start_live(api, "c1", subscribers_only=True)
        view = api.live(live)
        assert view["subscribers_only"] is True
        assert api.events(live)[0]["subscribers_only"] is True
        # a non-subscriber can neither join nor gift, and nothing changes
        before = api.snapshot(live, "stranger")
        r = api.watch("stranger", live)
        assert err(r) == (409, "subscribers_only"), r.text
        assert r.json()["error"]["details"] == {"live_id": live, "creator_id": "c1"}
        assert err(api.gift("stranger", live)) == (409, "subscribers_only")
        assert api.snapshot(live, "stranger") == before
        assert api.live(live)["viewer_count"] == 0 and api.live(live)["unique_viewers"] == 0
        # leaving is never refused; the creator always joins their own live
        assert api.watch("stranger", live, "leave").status_code == 200
        assert api.watch("c1", live).status_code == 200
        # a subscription while the creator is live is an event on their room
        sub = subscribe(api, "fan", "c1")
        assert sub.status_code == 201, sub.text
        event = api.events(live)[-1]
        assert event["type"] == "subscription" and event["seq"] == sub.json()["seq"]
        assert event["subscriber"] == {"id": "fan", "name": "Fan"}
        assert (event["renewal"], event["coins"], event["diamonds"]) == (False, 100, 5000)
        assert event["subscription_id"] == sub.json()["id"]
        assert event["transaction_id"] == sub.json()["transaction_id"]
        assert api.watch("fan", live).status_code == 200
        r = api.gift("fan", live)
        assert r.status_code == 201, r.text
        assert api.live(live)["viewer_count"] == 2
        # an open live is not affected
        api.creator("c2")
        open_ = start_live(api, "c2", subscribers_only=False)
        assert api.live(open_)["subscribers_only"] is False
        assert api.watch("stranger", open_).status_code == 200
        assert api.gift("stranger", open_, idem="open").status_code == 201
        api.assert_clean()


def test_a_gift_in_the_subscriptions_batch_sees_it(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("fan", coins=500)
        assert set_plan(api, "c1", 100).status_code == 200
        live = start_live(api, "c1", subscribers_only=True)
        sub, gift = api.in_one_batch(
            lambda: subscribe(api, "fan", "c1"), lambda: api.gift("fan", live, idem="same-batch")
        )
        assert sub.status_code == 201, sub.text
        if gift.status_code == 201:  # applied after the subscription: it saw it
            assert gift.json()["seq"] > sub.json()["seq"]
            assert api.coins("fan") == 399
        else:  # applied before it: refused, and nothing moved
            assert err(gift) == (409, "subscribers_only")
            assert api.coins("fan") == 400
        assert api.gift("fan", live, idem="after").status_code == 201
        api.assert_clean()


def test_a_renewal_while_live_is_an_event_and_an_expiry_shuts_the_door(
    open_live: OpenLive,
) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("rich", coins=500)
        api.viewer("poor", coins=100)
        assert set_plan(api, "c1", 100).status_code == 200
        assert subscribe(api, "rich", "c1").status_code == 201
        assert subscribe(api, "poor", "c1").status_code == 201
        api.clock.advance(MONTH)
        live = start_live(api, "c1", subscribers_only=True)
        ticks(api)
        renewals = [e for e in api.events(live) if e["type"] == "subscription"]
        assert [(e["subscriber"]["id"], e["renewal"]) for e in renewals] == [("rich", True)]
        assert api.watch("rich", live).status_code == 200
        assert err(api.watch("poor", live)) == (409, "subscribers_only")
        api.assert_clean()


def test_only_users_subscribe_and_read_their_own(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=500)
        assert set_plan(api, "c1", 100).status_code == 200
        r = api.client.post(
            "/v1/subscriptions",
            json={"creator_id": "c1"},
            headers=api.platform() | {"Idempotency-Key": "k"},
        )
        assert err(r) == (403, "forbidden")
        assert api.client.get("/v1/subscriptions", headers=api.admin()).status_code == 403
        r = api.client.get("/v1/subscriptions?creator_id=c1", headers=api.user("v1"))
        assert r.json()["data"] == []
        api.assert_clean()


def test_the_list_pages_with_a_cursor(open_live: OpenLive) -> None:
    """``limit`` and ``cursor`` used to be ignored (the whole list, whatever was asked)."""
    with open_live("seed-002") as api:
        api.viewer("v1", coins=5_000)
        ids = []
        for n in range(5):
            api.creator(f"c{n}")
            ids.append(subscribed(api, "v1", f"c{n}")["id"])
        seen: list[str] = []
        cursor, pages = "", 0
        while True:
            r = api.client.get(f"/v1/subscriptions?limit=2{cursor}", headers=api.user("v1"))
            assert r.status_code == 200, r.text
            page = r.json()
            assert len(page["data"]) <= 2
            seen += [s["id"] for s in page["data"]]
            pages += 1
            if page["next_cursor"] is None:
                break
            cursor = f"&cursor={page['next_cursor']}"
        assert (pages, seen) == (3, ids[::-1])  # newest first, each once
        assert [s["id"] for s in mine(api, "v1")] == ids[::-1]  # the default page holds all
        for bad in ("limit=0", "limit=101", "cursor=garbage", "cursor=-1"):
            r = api.client.get(f"/v1/subscriptions?{bad}", headers=api.user("v1"))
            assert err(r) == (422, "validation_error"), bad
