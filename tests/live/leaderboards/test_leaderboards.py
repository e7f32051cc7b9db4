"""Leaderboards through the HTTP API: every score equals a recomputation from the ledger's
postings after a few hundred random gifts, ties go to who reached the score first, days and
weeks follow the policy's time zone, ranks of ``/me``, and the room's ``leaderboard`` snapshots
(after a tick, at most every ``snapshot_seconds``, only when the top changed, never per gift)."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from giftflow.ledger.commands import Command
from giftflow.ledger.idempotency import Outcome
from giftflow.live.engagement import run_ticks
from giftflow.live.gifting.commands import GiftOrder, SendGift
from giftflow.live.leaderboards.commands import SnapshotLeaderboards
from giftflow.live.leaderboards.repository import period_start, rolled_through
from giftflow.money.policy import LeaderboardRules
from giftflow.schema import (
    accounts,
    creator_scores,
    live_supporters,
    postings,
    supporter_scores,
    transactions,
)
from tests.batching import commands_in_one_batch
from tests.live.conftest import LiveApi, OpenLive, err, store_version

ZONE = "America/Los_Angeles"  # UTC-8 in winter: local days start at 08:00Z
PERIODS = ("day", "week", "month", "all")


def tick(api: LiveApi) -> None:
    api.client.portal.call(run_ticks, api.ctx)  # type: ignore[union-attr]


def get(api: LiveApi, url: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    r = api.client.get(url, params=params, headers=headers or api.platform())
    assert r.status_code == 200, r.text
    return r.json()


def lines(body: dict[str, Any], role: str = "user") -> list[tuple[str, int]]:
    return [(e[role]["id"], e["coins"]) for e in body["data"]]


def one_batch(api: LiveApi, *commands: Command) -> list[Outcome]:
    """Apply ``commands`` in one batch, in this order (the writer is held while they queue)."""
    return commands_in_one_batch(api.ctx.writer, commands)


def gift_command(api: LiveApi, live: str, user_id: str, gift_id: str, count: int) -> SendGift:
    policy = api.ctx.policies.in_force(api.clock.now())
    return SendGift(GiftOrder(int(live), user_id, gift_id, count), policy=policy)


# --- the ledger's view ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LedgerGift:
    txn_id: int
    at: datetime
    live: str
    viewer: str
    recipient: str
    coins: int
    count: int


VIEWER = re.compile(r"^user:([^:]+):coins(:.*)?$")
CREATOR = re.compile(r"^creator:([^:]+):diamonds(:pending)?$")


def ledger_gifts(api: LiveApi) -> list[LedgerGift]:
    """Every committed gift, from the ledger alone: the COIN postings out of the viewer's coin
    accounts and the DIAMOND posting into the recipient's diamonds."""
    debit, credit = accounts.alias("d"), accounts.alias("c")
    with api.ctx.engine.connect() as conn:
        headers = {
            r.id: r
            for r in conn.execute(
                select(transactions.c.id, transactions.c.meta, transactions.c.created_at).where(
                    transactions.c.kind == "gift"
                )
            )
        }
        moves = conn.execute(
            select(
                postings.c.txn_id, postings.c.asset, postings.c.amount, debit.c.path, credit.c.path
            )
            .join(debit, debit.c.id == postings.c.debit_account_id)
            .join(credit, credit.c.id == postings.c.credit_account_id)
            .where(postings.c.txn_id.in_(list(headers)))
        ).all()
    coins: dict[int, int] = {}
    viewer: dict[int, str] = {}
    recipient: dict[int, str] = {}
    for txn_id, asset, amount, source, destination in moves:
        if asset == "COIN":
            found = VIEWER.match(source)
            assert found, source
            viewer[txn_id] = found.group(1)
            coins[txn_id] = coins.get(txn_id, 0) + amount
        elif asset == "DIAMOND":
            found = CREATOR.match(destination)
            assert found, destination
            recipient[txn_id] = found.group(1)
    out = []
    for txn_id, header in sorted(headers.items()):
        meta = json.loads(header.meta)
        out.append(
            LedgerGift(
                txn_id,
                header.created_at,
                meta["live"],
                viewer[txn_id],
                recipient[txn_id],
                coins[txn_id],
                int(meta["count"]),
            )
        )
    return out


