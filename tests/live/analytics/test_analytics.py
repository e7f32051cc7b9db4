"""Creator and live analytics: the buckets kept by the gift batch equal a recomputation from the
ledger (the gift transactions' postings) and from the scripted joins and leaves; follower growth
from the platform's reports; day buckets in a non-UTC policy time zone; who may read; bad ranges.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import aliased

from giftflow.clock import rfc3339
from giftflow.schema import (
    accounts,
    analytics_gift_minutes,
    follower_series,
    postings,
    transactions,
)
from tests.live.conftest import LiveApi, OpenLive, err, store_version

T0 = datetime(2026, 1, 1, tzinfo=UTC)


# --- the ledger's view ----------------------------------------------------------------------------
@dataclass(frozen=True)
class LedgerGift:
    """One gift transaction as its postings tell it."""

    at: datetime
    live_id: str
    gift_id: str
    count: int
    viewer: str
    recipient: str
    coins: int  # COIN credited to platform:revenue:gifts
    diamonds: int  # DIAMOND credited to the recipient's diamond accounts


def ledger_gifts(api: LiveApi) -> list[LedgerGift]:
    debit, credit = aliased(accounts), aliased(accounts)
    with api.ctx.engine.connect() as conn:
        rows = conn.execute(
            select(
                transactions.c.id,
                transactions.c.created_at,
                transactions.c.meta,
                postings.c.asset,
                postings.c.amount,
                debit.c.path,
                credit.c.path,
            )
            .join(postings, postings.c.txn_id == transactions.c.id)
            .join(debit, debit.c.id == postings.c.debit_account_id)
            .join(credit, credit.c.id == postings.c.credit_account_id)
            .where(transactions.c.kind == "gift")
            .order_by(transactions.c.id, postings.c.seq)
        ).all()
    by_txn: dict[int, dict[str, Any]] = {}
    for txn_id, at, meta, asset, amount, source, destination in rows:
        g = by_txn.setdefault(
            txn_id, {"at": at, "meta": json.loads(meta), "coins": 0, "diamonds": 0}
        )
        if asset == "COIN" and destination == "platform:revenue:gifts":
            g["coins"] += amount
            g["viewer"] = source.split(":")[1]
        elif asset == "DIAMOND" and destination.startswith("creator:"):
            g["diamonds"] += amount
            g["recipient"] = destination.split(":")[1]
    return [
        LedgerGift(
            at=g["at"],
            live_id=g["meta"]["live"],
            gift_id=g["meta"]["gift"],
            count=int(g["meta"]["count"]),
            viewer=g["viewer"],
            recipient=g["recipient"],
            coins=g["coins"],
            diamonds=g["diamonds"],
        )
        for g in by_txn.values()
    ]


def per_minute(gifts: list[LedgerGift]) -> dict[str, tuple[int, int, int]]:
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for g in gifts:
        m = out[rfc3339(g.at.replace(second=0, microsecond=0))]
        m[0] += g.count
        m[1] += g.coins
        m[2] += g.diamonds
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def top_from(gifts: list[LedgerGift]) -> list[tuple[str, int, int]]:
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for g in gifts:
        out[g.gift_id][0] += g.count
        out[g.gift_id][1] += g.coins
    return sorted(((k, v[0], v[1]) for k, v in out.items()), key=lambda t: (-t[2], -t[1], t[0]))


# --- helpers --------------------------------------------------------------------------------------
def creator_analytics(
    api: LiveApi,
    creator: str,
    headers: dict[str, str] | None = None,
    *,
    frm: str | None = None,
    to: str | None = None,
    bucket: str | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    """``GET /v1/creators/{creator}/analytics`` (a platform key unless ``headers``)."""
    query = dict(params or {})
    for name, value in (("from", frm), ("to", to), ("bucket", bucket)):
        if value is not None:
            query[name] = value
    r: httpx.Response = api.client.get(
        f"/v1/creators/{creator}/analytics", params=query, headers=headers or api.platform()
    )
    return r


def ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def at(api: LiveApi, when: datetime) -> None:
    api.clock.set(when)


def sent(r: httpx.Response) -> None:
    assert r.status_code == 201, r.text


def joined(r: httpx.Response) -> None:
    assert r.status_code == 200, r.text


# --- the scripted live ----------------------------------------------------------------------------
def test_a_scripted_live_matches_the_ledger(open_live: OpenLive) -> None:
    """Gifts at chosen times across minutes and an hour boundary, some in one batch; joins and
    leaves. Every bucket equals the ledger's postings regrouped, the watch time the script's."""
    with open_live("seed-002") as api:
        api.creator("c1")
        for v in ("v1", "v2", "v3"):
            api.viewer(v, coins=1500)
        at(api, T0.replace(hour=9, minute=58, second=0))
        live = api.start("c1")
        joins = {"v1": api.clock.now()}
        joined(api.watch("v1", live))
        at(api, T0.replace(hour=9, minute=58, second=10))
        joins["v2"] = api.clock.now()
        joined(api.watch("v2", live))
        at(api, T0.replace(hour=9, minute=58, second=20))
        sent(api.gift("v1", live, "rose", 3, idem="g1"))
        at(api, T0.replace(hour=9, minute=58, second=50))
        sent(api.gift("v2", live, "panda", 1, idem="g2"))
        at(api, T0.replace(hour=9, minute=59, second=30))
        sent(api.gift("v1", live, "rose", 1, idem="g3"))
        at(api, T0.replace(hour=9, minute=59, second=40))
        joins["v3"] = api.clock.now()
        joined(api.watch("v3", live))
        at(api, T0.replace(hour=10, minute=0, second=5))
        sent(api.gift("v3", live, "rose", 2, idem="g4"))
        at(api, T0.replace(hour=10, minute=1, second=0))
        # three gifts in one batch, and one refused in the same batch (not enough coins)
        replies = api.in_one_batch(
            lambda: api.gift("v1", live, "panda", 2, idem="g5"),
            lambda: api.gift("v2", live, "rose", 1, idem="g6"),
            lambda: api.gift("v3", live, "fireworks", 1, idem="g7"),
            lambda: api.gift("v3", live, "fireworks", 1, idem="g8"),
        )
        assert sorted(r.status_code for r in replies) == [201, 201, 201, 409]
        assert [r.json()["error"]["code"] for r in replies if r.status_code == 409] == [
            "insufficient_funds"
        ]
        at(api, T0.replace(hour=10, minute=2, second=0))
        joined(api.watch("v2", live, "leave"))
        watched = {"v2": int((api.clock.now() - joins["v2"]).total_seconds())}
        at(api, T0.replace(hour=10, minute=4, second=30))

        # --- the live, while on air
        r = api.client.get(f"/v1/lives/{live}/analytics", headers=api.user("c1"))
        body = ok(r)
        ledger = ledger_gifts(api)
        assert len(ledger) == 7
        minutes = per_minute(ledger)
        assert {m["minute"]: (m["gifts"], m["coins"], m["diamonds"]) for m in body["minutes"]} == (
            minutes
        )
        assert [m["minute"] for m in body["minutes"]] == sorted(minutes)
        assert body["minutes_truncated"] is False
        peak = sorted(minutes.items(), key=lambda kv: (-kv[1][1], kv[0]))[0]
        assert body["peak_minute"] == {
            "minute": peak[0],
            "gifts": peak[1][0],
            "coins": peak[1][1],
            "diamonds": peak[1][2],
        }
        totals = body["totals"]
        assert totals["gifts"] == sum(g.count for g in ledger)
        assert totals["coins"] == sum(g.coins for g in ledger)
        assert totals["diamonds"] == sum(g.diamonds for g in ledger)
        assert totals["unique_gifters"] == len({g.viewer for g in ledger}) == 3
        assert totals["active_minutes"] == len(minutes)
        view = api.live(live)  # the live's own counters agree
        assert view["gifts_count"] == totals["gifts"]
        assert view["coins"]["amount"] == totals["coins"]
        assert view["diamonds"]["amount"] == totals["diamonds"]
        assert [(t["gift_id"], t["count"], t["coins"]) for t in body["top_gifts"]] == top_from(
            ledger
        )
        assert body["top_gifts"][0]["name"] == "Fireworks"
        now = api.clock.now()
        viewers = body["viewers"]
        assert viewers["viewer_count"] == 2 and viewers["peak_viewers"] == 3
        assert viewers["unique_viewers"] == 3 and viewers["lives"] == 1
        assert viewers["watch_seconds"] == watched["v2"] == 230
        running = sum(int((now - joins[v]).total_seconds()) for v in ("v1", "v3"))
        assert viewers["open_watch_seconds"] == running

        # --- the creator, by minute: one bucket per minute, empty ones included
        body = ok(
            creator_analytics(
                api,
                "c1",
                bucket="minute",
                frm="2026-01-01T09:57:00Z",
                to="2026-01-01T10:03:00Z",
            )
        )
        assert (body["from"], body["to"]) == ("2026-01-01T09:57:00Z", "2026-01-01T10:03:00Z")
        assert len(body["buckets"]) == 6
        for b in body["buckets"]:
            assert (b["gifts"], b["coins"], b["diamonds"]) == minutes.get(b["start"], (0, 0, 0))
            assert b["unique_gifters"] is None
        assert body["totals"]["unique_gifters"] == 3  # the UTC hours 09 and 10
        assert body["totals"]["unique_gifters_exact"] is False

        # --- by hour: gifters per hour are exact
        body = ok(
            creator_analytics(
                api,
                "c1",
                bucket="hour",
                frm="2026-01-01T09:00:00Z",
                to="2026-01-01T11:00:00Z",
            )
        )
        nine = [g for g in ledger if g.at.hour == 9]
        ten = [g for g in ledger if g.at.hour == 10]
        assert [
            (b["start"], b["gifts"], b["coins"], b["diamonds"], b["unique_gifters"])
            for b in body["buckets"]
        ] == [
            (
                "2026-01-01T09:00:00Z",
                sum(g.count for g in nine),
                sum(g.coins for g in nine),
                sum(g.diamonds for g in nine),
                len({g.viewer for g in nine}),
            ),
            (
                "2026-01-01T10:00:00Z",
                sum(g.count for g in ten),
                sum(g.coins for g in ten),
                sum(g.diamonds for g in ten),
                len({g.viewer for g in ten}),
            ),
        ]
        assert (
            body["buckets"][0]["unique_gifters"] == 2 and body["buckets"][1]["unique_gifters"] == 3
        )
        assert body["totals"] == {
            "gifts": sum(g.count for g in ledger),
            "coins": sum(g.coins for g in ledger),
            "diamonds": sum(g.diamonds for g in ledger),
            "unique_gifters": 3,
            "unique_gifters_exact": True,
        }
        assert [(t["gift_id"], t["count"], t["coins"]) for t in body["top_gifts"]] == top_from(
            ledger
        )
        assert body["viewers"]["lives"] == 1 and body["viewers"]["peak_viewers"] == 3

        # --- the live ends: every session is closed, the figures stay
        at(api, T0.replace(hour=10, minute=5, second=0))
        assert api.end(live, "c1").status_code == 200
        end = api.clock.now()
        body = ok(api.client.get(f"/v1/lives/{live}/analytics", headers=api.platform()))
        closed = watched["v2"] + sum(int((end - joins[v]).total_seconds()) for v in ("v1", "v3"))
        assert body["state"] == "ended" and body["ended_at"] == rfc3339(end)
        assert body["viewers"]["watch_seconds"] == closed
        assert body["viewers"]["open_watch_seconds"] == 0
        assert body["viewers"]["viewer_count"] == 0 and body["viewers"]["peak_viewers"] == 3
        assert body["viewers"]["watch_seconds"] == api.live(live)["watch_seconds"]
        api.assert_clean()


def test_one_upsert_per_batch_adds_to_stored_buckets(open_live: OpenLive) -> None:
    """Gifts of two batches in one minute add up in the one row of that minute and gift."""
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=100)
        api.viewer("v2", coins=100)
        at(api, T0.replace(hour=12, minute=0, second=1))
        live = api.start("c1")
        api.in_one_batch(
            lambda: api.gift("v1", live, "rose", 1, idem="a"),
            lambda: api.gift("v2", live, "rose", 2, idem="b"),
        )
        at(api, T0.replace(hour=12, minute=0, second=40))
        sent(api.gift("v1", live, "panda", 1, idem="c"))
        sent(api.gift("v2", live, "rose", 1, idem="d"))
        t = analytics_gift_minutes.c
        with api.ctx.engine.connect() as conn:
            rows = conn.execute(
                select(
                    t.live_id, t.minute, t.recipient_id, t.gift_id, t.gifts, t.coins, t.diamonds
                ).order_by(t.gift_id)
            ).all()
        minute = T0.replace(hour=12)
        assert [tuple(r) for r in rows] == [
            (int(live), minute, "c1", "panda", 1, 5, 250),
            (int(live), minute, "c1", "rose", 4, 4, 200),
        ]


# --- followers ------------------------------------------------------------------------------------
def test_follower_growth_from_the_platforms_reports(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1", followers=1000)  # created with a count: the first point
        api.clock.advance(timedelta(hours=2))
        api.set_user("c1", follower_count=1200)
        api.clock.advance(timedelta(minutes=30))
        api.set_user("c1", follower_count=1200)  # unchanged: no point
        api.set_user("c1", display_name="Cee")  # no count: no point
        api.clock.advance(timedelta(hours=2, minutes=30))  # 05:00
        api.set_user("c1", follower_count=1500)
        api.clock.advance(timedelta(hours=21))  # next day 02:00
        api.set_user("c1", follower_count=1400)
        with api.ctx.engine.connect() as conn:
            series = conn.execute(
                select(follower_series.c.at, follower_series.c.follower_count)
                .where(follower_series.c.user_id == "c1")
                .order_by(follower_series.c.at)
            ).all()
        assert [(rfc3339(a), n) for a, n in series] == [
            ("2026-01-01T00:00:00Z", 1000),
            ("2026-01-01T02:00:00Z", 1200),
            ("2026-01-01T05:00:00Z", 1500),
            ("2026-01-02T02:00:00Z", 1400),
        ]
        body = ok(
            creator_analytics(
                api,
                "c1",
                bucket="hour",
                frm="2026-01-01T01:00:00Z",
                to="2026-01-01T06:00:00Z",
            )
        )
        assert [b["followers"] for b in body["buckets"]] == [1000, 1200, 1200, 1200, 1500]
        f = body["followers"]
        assert (f["start"], f["end"], f["change"]) == (1000, 1500, 500)
        assert f["points"] == [
            {"at": "2026-01-01T02:00:00Z", "follower_count": 1200},
            {"at": "2026-01-01T05:00:00Z", "follower_count": 1500},
        ]
        body = ok(creator_analytics(api, "c1", bucket="day", frm="2026-01-01", to="2026-01-02"))
        assert [b["followers"] for b in body["buckets"]] == [1500, 1400]
        f = body["followers"]
        assert (f["start"], f["end"], f["change"]) == (1000, 1400, 400)  # 1000 at the start
        assert [p["follower_count"] for p in f["points"]] == [1500, 1400]  # the last of each day
        # nothing before the range's start: growth is counted from its first report
        body = ok(
            creator_analytics(
                api,
                "c1",
                bucket="hour",
                frm="2025-12-31T23:00:00Z",
                to="2026-01-01T03:00:00Z",
            )
        )
        f = body["followers"]
        assert (f["start"], f["end"], f["change"]) == (None, 1200, 200)
        assert [b["followers"] for b in body["buckets"]] == [None, 1000, 1000, 1200]
        # a range before any report
        body = ok(
            creator_analytics(
                api,
                "c1",
                bucket="hour",
                frm="2025-12-31T20:00:00Z",
                to="2025-12-31T22:00:00Z",
            )
        )
        f = body["followers"]
        assert (f["start"], f["end"], f["change"], f["points"]) == (None, None, None, [])
        assert [b["followers"] for b in body["buckets"]] == [None, None]


def test_a_platform_report_in_the_same_instant_keeps_the_last(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1", followers=10)
        api.set_user("c1", follower_count=20)  # same frozen instant
        with api.ctx.engine.connect() as conn:
            rows = conn.execute(select(follower_series.c.follower_count)).all()
        assert [r[0] for r in rows] == [20]


def test_a_lives_follower_growth(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1", followers=100)
        api.clock.advance(timedelta(minutes=5))
        live = api.start("c1")
        api.clock.advance(timedelta(minutes=10))
        api.set_user("c1", follower_count=180)
        api.clock.advance(timedelta(minutes=10))
        assert api.end(live, "c1").status_code == 200
        api.clock.advance(timedelta(minutes=10))
        api.set_user("c1", follower_count=500)  # after the live: not its growth
        body = ok(api.client.get(f"/v1/lives/{live}/analytics", headers=api.user("c1")))
        assert body["followers"] == {"start": 100, "end": 180, "change": 80}
        assert body["minutes"] == [] and body["peak_minute"] is None
        assert body["totals"]["unique_gifters"] == 0 and body["top_gifts"] == []


# --- the policy's time zone -----------------------------------------------------------------------
def test_day_buckets_follow_the_policy_time_zone(open_live: OpenLive, database_url: str) -> None:
    """New York (UTC−5 in January): 04:30Z on Jan 2 is still Jan 1 there, 05:30Z is Jan 2."""
    store_version(database_url, "seed-002", timezone="America/New_York")
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=100)
        api.viewer("v2", coins=100)
        live = api.start("c1")
        at(api, datetime(2026, 1, 2, 4, 30, tzinfo=UTC))
        sent(api.gift("v1", live, "rose", 2, idem="a"))
        at(api, datetime(2026, 1, 2, 5, 30, tzinfo=UTC))
        sent(api.gift("v2", live, "panda", 1, idem="b"))
        sent(api.gift("v1", live, "rose", 1, idem="c"))
        body = ok(creator_analytics(api, "c1", bucket="day", frm="2026-01-01", to="2026-01-02"))
        assert body["timezone"] == "America/New_York"
        assert (body["from"], body["to"]) == ("2026-01-01T05:00:00Z", "2026-01-03T05:00:00Z")
        assert [
            (b["date"], b["start"], b["gifts"], b["coins"], b["diamonds"], b["unique_gifters"])
            for b in body["buckets"]
        ] == [
            ("2026-01-01", "2026-01-01T05:00:00Z", 2, 2, 100, 1),
            ("2026-01-02", "2026-01-02T05:00:00Z", 2, 6, 300, 2),
        ]
        assert body["totals"]["unique_gifters"] == 2 and body["totals"]["unique_gifters_exact"]
        # the gifts of each local day: the day the gift was sent on, in New York
        one = ok(creator_analytics(api, "c1", bucket="day", frm="2026-01-01", to="2026-01-01"))
        assert [(t["gift_id"], t["count"], t["coins"]) for t in one["top_gifts"]] == [
            ("rose", 2, 2)
        ]
        assert (one["top_gifts_from"], one["top_gifts_to"]) == ("2026-01-01", "2026-01-01")
        two = ok(creator_analytics(api, "c1", bucket="day", frm="2026-01-02", to="2026-01-02"))
        assert [(t["gift_id"], t["count"], t["coins"]) for t in two["top_gifts"]] == [
            ("panda", 1, 5),
            ("rose", 1, 1),
        ]
        # an offset written into the query unencoded ('+' read as a space) is still understood
        r = api.client.get(
            "/v1/creators/c1/analytics?bucket=hour&from=2026-01-01T23:00:00-05:00"
            "&to=2026-01-02T06:00:00+00:00",
            headers=api.platform(),
        )
        body = ok(r)
        assert (body["from"], body["to"]) == ("2026-01-02T04:00:00Z", "2026-01-02T06:00:00Z")
        assert [b["gifts"] for b in body["buckets"]] == [2, 2]


def test_day_buckets_across_a_dst_change(open_live: OpenLive, database_url: str) -> None:
    """New York springs forward on 2026-03-08: that day has 23 hours, and 04:30Z on Mar 9 is
    already Mar 9 (00:30 EDT), where a fixed UTC−5 would say Mar 8."""
    store_version(database_url, "seed-002", timezone="America/New_York")
    with open_live("seed-002") as api:
        at(api, datetime(2026, 3, 7, 12, tzinfo=UTC))
        api.creator("c1")
        api.viewer("v1", coins=100)
        live = api.start("c1")
        at(api, datetime(2026, 3, 9, 4, 30, tzinfo=UTC))
        sent(api.gift("v1", live, "rose", 1, idem="a"))
        at(api, datetime(2026, 3, 9, 3, 30, tzinfo=UTC))  # Mar 8, 23:30 EDT
        sent(api.gift("v1", live, "rose", 2, idem="b"))
        body = ok(creator_analytics(api, "c1", bucket="day", frm="2026-03-07", to="2026-03-09"))
        assert [(b["date"], b["start"], b["end"], b["gifts"]) for b in body["buckets"]] == [
            ("2026-03-07", "2026-03-07T05:00:00Z", "2026-03-08T05:00:00Z", 0),
            ("2026-03-08", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z", 2),
            ("2026-03-09", "2026-03-09T04:00:00Z", "2026-03-10T04:00:00Z", 1),
        ]
        assert [b["unique_gifters"] for b in body["buckets"]] == [0, 1, 1]


def test_a_cohosts_gifts_are_the_cohosts(open_live: OpenLive) -> None:
    """The creator scope follows the recipient: a co-host chosen in someone else's live counts
    those gifts as theirs; the live counts every gift."""
    with open_live("seed-002") as api:
        api.creator("c1")
        api.creator("c2")
        api.viewer("v1", coins=100)
        live = api.start("c1")
        r = api.client.post(
            f"/v1/lives/{live}/cohosts",
            json={"user_id": "c2"},
            headers=api.user("c1") | {"Idempotency-Key": "add-c2"},
        )
        assert r.status_code == 201, r.text
        r = api.client.post(
            f"/v1/lives/{live}/gifts",
            json={"gift_id": "panda", "count": 1, "recipient": "c2"},
            headers=api.user("v1") | {"Idempotency-Key": "to-c2"},
        )
        sent(r)
        sent(api.gift("v1", live, "rose", 1, idem="to-c1"))
        ledger = ledger_gifts(api)
        for creator in ("c1", "c2"):
            mine = [g for g in ledger if g.recipient == creator]
            body = ok(creator_analytics(api, creator, bucket="hour"))
            t = body["totals"]
            assert (t["gifts"], t["coins"], t["diamonds"], t["unique_gifters"]) == (
                sum(g.count for g in mine),
                sum(g.coins for g in mine),
                sum(g.diamonds for g in mine),
                1,
            )
            assert [x["gift_id"] for x in body["top_gifts"]] == [g.gift_id for g in mine]
        assert ok(creator_analytics(api, "c2"))["viewers"]["lives"] == 0  # hosts none
        body = ok(api.client.get(f"/v1/lives/{live}/analytics", headers=api.user("c1")))
        assert (body["totals"]["coins"], body["totals"]["diamonds"]) == (6, 300)
        # the co-host is not the live's creator: the live's analytics are not theirs to read
        r = api.client.get(f"/v1/lives/{live}/analytics", headers=api.user("c2"))
        assert err(r) == (404, "not_found")


def test_a_half_hour_zone_flags_day_gifters_as_approximate(
    open_live: OpenLive, database_url: str
) -> None:
    """India is UTC+5:30: a local day starts in the middle of a UTC hour."""
    store_version(database_url, "seed-002", timezone="Asia/Kolkata")
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=100)
        live = api.start("c1")
        at(api, datetime(2026, 1, 1, 12, tzinfo=UTC))
        sent(api.gift("v1", live, "rose", 1, idem="a"))
        body = ok(creator_analytics(api, "c1", bucket="day", frm="2026-01-01", to="2026-01-01"))
        assert body["from"] == "2025-12-31T18:30:00Z"
        assert [(b["date"], b["gifts"], b["unique_gifters"]) for b in body["buckets"]] == [
            ("2026-01-01", 1, 1)
        ]
        assert body["totals"]["unique_gifters_exact"] is False
        body = ok(
            creator_analytics(
                api, "c1", bucket="hour", frm="2026-01-01T12:00:00Z", to="2026-01-01T13:00:00Z"
            )
        )
        assert body["totals"]["unique_gifters_exact"] is True


# --- who may read ---------------------------------------------------------------------------------
def test_only_the_creator_and_platform_keys_read_analytics(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.creator("c2")
        api.viewer("v1", coins=10)
        live = api.start("c1")
        sent(api.gift("v1", live, "rose", 1))
        for headers in (api.user("c1"), api.platform(), api.admin()):
            assert creator_analytics(api, "c1", headers).status_code == 200
            r = api.client.get(f"/v1/lives/{live}/analytics", headers=headers)
            assert r.status_code == 200, r.text
        for other in ("v1", "c2"):
            assert err(creator_analytics(api, "c1", api.user(other))) == (404, "not_found")
            r = api.client.get(f"/v1/lives/{live}/analytics", headers=api.user(other))
            assert err(r) == (404, "not_found")
        # unknown creators and lives look the same
        assert err(creator_analytics(api, "nobody")) == (404, "not_found")
        for missing in ("999999", "abc"):
            r = api.client.get(f"/v1/lives/{missing}/analytics", headers=api.platform())
            assert err(r) == (404, "not_found")
        r = api.client.get("/v1/creators/c1/analytics")
        assert r.status_code == 401


# --- bad ranges -----------------------------------------------------------------------------------
def test_bad_ranges_are_422(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        bad: list[dict[str, str]] = [
            {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},  # backwards
            {"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},  # empty
            {"from": "yesterday"},
            {"from": "2026-01-01T00:00:00"},  # no offset
            {"to": "2026-13-01"},
            {"from": "0001-01-01T00:00:00Z"},
            {"bucket": "week"},
            {"bucket": "minute", "from": "2026-01-01T00:00:00Z", "to": "2026-01-02T02:00:00Z"},
            {"bucket": "day", "from": "2020-01-01", "to": "2026-01-01"},
        ]
        for params in bad:
            r = creator_analytics(api, "c1", params=params)
            assert err(r) == (422, "validation_error"), (params, r.text)
        r = creator_analytics(
            api,
            "c1",
            bucket="minute",
            frm="2026-01-01T00:00:00Z",
            to="2026-01-02T02:00:00Z",
        )
        assert r.json()["error"]["details"] == {"buckets": 1560, "maximum": 1500}
        # exactly the maximum is fine
        r = creator_analytics(
            api,
            "c1",
            bucket="minute",
            frm="2026-01-01T00:00:00Z",
            to="2026-01-02T01:00:00Z",
        )
        assert len(ok(r)["buckets"]) == 1500
        # the defaults: the last day by hour, the current hour included
        body = ok(creator_analytics(api, "c1"))
        assert body["bucket"] == "hour" and len(body["buckets"]) == 24
        assert (body["from"], body["to"]) == ("2025-12-31T01:00:00Z", "2026-01-01T01:00:00Z")
        body = ok(creator_analytics(api, "c1", bucket="day"))
        assert (body["from"], body["to"]) == ("2025-12-03T00:00:00Z", "2026-01-02T00:00:00Z")
        assert len(body["buckets"]) == 30 and body["top_gifts_to"] == "2026-01-01"
        body = ok(creator_analytics(api, "c1", bucket="minute", to="2026-01-01T00:30:00Z"))
        assert (body["from"], len(body["buckets"])) == ("2025-12-31T23:30:00Z", 60)
        body = ok(creator_analytics(api, "c1", bucket="minute", frm="2026-01-01T00:00:00Z"))
        assert (body["to"], len(body["buckets"])) == ("2026-01-01T00:01:00Z", 1)
