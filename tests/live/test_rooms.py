"""Live rooms through the HTTP API: starting, ending, viewers, and where diamonds land."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from giftflow.errors import WriterOverloaded
from giftflow.ledger.idempotency import Outcome
from giftflow.schema import diamond_holds, live_combos, live_viewers
from tests.live.conftest import LiveApi, OpenLive, err


def test_a_live_starts_with_live_started_at_seq_1_and_is_listed(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1", display_name="Cee")
        r = api.client.post("/v1/lives", json={"title": "hello"}, headers=api.user("c1"))
        assert r.status_code == 201, r.text
        live = r.json()
        assert live["creator_id"] == "c1" and live["state"] == "active"
        assert live["title"] == "hello" and live["ended_at"] is None
        assert live["eligible"] is True and live["ineligible_reason"] is None
        assert live["policy_version"].startswith("seed-002@")
        assert live["last_seq"] == 1 and live["gifts_count"] == 0
        assert live["events_url"] == f"/v1/lives/{live['id']}/events"
        events = api.events(live["id"])
        assert [(e["seq"], e["type"]) for e in events] == [(1, "live_started")]
        assert events[0]["creator_id"] == "c1" and events[0]["title"] == "hello"
        assert events[0]["live_id"] == live["id"]
        listed = api.client.get("/v1/lives?state=active", headers=api.platform()).json()
        assert [x["id"] for x in listed["data"]] == [live["id"]]
        ended = api.client.get("/v1/lives?state=ended", headers=api.platform()).json()
        assert ended["data"] == []
        mine = api.client.get("/v1/lives?creator_id=c1", headers=api.user("c1")).json()
        assert [x["id"] for x in mine["data"]] == [live["id"]]


def test_a_second_live_is_refused_until_the_first_ends(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        first = api.start("c1")
        r = api.client.post("/v1/lives", json={}, headers=api.user("c1"))
        assert err(r) == (409, "live_already_active")
        assert r.json()["error"]["details"]["live_id"] == first
        assert api.end(first, "c1").status_code == 200
        second = api.start("c1")
        assert second != first and api.live(second)["last_seq"] == 1
        assert api.live(first)["state"] == "ended"


def test_parallel_starts_by_one_creator_give_one_live(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")

        def post(_: int) -> httpx.Response:
            r: httpx.Response = api.client.post("/v1/lives", json={}, headers=api.user("c1"))
            return r

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, range(8)))
        codes = sorted(r.status_code for r in answers)
        assert codes == [201] + [409] * 7, [r.text for r in answers]
        lives = api.client.get("/v1/lives?creator_id=c1", headers=api.platform()).json()["data"]
        assert len(lives) == 1 and lives[0]["state"] == "active"


def test_a_platform_key_starts_a_live_for_a_creator(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.creator("c2")
        r = api.client.post("/v1/lives", json={}, headers=api.platform())
        assert err(r) == (422, "validation_error")
        r = api.client.post("/v1/lives", json={"creator_id": "c1"}, headers=api.user("c2"))
        assert err(r) == (422, "validation_error")  # a user starts only their own live
        r = api.client.post("/v1/lives", json={"creator_id": "c1"}, headers=api.platform())
        assert r.status_code == 201, r.text
        assert r.json()["creator_id"] == "c1"
        r = api.client.post("/v1/lives", json={"creator_id": "c1"}, headers=api.admin())
        assert err(r) == (409, "live_already_active")  # an admin key may start one too
        r = api.client.post("/v1/lives", json={"creator_id": "c2"}, headers=api.admin())
        assert r.status_code == 201 and r.json()["creator_id"] == "c2"
        # a user who was never created cannot go live
        r = api.client.post("/v1/lives", json={}, headers=api.user("ghost"))
        assert err(r) == (409, "creator_not_eligible")
        assert r.json()["error"]["details"]["reason"] == "user_not_found"
        assert r.json()["error"]["message"] == (
            "The creator cannot receive gifts: the creator is not a user of the platform."
        )


def test_ending_a_live_writes_live_ended_with_the_totals(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.creator("c2")
        api.viewer("v1", coins=100)
        live = api.start("c1")
        assert api.gift("v1", live, "panda", 2).status_code == 201
        assert api.gift("v1", live, "rose", 3).status_code == 201
        assert api.watch("v1", live).status_code == 200
        seq = api.live(live)["last_seq"]
        # someone else's token cannot end it; nothing is written
        r = api.end(live, "c2")
        assert err(r) == (403, "forbidden")
        r = api.end(live, "v1")
        assert err(r) == (403, "forbidden")
        assert api.live(live)["state"] == "active" and api.live(live)["last_seq"] == seq
        api.clock.advance(timedelta(minutes=5))
        r = api.end(live, "c1")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["state"] == "ended" and body["ended_at"] == "2026-01-01T00:05:00Z"
        assert body["viewer_count"] == 0 and body["peak_viewers"] == 1
        # the Panda and Rose streaks end (the combo loop may already have ended them after the
        # clock moved), then live_ended
        assert body["last_seq"] == seq + 3
        events = api.events(live)
        assert [e["type"] for e in events[-3:]] == ["combo", "combo", "live_ended"]
        assert {(e["gift"]["id"], e["combo_count"]) for e in events[-3:-1]} == {
            ("panda", 2),
            ("rose", 3),
        }
        last = events[-1]
        assert last["seq"] == body["last_seq"]
        assert {k: last[k] for k in ("gifts_count", "coins_total", "diamonds_total")} == {
            "gifts_count": 5,
            "coins_total": 13,
            "diamonds_total": 650,
        }
        assert last["viewer_count"] == 0 and last["peak_viewers"] == 1
        assert body["gifts_count"] == 5 and body["coins"]["amount"] == 13
        assert body["diamonds"]["amount"] == 650 and body["watch_seconds"] == 300
        # ending again, or joining, is refused and writes nothing
        assert err(api.end(live, "c1")) == (409, "live_not_active")
        assert err(api.watch("v1", live)) == (409, "live_not_active")
        assert api.live(live)["last_seq"] == body["last_seq"]
        api.assert_clean()


def test_an_admin_key_ends_any_live_and_the_platform_key_cannot(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        live = api.start("c1")
        r = api.client.post(f"/v1/lives/{live}/end", headers=api.platform())
        assert r.status_code == 403
        assert api.live(live)["state"] == "active"
        r = api.client.post(f"/v1/lives/{live}/end", headers=api.admin())
        assert r.status_code == 200 and r.json()["state"] == "ended"
        assert api.events(live)[-1]["type"] == "live_ended"


def test_unknown_lives_are_404_everywhere(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=10)
        real = api.start("c1")
        arabic = "".join(chr(0x0660 + int(d)) for d in real)  # the same digits, not ASCII
        odd = ("999999", "0", "abc", "-1", "99999999999999999999", "\u00b2", arabic)
        for n, live in enumerate(odd):
            r = api.client.get(f"/v1/lives/{live}", headers=api.platform())
            assert err(r) == (404, "not_found"), live
            assert err(api.end(live, "c1")) == (404, "not_found")
            assert err(api.watch("v1", live)) == (404, "not_found")
            assert err(api.gift("v1", live, idem=f"k{n}")) == (404, "not_found")
        assert api.coins("v1") == 10
        assert api.live(real)["state"] == "active" and api.live(real)["last_seq"] == 1


def test_viewers_join_and_leave(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        for v in ("v1", "v2", "v3"):
            api.viewer(v)
        live = api.start("c1")
        r = api.watch("v1", live)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "live_id": live,
            "user_id": "v1",
            "watching": True,
            "watch_seconds": 0,
            "viewer_count": 1,
            "seq": 2,
        }
        assert api.watch("v2", live).json()["viewer_count"] == 2
        # joining twice changes nothing and writes no event
        again = api.watch("v1", live).json()
        assert (again["viewer_count"], again["seq"], again["watching"]) == (2, None, True)
        assert api.live(live)["last_seq"] == 3
        api.clock.advance(timedelta(seconds=90))
        left = api.watch("v1", live, "leave").json()
        assert (left["viewer_count"], left["watching"], left["watch_seconds"]) == (1, False, 90)
        assert left["seq"] == 4
        # leaving twice, or without having joined, changes nothing
        assert api.watch("v1", live, "leave").json()["seq"] is None
        assert api.watch("v3", live, "leave").json()["viewer_count"] == 1
        view = api.live(live)
        assert (view["viewer_count"], view["peak_viewers"]) == (1, 2)
        assert (view["unique_viewers"], view["watch_seconds"]) == (2, 90)
        # v1 comes back for 10 s: watch time adds up
        api.watch("v1", live)
        api.clock.advance(timedelta(seconds=10))
        assert api.watch("v1", live, "leave").json()["watch_seconds"] == 100
        counts = [
            (e["viewer_count"], e["peak_viewers"])
            for e in api.events(live)
            if e["type"] == "viewer_count"
        ]
        assert counts == [(1, 1), (2, 2), (1, 2), (2, 2), (1, 2)]
        # the live ends with v2 still watching: their time is closed too (100 s in all)
        assert api.end(live, "c1").status_code == 200
        view = api.live(live)
        assert view["viewer_count"] == 0 and view["peak_viewers"] == 2
        assert view["watch_seconds"] == 100 + 100
        r = api.client.post(
            f"/v1/lives/{live}/viewers", json={"action": "stay"}, headers=api.user("v1")
        )
        assert err(r) == (422, "validation_error")


def test_standard_holds_diamonds_for_seven_days(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        api.creator("c1")
        api.viewer("v1", coins=200)
        live = api.start("c1")
        assert api.gift("v1", live, "panda", 3).status_code == 201
        assert api.gift("v1", live, "rose", 10).status_code == 201
        assert api.diamonds("c1") == (0, 750 + 500)
        api.clock.advance(timedelta(days=1))
        r = api.gift("v1", live, "fireworks", idem="fw")
        assert err(r) == (409, "insufficient_funds")
        assert api.gift("v1", live, "rose", 1, idem="next-day").status_code == 201
        assert api.diamonds("c1") == (0, 1300)
        with api.ctx.engine.connect() as conn:
            holds = conn.execute(
                select(
                    diamond_holds.c.creator_id,
                    diamond_holds.c.release_on,
                    diamond_holds.c.hundredths,
                ).order_by(diamond_holds.c.release_on)
            ).all()
        assert [tuple(h) for h in holds] == [
            ("c1", date(2026, 1, 8), 1250),
            ("c1", date(2026, 1, 9), 50),
        ]
        assert api.coins("v1") == 200 - 15 - 10 - 1
        api.assert_clean()


def test_seed_profiles_credit_diamonds_at_once(open_live: OpenLive) -> None:
    with open_live("seed-001") as api:
        api.creator("c1")
        api.viewer("v1", coins=10)
        live = api.start("c1")
        assert api.gift("v1", live, "panda").status_code == 201
        assert api.diamonds("c1") == (250, 0)
        with api.ctx.engine.connect() as conn:
            assert conn.execute(select(diamond_holds)).all() == []


def test_a_gift_and_the_end_of_its_live_in_one_batch(open_live: OpenLive) -> None:
    """Whatever order the writer applies them in, no streak stays open on an ended live and
    live_ended is the room's last event."""
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=10)
        live = api.start("c1")
        gift, end = api.in_one_batch(
            lambda: api.gift("v1", live, "rose", idem="g1"), lambda: api.end(live, "c1")
        )
        assert end.status_code == 200, end.text
        events = api.events(live)
        assert events[-1]["type"] == "live_ended"
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        with api.ctx.engine.connect() as conn:
            assert conn.execute(select(live_combos)).all() == []
        if gift.status_code == 201:  # the gift came first: its streak ended with the live
            assert [e["type"] for e in events[1:]] == ["gift", "combo", "live_ended"]
            assert events[2]["combo_end"] is True and events[2]["combo_count"] == 1
            assert api.coins("v1") == 9
        else:
            assert err(gift) == (409, "live_not_active")
            assert [e["type"] for e in events[1:]] == ["live_ended"]
            assert api.coins("v1") == 10
        # the loop finds nothing left to close later
        api.clock.advance(timedelta(minutes=1))
        api.close_combos()
        assert api.events(live)[-1]["type"] == "live_ended"
        api.assert_clean()