def local(at: datetime) -> date:
    return at.astimezone(ZoneInfo(ZONE)).date()


Score = dict[str, Any]  # coins, gifts, last (at, txn)


def recompute(
    gifts: list[LedgerGift],
) -> tuple[dict[Any, Score], dict[Any, Score], dict[Any, Score]]:
    live: dict[Any, Score] = {}
    supporters: dict[Any, Score] = {}
    creators: dict[Any, Score] = {}

    def add(board: dict[Any, Score], key: Any, g: LedgerGift) -> None:
        s = board.setdefault(key, {"coins": 0, "gifts": 0, "last": (g.at, g.txn_id)})
        s["coins"] += g.coins
        s["gifts"] += g.count
        s["last"] = max(s["last"], (g.at, g.txn_id))

    for g in gifts:
        add(live, (g.live, g.viewer), g)
        for period in PERIODS:
            start = period_start(period, local(g.at))
            add(supporters, (g.recipient, period, start, g.viewer), g)
            add(creators, (period, start, g.recipient), g)
    return live, supporters, creators


def ranked(board: dict[Any, Score], *prefix: Any) -> list[tuple[str, int]]:
    """The expected board of the keys starting with ``prefix`` (the last part of a key is who
    is ranked): coins descending, then who reached the score first."""
    chosen = [(k, s) for k, s in board.items() if k[: len(prefix)] == prefix]
    chosen.sort(key=lambda ks: (-ks[1]["coins"], ks[1]["last"]))
    return [(k[-1], s["coins"]) for k, s in chosen]


def stored(api: LiveApi) -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any]]:
    with api.ctx.engine.connect() as conn:
        live = {
            (str(r.live_id), r.user_id): (r.coins, r.gifts, r.reached_at, r.reached_seq)
            for r in conn.execute(select(live_supporters))
        }
        supporters = {
            (r.creator_id, r.period, r.period_start, r.user_id): (
                r.coins,
                r.reached_at,
                r.reached_seq,
            )
            for r in conn.execute(select(supporter_scores))
        }
        creators = {
            (r.period, r.period_start, r.creator_id): (r.coins, r.reached_at, r.reached_seq)
            for r in conn.execute(select(creator_scores))
        }
    return live, supporters, creators


def check_snapshots(events: list[dict[str, Any]], top: int, every: timedelta) -> int:
    """Every ``leaderboard`` event shows exactly the gifts before it (top ``top`` by coins,
    then who reached them first), differs from the previous one and comes at least ``every``
    after it. Returns how many there were."""
    scores: dict[str, list[int]] = {}  # viewer -> [coins, gifts, seq reached]
    previous: tuple[datetime, list[Any]] | None = None
    count = 0
    for e in events:
        if e["type"] == "gift":
            s = scores.setdefault(e["sender"]["id"], [0, 0, 0])
            s[0] += e["coins"]
            s[1] += e["count"]
            s[2] = e["seq"]
        elif e["type"] == "leaderboard":
            count += 1
            expected = sorted(scores.items(), key=lambda kv: (-kv[1][0], kv[1][2]))[:top]
            shown = [(x["rank"], x["user"]["id"], x["coins"], x["gifts"]) for x in e["top"]]
            assert shown == [(i, w, s[0], s[1]) for i, (w, s) in enumerate(expected, 1)], e
            at = datetime.fromisoformat(e["at"].replace("Z", "+00:00"))
            if previous is not None:
                assert at - previous[0] >= every
                assert [x[1:3] for x in shown] != previous[1]
            previous = (at, [x[1:3] for x in shown])
    return count


