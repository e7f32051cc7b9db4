"""The earnings hold: gifts under ``standard`` (7 days) land in the hold and its bucket, the
earnings view shows when they become available, and the release job moves each bucket exactly
once, on its day in the policy's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from giftflow.money.policy import load_profile
from tests.earnings.balances.conftest import (
    OpenLive,
    buckets,
    earnings,
    grant_diamonds,
    kinds,
    open_live,
    release,
    store_version,
    withdrawal,
)

__all__ = ["open_live"]


def test_gifts_wait_in_the_hold_until_their_release_day(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        api.creator("c1")
        api.viewer("v1", coins=100)
        live = api.start("c1")
        assert api.gift("v1", live, "rose", 10, idem="g1").status_code == 201  # 5.00 diamonds
        assert api.diamonds("c1") == (0, 500)
        assert buckets(api, "c1") == {date(2026, 1, 8): 500}
        view = earnings(api, "c1")
        assert view["policy_version"] == "standard@1" and view["hold_days"] == 7
        assert view["available"]["diamonds"]["amount"] == 0
        assert view["held"]["diamonds"] == {"asset": "DIAMOND", "amount": 500, "display": "5.00"}
        # $0.005 a diamond: 5.00 diamonds are worth 2 whole cents (4.00 of them), 1.00 stays
        value = view["held"]["value"]
        assert (value["gross"]["amount"], value["net"]["amount"], value["fee"]["amount"]) == (
            2,
            2,
            0,
        )
        assert (value["convertible"]["amount"], value["remainder"]["amount"]) == (400, 100)
        assert view["releases"] == [
            {
                "release_on": "2026-01-08",
                "releases_at": "2026-01-08T00:00:00Z",
                "diamonds": {"asset": "DIAMOND", "amount": 500, "display": "5.00"},
                "value": value,
            }
        ]
        assert view["unscheduled"]["amount"] == 0
        assert view["lifetime"]["earned"]["amount"] == 500

        # six days on nothing is due; the seventh releases the bucket, once
        api.clock.advance(timedelta(days=6, hours=23, minutes=59))
        assert release(api) == 0
        assert api.diamonds("c1") == (0, 500)
        api.clock.advance(timedelta(minutes=1))
        assert release(api) == 1
        assert release(api) == 0
        assert api.diamonds("c1") == (500, 0)
        assert buckets(api, "c1") == {}
        assert kinds(api, "hold_release") == 1
        view = earnings(api, "c1")
        assert view["releases"] == [] and view["held"]["diamonds"]["amount"] == 0
        assert view["lifetime"]["released"]["amount"] == 500
        assert view["lifetime"]["earned"]["amount"] == 500
        api.assert_clean()


def test_each_release_date_is_its_own_bucket(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        api.creator("c1")
        api.creator("c2")
        api.viewer("v1", coins=100)
        first, second = api.start("c1"), api.start("c2")
        assert api.gift("v1", first, "rose", 2, idem="a").status_code == 201
        assert api.gift("v1", second, "panda", 1, idem="b").status_code == 201
        api.clock.advance(timedelta(days=2))
        assert api.gift("v1", first, "rose", 4, idem="c").status_code == 201
        assert api.gift("v1", first, "rose", 6, idem="d").status_code == 201
        assert buckets(api, "c1") == {date(2026, 1, 8): 100, date(2026, 1, 10): 500}
        view = earnings(api, "c1")
        assert [(r["release_on"], r["diamonds"]["amount"]) for r in view["releases"]] == [
            ("2026-01-08", 100),
            ("2026-01-10", 500),
        ]
        api.clock.advance(timedelta(days=5))  # 2026-01-08: the first buckets of both creators
        assert release(api) == 2
        assert api.diamonds("c1") == (100, 500)
        assert api.diamonds("c2") == (250, 0)
        api.clock.advance(timedelta(days=10))  # a late run releases what is due, not more
        assert release(api) == 1
        assert api.diamonds("c1") == (600, 0)
        assert kinds(api, "hold_release") == 3
        api.assert_clean()


def test_no_hold_under_a_seed_profile(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=10)
        live = api.start("c1")
        assert api.gift("v1", live, "rose", 3).status_code == 201
        assert api.diamonds("c1") == (150, 0)
        view = earnings(api, "c1")
        assert view["hold_days"] == 0 and view["releases"] == []
        assert view["available"]["diamonds"]["amount"] == 150
        assert release(api) == 0


def test_release_day_follows_the_policy_time_zone(open_live: OpenLive, database_url: str) -> None:
    store_version(database_url, "standard", timezone="America/New_York")
    with open_live("standard") as api:
        api.creator("c1")
        api.viewer("v1", coins=10)
        live = api.start("c1")
        # 2026-01-01T00:00Z is still 31 December in New York: released on 7 January, local
        assert api.gift("v1", live, "rose", 1).status_code == 201
        view = earnings(api, "c1")
        assert [(r["release_on"], r["releases_at"]) for r in view["releases"]] == [
            ("2026-01-07", "2026-01-07T05:00:00Z")
        ]
        api.clock.set(datetime(2026, 1, 7, 4, 59, tzinfo=UTC))
        assert release(api) == 0
        api.clock.set(datetime(2026, 1, 7, 5, 0, tzinfo=UTC))
        assert release(api) == 1
        assert api.diamonds("c1") == (50, 0)


def test_the_view_values_diamonds_at_the_policy_in_force(open_live: OpenLive) -> None:
    """SPEC §10 example 3's numbers: 10,000 diamonds are worth $50 and pay $25 after seed 000's
    50% cash-out fee."""
    with open_live("seed-000") as api:
        api.creator("c1")
        grant_diamonds(api, "c1", 10_000_00 + 1_99, "g")
        view = earnings(api, "c1")
        value = view["available"]["value"]
        assert view["currency"] == "USD"
        assert value["gross"] == {"asset": "USD", "amount": 5000, "display": "50.00"}
        assert (value["fee"]["amount"], value["net"]["amount"]) == (2500, 2500)
        assert (value["convertible"]["amount"], value["remainder"]["amount"]) == (10_000_00, 199)
        limits = view["withdrawal_limits"]
        assert limits["minimum"] is None and limits["maximum_per_day"] is None
        assert limits["left_today"] is None and limits["left_this_week"] is None


def test_withdrawal_limits_left_today_and_this_week(open_live: OpenLive, database_url: str) -> None:
    standard = load_profile("standard")
    cashout = standard.cashout.model_copy(update={"maximum_per_week_minor": 300_000})
    store_version(database_url, "standard", cashout=cashout)
    with open_live("standard") as api:
        api.creator("c1")
        # 2026-01-01 is a Thursday: its ISO week runs from Monday 29 December to 4 January
        withdrawal(api, 1, "c1", date(2026, 1, 1), 30_000)
        withdrawal(api, 2, "c1", date(2026, 1, 1), 50_000, state="failed")  # never counted
        withdrawal(api, 3, "c1", date(2025, 12, 29), 20_000, state="returned")
        withdrawal(api, 4, "c1", date(2025, 12, 28), 70_000)  # the week before
        withdrawal(api, 5, "other", date(2026, 1, 1), 90_000)  # someone else's
        limits = earnings(api, "c1")["withdrawal_limits"]
        assert (limits["day"], limits["week_starts_on"]) == ("2026-01-01", "2025-12-29")
        assert limits["minimum"]["amount"] == 100
        assert limits["maximum_per_day"]["amount"] == 100_000
        assert limits["maximum_per_week"]["amount"] == 300_000
        assert limits["used_today"]["amount"] == 30_000
        assert limits["used_this_week"]["amount"] == 50_000
        assert limits["left_today"] == {"asset": "USD", "amount": 70_000, "display": "700.00"}
        assert limits["left_this_week"]["amount"] == 250_000
        lifetime = earnings(api, "c1")["lifetime"]  # returned and failed ones came back
        assert (lifetime["withdrawals"], lifetime["withdrawn"]["amount"]) == (2, 100_000 * 200)
        api.clock.advance(timedelta(days=4))  # Monday 5 January: a new week, a new day
        limits = earnings(api, "c1")["withdrawal_limits"]
        assert limits["used_this_week"]["amount"] == 0
        assert limits["left_this_week"]["amount"] == 300_000


def test_who_may_read_earnings(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        api.creator("c1")
        api.creator("c2")
        assert api.client.get("/v1/creator/earnings", headers=api.admin()).status_code == 403
        for headers in (api.admin(), api.platform(), api.user("c1")):
            r = api.client.get("/v1/creators/c1/earnings", headers=headers)
            assert r.status_code == 200 and r.json()["creator_id"] == "c1"
        assert api.client.get("/v1/creators/c1/earnings", headers=api.user("c2")).status_code == 404
        assert (
            api.client.get("/v1/creators/nobody/earnings", headers=api.admin()).status_code == 404
        )
        r = api.client.get("/v1/creator/earnings", headers=api.user("ghost"))
        assert r.status_code == 404


def test_held_diamonds_in_no_bucket_are_unscheduled(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        api.creator("c1")
        api.grant("creator:c1:diamonds:pending", 700, "op", asset="DIAMOND")
        view = earnings(api, "c1")
        assert view["held"]["diamonds"]["amount"] == 700
        assert view["releases"] == [] and view["unscheduled"]["amount"] == 700
        api.clock.advance(timedelta(days=30))
        assert release(api) == 0  # the job only moves what a bucket schedules
        assert api.diamonds("c1") == (0, 700)