def test_a_join_and_the_end_of_the_live_in_one_batch(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1")
        api.viewer("v2")
        live = api.start("c1")
        join, end = api.in_one_batch(lambda: api.watch("v1", live), lambda: api.end(live, "c1"))
        assert end.status_code == 200, end.text
        assert api.events(live)[-1]["type"] == "live_ended"
        with api.ctx.engine.connect() as conn:
            watching = conn.execute(
                select(live_viewers.c.user_id).where(live_viewers.c.joined_at.is_not(None))
            ).all()
        assert watching == []  # nobody is left watching an ended live
        assert api.live(live)["viewer_count"] == 0
        assert join.status_code in (200, 409), join.text


def test_a_leave_after_the_end_in_one_batch_changes_nothing(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1")
        live = api.start("c1")
        assert api.watch("v1", live).status_code == 200
        api.clock.advance(timedelta(seconds=30))
        api.in_one_batch(lambda: api.end(live, "c1"), lambda: api.watch("v1", live, "leave"))
        view = api.live(live)
        assert view["state"] == "ended" and view["viewer_count"] == 0
        assert view["watch_seconds"] == 30
        assert api.events(live)[-1]["type"] == "live_ended"


def test_lives_of_two_databases_in_one_process(
    open_live: OpenLive, sqlite_template: Path, tmp_path: Path
) -> None:
    """Live ids restart in every database: nothing about one database's live 1 may be kept
    for another's."""
    other = tmp_path / "other.db"
    shutil.copy(sqlite_template, other)

    def first_live(api: LiveApi, creator: str) -> str:
        api.creator(creator)
        api.viewer("v1", coins=10)
        live = api.start(creator)
        r = api.gift("v1", live, "panda")
        assert r.status_code == 201, r.text
        assert api.diamonds(creator) == (250, 0)
        assert api.end(live, creator).status_code == 200
        return live

    with open_live("seed-002") as api:
        one = first_live(api, "alice")
    with open_live("seed-002", url=f"sqlite:///{other}") as api:
        two = first_live(api, "bob")
    assert one == two


def test_a_live_names_its_creator_for_viewers(open_live: OpenLive) -> None:
    """Viewers cannot read other users' profiles; the live says whose it is."""
    with open_live("seed-002") as api:
        api.creator("named", display_name="Ava Lumen")
        api.creator("plain")
        api.viewer("fan")
        named, plain = api.start("named"), api.start("plain")
        for live_id, name in ((named, "Ava Lumen"), (plain, "plain")):
            r = api.client.get(f"/v1/lives/{live_id}", headers=api.user("fan"))
            assert r.status_code == 200, r.text
            assert r.json()["creator_name"] == name
        listed = api.client.get("/v1/lives?state=active", headers=api.user("fan")).json()["data"]
        assert {live["creator_name"] for live in listed} == {"Ava Lumen", "plain"}


def test_a_busy_writer_answers_ending_and_joining_with_503_and_retry_after(
    open_live: OpenLive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """These routes answered the writer's outcome by hand and dropped its Retry-After."""
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1")
        live = api.start("c1")
        real = api.ctx.submit

        async def busy(command: Any, idem: Any = None) -> Outcome:
            return Outcome.from_error(WriterOverloaded(queue_limit=1))

        monkeypatch.setattr(api.ctx, "submit", busy)
        ended = api.end(live, "c1")
        joined = api.client.post(
            f"/v1/lives/{live}/viewers", json={"action": "join"}, headers=api.user("v1")
        )
        for r in (ended, joined):
            assert err(r)[0] == 503 and r.headers["Retry-After"] == "1", r.text
        monkeypatch.setattr(api.ctx, "submit", real)
        assert api.live(live)["state"] == "active"
        assert api.end(live, "c1").status_code == 200