# --- tests ---------------------------------------------------------------------------------------
def test_boards_equal_a_recomputation_from_the_ledger(
    open_live: OpenLive, database_url: str
) -> None:
    store_version(database_url, "seed-002", timezone=ZONE)
    rng = random.Random(20260101)
    with open_live("seed-002") as api:
        creators = ["c1", "c2", "c3"]
        viewers = [f"v{i:02d}" for i in range(14)]
        for c in creators:
            api.creator(c)
        for v in viewers:
            api.viewer(v, coins=200_000, display_name=f"Viewer {v}")
        lives = {c: api.start(c) for c in creators}
        sent = 0
        while sent < 300:
            size = rng.choice([1, 1, 2, 5, 8])
            calls = []
            for _ in range(size):
                viewer, creator = rng.choice(viewers), rng.choice(creators)
                gift = rng.choice(["rose", "rose", "panda", "panda", "fireworks"])
                count = 1 if gift == "fireworks" else rng.randint(1, 5)
                idem = f"g{sent}"
                sent += 1
                calls.append(
                    lambda v=viewer, lv=lives[creator], g=gift, n=count, k=idem: api.gift(
                        v, lv, g, n, idem=k
                    )
                )
            results = api.in_one_batch(*calls) if size > 1 else [calls[0]()]
            assert all(r.status_code == 201 for r in results), [r.text for r in results]
            step = rng.choice([0, 0, 1, 3, 6, 1800, 4 * 3600, 9 * 3600])
            api.clock.advance(timedelta(seconds=step))
            if rng.random() < 0.3:
                tick(api)
        gifts = ledger_gifts(api)
        assert len(gifts) == sent
        live, supporters, creators_ = recompute(gifts)
        assert len({local(g.at) for g in gifts}) > 7  # the run crossed days and weeks
        # every stored score, in every table, is the ledger's sum; reached_* is the last gift's
        seq_of = {
            int(e["transaction_id"]): e["seq"]
            for lv in lives.values()
            for e in api.events(lv)
            if e["type"] == "gift"
        }
        got_live, got_supporters, got_creators = stored(api)
        assert got_live == {
            k: (s["coins"], s["gifts"], s["last"][0], seq_of[s["last"][1]]) for k, s in live.items()
        }
        # day rows are stored; the all-time rows hold the days before the rollup's `through`
        # (rolled up by the ticks while the clock moved); week and month boards sum day rows
        with api.ctx.engine.connect() as conn:
            through = rolled_through(conn)
        assert through > date(1970, 1, 1) and len({local(g.at) >= through for g in gifts}) == 2
        _, rolled_supporters, rolled_creators = recompute(
            [g for g in gifts if local(g.at) < through]
        )

        def score(s: Score) -> tuple[int, datetime, int]:
            return (s["coins"], s["last"][0], s["last"][1])

        assert got_supporters == {
            **{k: score(s) for k, s in supporters.items() if k[1] == "day"},
            **{k: score(s) for k, s in rolled_supporters.items() if k[1] == "all"},
        }
        assert got_creators == {
            **{k: score(s) for k, s in creators_.items() if k[0] == "day"},
            **{k: score(s) for k, s in rolled_creators.items() if k[0] == "all"},
        }
        # the endpoints: order by coins, ties by who reached first; current periods
        today = local(api.clock.now())
        for c, lv in lives.items():
            body = get(api, f"/v1/lives/{lv}/leaderboard", limit=100)
            assert lines(body) == ranked(live, lv)
            for period in PERIODS:
                start = period_start(period, today)
                body = get(api, f"/v1/creators/{c}/leaderboard", period=period, limit=100)
                assert (body["period_start"], body["time_zone"]) == (start.isoformat(), ZONE)
                expected = ranked(supporters, c, period, start)
                assert lines(body) == expected
                for rank, (viewer, coins) in enumerate(expected, start=1):
                    me = get(
                        api,
                        f"/v1/creators/{c}/leaderboard/me",
                        api.user(viewer),
                        period=period,
                    )
                    assert (me["rank"], me["coins"]) == (rank, coins)
        for period in PERIODS:
            start = period_start(period, today)
            body = get(api, "/v1/leaderboards/creators", period=period)
            expected = ranked(creators_, period, start)
            assert lines(body, "creator") == expected
        taken = 0
        for lv in lives.values():
            expected = ranked(live, lv)
            for rank, (viewer, coins) in enumerate(expected, start=1):
                me = get(api, f"/v1/lives/{lv}/leaderboard/me", api.user(viewer))
                assert (me["rank"], me["coins"]) == (rank, coins)
            # the room's snapshots, taken by the engagement loop while the clock moved
            taken += check_snapshots(api.events(lv), top=10, every=timedelta(seconds=5))
        assert taken > 0
        api.assert_clean()


def test_ties_go_to_who_reached_the_score_first(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.creator("c2")
        for v in ("v1", "v2", "v3", "v4"):
            api.viewer(v, coins=100)
        live = api.start("c1")
        live2 = api.start("c2")
        assert api.gift("v1", live, "panda", idem="a").status_code == 201  # 5 at t0
        api.clock.advance(timedelta(seconds=1))
        assert api.gift("v2", live, "rose", 5, idem="b").status_code == 201  # 5 at t0+1
        board = get(api, f"/v1/lives/{live}/leaderboard")
        assert lines(board) == [("v1", 5), ("v2", 5)]
        api.clock.advance(timedelta(seconds=1))
        assert api.gift("v2", live, "rose", idem="c").status_code == 201  # v2: 6 first
        api.clock.advance(timedelta(seconds=1))
        assert api.gift("v1", live, "rose", idem="d").status_code == 201  # v1: 6 later
        # the same instant: the earlier gift (event, transaction) reached it first
        assert api.gift("v3", live, "rose", 6, idem="e").status_code == 201
        expected = [("v2", 6), ("v1", 6), ("v3", 6)]
        assert lines(get(api, f"/v1/lives/{live}/leaderboard")) == expected
        assert lines(get(api, "/v1/creators/c1/leaderboard", period="day")) == expected
        assert [x["reached_at"] for x in get(api, f"/v1/lives/{live}/leaderboard")["data"]] == [
            "2026-01-01T00:00:02Z",
            "2026-01-01T00:00:03Z",
            "2026-01-01T00:00:03Z",
        ]
        for rank, (viewer, _) in enumerate(expected, start=1):
            me = get(api, f"/v1/lives/{live}/leaderboard/me", api.user(viewer))
            assert (me["rank"], me["coins"], me["user"]["id"]) == (rank, 6, viewer)
            me = get(api, "/v1/creators/c1/leaderboard/me", api.user(viewer), period="week")
            assert (me["rank"], me["coins"]) == (rank, 6)
        me = get(api, f"/v1/lives/{live}/leaderboard/me", api.user("v4"))  # no gift yet
        assert (me["rank"], me["coins"], me["gifts"], me["reached_at"]) == (None, 0, 0, None)
        assert get(api, f"/v1/lives/{live}/leaderboard", limit=2)["data"][1]["rank"] == 2
        # creators: c2 reaches c1's 18 coins later, then passes it
        assert api.gift("v4", live2, "rose", 18, idem="f").status_code == 201
        board = get(api, "/v1/leaderboards/creators", period="all")
        assert lines(board, "creator") == [("c1", 18), ("c2", 18)]
        assert api.gift("v4", live2, "rose", idem="g").status_code == 201
        assert lines(get(api, "/v1/leaderboards/creators"), "creator") == [("c2", 19), ("c1", 18)]


def test_days_and_weeks_of_the_policy_time_zone(open_live: OpenLive, database_url: str) -> None:
    store_version(database_url, "seed-002", timezone=ZONE)
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=1000)
        live = api.start("c1")

        def at(when: str, coins: int, idem: str) -> None:
            api.clock.set(datetime.fromisoformat(when).replace(tzinfo=UTC))
            assert api.gift("v1", live, "rose", coins, idem=idem).status_code == 201

        def board(period: str) -> tuple[str, list[tuple[str, int]]]:
            body = get(api, "/v1/creators/c1/leaderboard", period=period)
            creators = get(api, "/v1/leaderboards/creators", period=period)
            assert creators["period_start"] == body["period_start"]
            assert lines(creators, "creator") == [("c1", c) for _, c in lines(body)]
            return body["period_start"], lines(body)

        # 2026-01-01T00:00Z is Wednesday 31 December, 16:00 in Los Angeles
        at("2026-01-01T00:00:00", 10, "a")
        assert board("day") == ("2025-12-31", [("v1", 10)])
        assert board("week") == ("2025-12-29", [("v1", 10)])
        assert board("month") == ("2025-12-01", [("v1", 10)])
        at("2026-01-01T07:59:59", 1, "b")  # 23:59:59, still the 31st
        assert board("day") == ("2025-12-31", [("v1", 11)])
        at("2026-01-01T08:00:00", 2, "c")  # midnight: a new day, month and year
        assert board("day") == ("2026-01-01", [("v1", 2)])
        assert board("week") == ("2025-12-29", [("v1", 13)])
        assert board("month") == ("2026-01-01", [("v1", 2)])
        at("2026-01-05T07:59:59", 3, "d")  # Sunday 4 January 23:59:59: the same ISO week
        assert board("week") == ("2025-12-29", [("v1", 16)])
        at("2026-01-05T08:00:00", 4, "e")  # Monday 5 January, 00:00: a new week
        assert board("week") == ("2026-01-05", [("v1", 4)])
        assert board("day") == ("2026-01-05", [("v1", 4)])
        assert board("month") == ("2026-01-01", [("v1", 9)])
        assert board("all") == ("1970-01-01", [("v1", 20)])
        me = get(api, "/v1/creators/c1/leaderboard/me", api.user("v1"), period="week")
        assert (me["rank"], me["coins"], me["period_start"]) == (1, 4, "2026-01-05")
        # the period is the current one: a quiet day shows an empty board
        api.clock.advance(timedelta(days=1))
        assert board("day") == ("2026-01-06", [])
        me = get(api, "/v1/creators/c1/leaderboard/me", api.user("v1"), period="day")
        assert (me["rank"], me["coins"]) == (None, 0)


def test_snapshots_come_after_a_tick_not_per_gift(open_live: OpenLive, database_url: str) -> None:
    store_version(
        database_url, "seed-002", leaderboards=LeaderboardRules(top=3, snapshot_seconds=5)
    )
    with open_live("seed-002") as api:
        api.creator("c1")
        viewers = [f"v{i}" for i in range(5)]
        for v in viewers:
            api.viewer(v, coins=1000)
        live = api.start("c1")
        every = timedelta(seconds=5)

        def snapshots() -> list[dict[str, Any]]:
            return [e for e in api.events(live) if e["type"] == "leaderboard"]

        tick(api)
        for i in range(40):
            r = api.gift(viewers[i % 5], live, "rose", 1 + i % 3, idem=f"a{i}")
            assert r.status_code == 201
        tick(api)
        # the first snapshot comes an interval after the live started, whatever the gifts
        assert snapshots() == []
        api.clock.advance(every)
        tick(api)
        after_interval = snapshots()
        assert len(after_interval) == 1  # one, not one per gift
        board = get(api, f"/v1/lives/{live}/leaderboard", limit=3)
        assert [(x["user"]["id"], x["coins"]) for x in after_interval[-1]["top"]] == lines(board)
        assert len(after_interval[-1]["top"]) == 3
        # nothing changed: no new snapshot, however long
        api.clock.advance(every * 3)
        tick(api)
        assert len(snapshots()) == len(after_interval)
        # a change within the interval waits for it
        assert api.gift("v4", live, "panda", 20, idem="big").status_code == 201
        tick(api)
        assert len(snapshots()) == len(after_interval) + 1  # due: the last was long ago
        assert snapshots()[-1]["top"][0]["user"]["id"] == "v4"
        assert api.gift("v3", live, "panda", 40, idem="bigger").status_code == 201
        tick(api)
        assert len(snapshots()) == len(after_interval) + 1
        api.clock.advance(every)
        tick(api)
        assert len(snapshots()) == len(after_interval) + 2
        assert snapshots()[-1]["top"][0]["user"] == {"id": "v3", "name": "v3"}
        check_snapshots(api.events(live), top=3, every=every)
        # a change below the top does not make a snapshot
        before = len(snapshots())
        api.clock.advance(every)
        assert api.gift("v0", live, "rose", idem="small").status_code == 201
        tick(api)
        me = get(api, f"/v1/lives/{live}/leaderboard/me", api.user("v0"))
        assert (me["rank"], me["coins"]) == (4, 17)  # as many as v2, reached later
        assert len(snapshots()) == before
        # an ended live gets no snapshot after live_ended
        api.clock.advance(every)
        assert api.gift("v1", live, "panda", 50, idem="last").status_code == 201
        assert api.end(live, "c1").status_code == 200
        tick(api)
        assert api.events(live)[-1]["type"] == "live_ended"


def test_a_snapshot_sees_the_gifts_before_it_in_its_batch(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        for v in ("v1", "v2", "v3"):
            api.viewer(v, coins=1000)
        live = api.start("c1")
        assert api.gift("v1", live, "panda", idem="a").status_code == 201
        snap = SnapshotLeaderboards([int(live)], top=10, every=timedelta(0))
        outcomes = one_batch(
            api,
            gift_command(api, live, "v2", "panda", 2),
            gift_command(api, live, "v1", "rose", 1),
            snap,
            gift_command(api, live, "v3", "panda", 3),
            SnapshotLeaderboards([int(live)], top=10, every=timedelta(0)),
        )
        assert all(o.ok for o in outcomes), [o.body for o in outcomes]
        assert outcomes[2].body["appended"] == {live: outcomes[1].body["seq"] + 1}
        shots = [e for e in api.events(live) if e["type"] == "leaderboard"]
        tops = [[(x["user"]["id"], x["coins"], x["gifts"]) for x in e["top"]] for e in shots]
        assert tops[-2:] == [
            [("v2", 10, 2), ("v1", 6, 2)],
            [("v3", 15, 3), ("v2", 10, 2), ("v1", 6, 2)],
        ]
        check_snapshots(api.events(live), top=10, every=timedelta(0))
        # the same top again in the next batch: no event
        assert one_batch(api, snap)[0].body["appended"] == {}


def test_endpoints_refuse_what_they_cannot_answer(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=10)
        live = api.start("c1")
        assert api.gift("v1", live, idem="a").status_code == 201
        h = api.user("v1")
        assert err(api.client.get("/v1/lives/999/leaderboard", headers=h)) == (404, "not_found")
        assert err(api.client.get("/v1/lives/x/leaderboard/me", headers=h)) == (404, "not_found")
        r = api.client.get("/v1/creators/nobody/leaderboard", headers=h)
        assert err(r) == (404, "not_found")
        r = api.client.get("/v1/creators/nobody/leaderboard/me", headers=h)
        assert err(r) == (404, "not_found")
        r = api.client.get("/v1/creators/c1/leaderboard", params={"period": "year"}, headers=h)
        assert err(r) == (422, "validation_error")
        r = api.client.get(f"/v1/lives/{live}/leaderboard", params={"limit": 101}, headers=h)
        assert err(r) == (422, "validation_error")
        r = api.client.get("/v1/leaderboards/creators", params={"limit": 0}, headers=h)
        assert err(r) == (422, "validation_error")
        # boards are for any caller; a rank is the caller's own (a user token)
        assert api.client.get(f"/v1/lives/{live}/leaderboard").status_code == 401
        r = api.client.get(f"/v1/lives/{live}/leaderboard/me", headers=api.platform())
        assert r.status_code == 403
        r = api.client.get("/v1/creators/c1/leaderboard/me", headers=api.platform())
        assert r.status_code == 403
        mine = get(api, f"/v1/lives/{live}/leaderboard/me", h)
        assert mine == {
            "object": "leaderboard_rank",
            "board": "live",
            "live_id": live,
            "user": {"id": "v1", "name": "v1"},
            "rank": 1,
            "coins": 1,
            "gifts": 1,
            "reached_at": "2026-01-01T00:00:00Z",
        }
        # the creator's own rank among their supporters: none
        me = get(api, "/v1/creators/c1/leaderboard/me", api.user("c1"))
        assert (me["rank"], me["coins"], me["period"]) == (None, 0, "all")
