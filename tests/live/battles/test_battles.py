"""Battles (LIVE Match): invitations, scores inside the window, gift-only mode, the multiplier
window, the result at the stored deadline, a late gift, a restart, authorization."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from giftflow.context import AppContext
from giftflow.live import engagement
from giftflow.live.battles.commands import EndBattle
from giftflow.live.engagement import run_ticks
from tests.live.conftest import LiveApi, OpenLive, err

MS = timedelta(milliseconds=1)


# --- helpers -----------------------------------------------------------------------------------
def create(api: LiveApi, by: str, live: str, *opponents: str, **terms: Any) -> httpx.Response:
    body = {"live_id": live, "opponents": list(opponents), **terms}
    r: httpx.Response = api.client.post(
        "/v1/battles",
        json=body,
        headers=api.user(by) | {"Idempotency-Key": f"battle-{by}-{sorted(body.items())}"},
    )
    return r


def act(api: LiveApi, by: str, battle: str, action: str, idem: str = "") -> httpx.Response:
    r: httpx.Response = api.client.post(
        f"/v1/battles/{battle}/{action}",
        headers=api.user(by) | {"Idempotency-Key": idem or f"{action}-{by}-{battle}"},
    )
    return r


def get(api: LiveApi, battle: str) -> dict[str, Any]:
    r = api.client.get(f"/v1/battles/{battle}", headers=api.user("v1"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ticks(api: LiveApi) -> None:
    api.client.portal.call(run_ticks, api.ctx)  # type: ignore[union-attr]


PERIODIC = {"leaderboard"}  # snapshots written by the engagement loop whenever it runs


def story(api: LiveApi, live: str) -> list[dict[str, Any]]:
    """The room's events but the periodic snapshots."""
    return [e for e in api.events(live) if e["type"] not in PERIODIC]


def of_type(api: LiveApi, live: str, type_: str) -> list[dict[str, Any]]:
    return [e for e in api.events(live) if e["type"] == type_]


def scores(view: dict[str, Any]) -> dict[str, int]:
    return {s["live_id"]: s["score"] for s in view["sides"]}


def supporters(view: dict[str, Any], live: str) -> list[tuple[str, int]]:
    side = next(s for s in view["sides"] if s["live_id"] == live)
    return [(b["user_id"], b["score"]) for b in side["supporters"]]


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def people(api: LiveApi) -> tuple[str, str]:
    api.creator("c1")
    api.creator("c2")
    api.viewer("v1", coins=10_000)
    api.viewer("v2", coins=10_000)
    return api.start("c1"), api.start("c2")


def started(api: LiveApi, l1: str, l2: str, **terms: Any) -> str:
    """A battle between ``l1`` (c1) and ``l2`` (c2), accepted: active from now."""
    r = create(api, "c1", l1, l2, **terms)
    assert r.status_code == 201, r.text
    battle = str(r.json()["id"])
    r = act(api, "c2", battle, "accept")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "active"
    return battle


def window_coins(api: LiveApi, live: str, view: dict[str, Any]) -> int:
    """The coins of the room's gift events inside the battle's window (from the events)."""
    start, end = at(view["started_at"]), at(view["ends_at"])
    return sum(e["coins"] for e in of_type(api, live, "gift") if start <= at(e["at"]) < end)


# --- tests -------------------------------------------------------------------------------------
def test_invite_accept_and_scores_equal_the_coins_gifted_in_the_window(
    open_live: OpenLive,
) -> None:
    with open_live("seed-002") as api:
        l1, l2 = people(api)
        r = create(api, "c1", l1, l2)
        assert r.status_code == 201, r.text
        body = r.json()
        battle = body["id"]
        assert body["object"] == "battle" and body["state"] == "invited"
        assert body["duration_seconds"] == 300 and body["mode"] == "all"
        assert [(s["live_id"], s["state"]) for s in body["sides"]] == [
            (l1, "host"),
            (l2, "invited"),
        ]
        for live in (l1, l2):
            invited = of_type(api, live, "battle_invited")
            assert len(invited) == 1 and invited[0]["battle_id"] == battle
            assert body["seqs"][live] == invited[0]["seq"]
        # a gift before the battle starts does not count
        assert api.gift("v1", l1, "panda", idem="early").status_code == 201
        api.clock.advance(timedelta(seconds=5))
        r = act(api, "c2", battle, "accept")
        assert r.status_code == 200, r.text
        view = r.json()
        assert view["state"] == "active"
        assert view["started_at"] == "2026-01-01T00:00:05Z"
        assert view["ends_at"] == "2026-01-01T00:05:05Z"
        for live in (l1, l2):
            assert [e["type"] for e in story(api, live)][-2:] == [
                "battle_accepted",
                "battle_started",
            ]
            start = of_type(api, live, "battle_started")[0]
            assert start["ends_at"] == view["ends_at"] and start["battle_id"] == battle
            assert [s["score"] for s in start["scores"]] == [0, 0]

        assert api.gift("v1", l1, "panda", 2, idem="a").status_code == 201
        assert api.gift("v2", l2, "rose", 3, idem="b").status_code == 201
        assert api.gift("v1", l2, "panda", 1, idem="c").status_code == 201
        view = get(api, battle)
        assert scores(view) == {l1: 10, l2: 8}
        assert supporters(view, l1) == [("v1", 10)]
        assert supporters(view, l2) == [("v1", 5), ("v2", 3)]

        # battle_score: coalesced, only when the scores changed, in both rooms
        api.clock.advance(timedelta(seconds=1))
        ticks(api)
        ticks(api)
        for live in (l1, l2):
            events = of_type(api, live, "battle_score")
            assert len(events) == 1
            assert {s["live_id"]: s["score"] for s in events[0]["scores"]} == {l1: 10, l2: 8}
        assert api.gift("v2", l1, "rose", 1, idem="d").status_code == 201
        ticks(api)  # changed, but less than score_every_ms since the last one
        assert len(of_type(api, l1, "battle_score")) == 1
        api.clock.advance(timedelta(milliseconds=1000))
        ticks(api)
        assert len(of_type(api, l1, "battle_score")) == 2
        assert of_type(api, l2, "battle_score")[-1]["scores"][0]["score"] == 11

        # the deadline: the result, once, in both rooms
        api.clock.set(at(view["ends_at"]))
        ticks(api)
        ticks(api)
        final = get(api, battle)
        assert final["state"] == "ended" and final["ended_at"] == final["ends_at"]
        for live in (l1, l2):
            ended = of_type(api, live, "battle_ended")
            assert len(ended) == 1
            e = ended[0]
            assert e["outcome"] == "win" and e["winner"] == {"live_id": l1, "creator_id": "c1"}
            assert e["reason"] == "deadline" and e["tied"] == []
            assert {s["live_id"]: s["score"] for s in e["scores"]} == {l1: 11, l2: 8}
            tops = {s["live_id"]: s["top"] for s in e["supporters"]}
            assert tops[l1] == [{"user_id": "v1", "score": 10}, {"user_id": "v2", "score": 1}]
            assert tops[l2] == [{"user_id": "v1", "score": 5}, {"user_id": "v2", "score": 3}]
        assert final["result"]["winner"]["live_id"] == l1
        # the scores are the coins of the gifts inside the window, from the room's events
        assert scores(final) == {live: window_coins(api, live, final) for live in (l1, l2)}
        # after the end nothing counts any more, and the lives are free for another battle
        assert api.gift("v1", l2, "panda", idem="after").status_code == 201
        assert scores(get(api, battle)) == {l1: 11, l2: 8}
        listed = api.client.get(f"/v1/lives/{l2}/battles", headers=api.user("v2")).json()
        assert [b["id"] for b in listed["data"]] == [battle]
        assert create(api, "c2", l2, l1).status_code == 201
        api.assert_clean()


def test_gift_only_mode_counts_only_the_listed_gifts(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        l1, l2 = people(api)
        battle = started(api, l1, l2, mode="gifts", gift_ids=["panda"])
        assert get(api, battle)["gift_ids"] == ["panda"]
        assert api.gift("v1", l1, "rose", 7, idem="r").status_code == 201
        assert api.gift("v1", l1, "panda", 1, idem="p").status_code == 201
        assert api.gift("v2", l2, "rose", 9, idem="r2").status_code == 201
        view = get(api, battle)
        assert scores(view) == {l1: 5, l2: 0}
        assert supporters(view, l2) == []
        api.clock.advance(timedelta(seconds=300))
        ticks(api)
        e = of_type(api, l2, "battle_ended")[0]
        assert e["winner"]["live_id"] == l1
        api.assert_clean()


def test_the_multiplier_window(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        l1, l2 = people(api)
        battle = started(api, l1, l2, multiplier=3, multiplier_seconds=10, duration_seconds=60)
        view = get(api, battle)
        assert view["multiplier_until"] == "2026-01-01T00:00:10Z"
        assert api.gift("v1", l1, "panda", idem="x3").status_code == 201  # t = 0: × 3
        api.clock.advance(timedelta(seconds=10) - MS)
        assert api.gift("v1", l2, "panda", idem="x3-late").status_code == 201  # still × 3
        api.clock.advance(MS)
        assert api.gift("v2", l1, "panda", idem="x1").status_code == 201  # the window is over
        view = get(api, battle)
        assert scores(view) == {l1: 15 + 5, l2: 15}
        assert supporters(view, l1) == [("v1", 15), ("v2", 5)]
        api.assert_clean()


def test_a_gift_one_millisecond_after_the_deadline_does_not_count(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        l1, l2 = people(api)
        battle = started(api, l1, l2, duration_seconds=30)
        ends_at = at(get(api, battle)["ends_at"])
        assert api.gift("v1", l1, "panda", idem="a").status_code == 201
        api.clock.set(ends_at - MS)
        assert api.gift("v2", l2, "panda", idem="b").status_code == 201  # the last millisecond
        api.clock.set(ends_at + MS)
        r = api.gift("v1", l1, "panda", idem="late")
        assert r.status_code == 201, r.text  # the gift itself goes through…
        assert scores(get(api, battle)) == {l1: 5, l2: 5}  # …but does not count
        api.clock.set(ends_at)
        assert api.gift("v1", l1, "rose", idem="exact").status_code == 201  # ends_at excluded
        assert scores(get(api, battle)) == {l1: 5, l2: 5}
        ticks(api)
        for live in (l1, l2):
            ended = of_type(api, live, "battle_ended")
            assert len(ended) == 1
            assert ended[0]["outcome"] == "draw" and ended[0]["winner"] is None
            assert sorted(ended[0]["tied"]) == sorted([l1, l2])
        assert get(api, battle)["result"]["outcome"] == "draw"
        api.assert_clean()


def test_a_restart_in_the_middle_finishes_the_battle_once(
    open_live: OpenLive, database_url: str
) -> None:
    with open_live("seed-002") as api:
        l1, l2 = people(api)
        battle = started(api, l1, l2, duration_seconds=60)
        assert api.gift("v1", l1, "panda", idem="a").status_code == 201
        api.clock.advance(timedelta(seconds=20))
        assert api.gift("v2", l2, "rose", 2, idem="b").status_code == 201
    # a new process on the same database: the deadline was stored
    with open_live("seed-002", url=database_url) as api:
        view = get(api, battle)
        assert view["state"] == "active" and scores(view) == {l1: 5, l2: 2}
        api.clock.set(at(view["ends_at"]) - timedelta(seconds=1))
        assert api.gift("v2", l2, "panda", idem="c").status_code == 201  # still counts
        api.clock.set(at(view["ends_at"]) + timedelta(seconds=30))
        ticks(api)
        ticks(api)
        for live in (l1, l2):
            ended = of_type(api, live, "battle_ended")
            assert len(ended) == 1
            assert ended[0]["winner"] == {"live_id": l2, "creator_id": "c2"}
        final = get(api, battle)
        assert final["state"] == "ended" and scores(final) == {l1: 5, l2: 7}
        # ending it again, even twice at once, changes nothing
        outcomes = api.client.portal.call(end_twice, api.ctx, int(battle))  # type: ignore[union-attr]
        assert [o["ended"] for o in outcomes] == [False, False]
        assert len(of_type(api, l1, "battle_ended")) == 1
        api.assert_clean()


async def end_twice(ctx: AppContext, battle_id: int) -> list[dict[str, Any]]:
    found = await asyncio.gather(ctx.submit(EndBattle(battle_id)), ctx.submit(EndBattle(battle_id)))
    return [o.body for o in found]


def test_two_ends_at_once_end_the_battle_once(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        l1, l2 = people(api)
        battle = started(api, l1, l2, duration_seconds=10)
        assert api.gift("v1", l2, "panda", idem="a").status_code == 201
        api.clock.advance(timedelta(seconds=10))
        outcomes = api.client.portal.call(end_twice, api.ctx, int(battle))  # type: ignore[union-attr]
        assert sum(1 for o in outcomes if o["ended"]) <= 1
        ticks(api)
        for live in (l1, l2):
            assert len(of_type(api, live, "battle_ended")) == 1
        api.assert_clean()


def test_decline_and_cancel(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        l1, l2 = people(api)
        api.creator("c3")
        l3 = api.start("c3")
        r = create(api, "c1", l1, l2, l3)
        assert r.status_code == 201, r.text
        battle = r.json()["id"]
        r = act(api, "c2", battle, "decline")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "invited"
        declined = of_type(api, l1, "battle_declined")[0]
        assert declined["live_id"] == l2 and declined["creator_id"] == "c2"
        assert of_type(api, l2, "battle_declined")  # the decliner's room hears it too
        assert err(act(api, "c2", battle, "accept")) == (409, "invalid_transition")
        r = act(api, "c3", battle, "accept")
        assert r.status_code == 200 and r.json()["state"] == "active"
        assert of_type(api, l1, "battle_started") and of_type(api, l3, "battle_started")
        assert not of_type(api, l2, "battle_started")
        started_event = of_type(api, l3, "battle_started")[0]
        assert [s["live_id"] for s in started_event["sides"]] == [l1, l3]
        # a declined side's gifts do not count; its live is free for another battle
        assert api.gift("v1", l2, "panda", idem="l2").status_code == 201
        assert api.gift("v1", l3, "rose", idem="l3").status_code == 201
        view = get(api, battle)
        assert scores(view) == {l1: 0, l2: 0, l3: 1}
        assert err(act(api, "c1", battle, "cancel")) == (409, "invalid_transition")
        api.creator("c4")
        l4 = api.start("c4")
        # everyone declines: canceled
        r = create(api, "c2", l2, l4)
        assert r.status_code == 201, r.text
        second = r.json()["id"]
        r = act(api, "c4", second, "decline")
        assert r.status_code == 200 and r.json()["state"] == "canceled"
        assert r.json()["result"] == {"reason": "declined"}
        assert of_type(api, l2, "battle_canceled")[0]["battle_id"] == second
        # the inviting creator cancels before anyone answers
        third = create(api, "c2", l2, l4, duration_seconds=60).json()["id"]
        assert err(act(api, "c4", third, "cancel")) == (403, "forbidden")
        r = act(api, "c2", third, "cancel")
        assert r.status_code == 200 and r.json()["state"] == "canceled"
        assert of_type(api, l4, "battle_canceled")[-1]["reason"] == "canceled"
        assert err(act(api, "c4", third, "accept")) == (409, "invalid_transition")
        api.assert_clean()


def test_authorization_and_refusals_write_nothing(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        l1, l2 = people(api)
        api.creator("c3")
        l3 = api.start("c3")

        def seqs() -> list[list[dict[str, Any]]]:
            return [story(api, x) for x in (l1, l2, l3)]

        before = seqs()
        # nobody starts a battle for someone else's live
        assert err(create(api, "v1", l1, l2)) == (403, "forbidden")
        assert err(create(api, "c2", l1, l3)) == (403, "forbidden")
        # the policy's bounds (seed-002: default policy values)
        assert err(create(api, "c1", l1, l2, duration_seconds=3601))[0] == 422
        assert err(create(api, "c1", l1, l2, duration_seconds=1801)) == (422, "validation_error")
        assert err(create(api, "c1", l1, l2, multiplier=6, multiplier_seconds=5)) == (
            422,
            "validation_error",
        )
        assert err(create(api, "c1", l1, l2, multiplier=2)) == (422, "validation_error")
        assert err(create(api, "c1", l1, l2, mode="gifts")) == (422, "validation_error")
        assert err(create(api, "c1", l1, l2, gift_ids=["rose"])) == (422, "validation_error")
        assert err(create(api, "c1", l1, l2, mode="gifts", gift_ids=["nope"])) == (
            422,
            "unknown_gift",
        )
        assert err(create(api, "c1", l1, l1)) == (422, "validation_error")
        assert err(create(api, "c1", l1, l2, l2)) == (422, "validation_error")
        many = [str(i) for i in range(100, 104)]
        assert err(create(api, "c1", l1, *many)) == (422, "validation_error")
        assert err(create(api, "c1", l1, "999999")) == (404, "not_found")
        assert seqs() == before

        r = create(api, "c1", l1, l2)
        battle = r.json()["id"]
        before = seqs()
        # only an invited creator answers
        assert err(act(api, "c1", battle, "accept")) == (403, "forbidden")
        assert err(act(api, "v1", battle, "accept")) == (403, "forbidden")
        assert err(act(api, "c3", battle, "accept")) == (403, "forbidden")
        assert err(act(api, "c3", battle, "decline")) == (403, "forbidden")
        assert err(act(api, "c2", battle, "cancel")) == (403, "forbidden")
        assert err(act(api, "c2", "999999", "accept")) == (404, "not_found")
        # a live in a battle (or invited to one) cannot start or join another
        assert err(create(api, "c3", l3, l2)) == (409, "invalid_transition")
        assert err(create(api, "c1", l1, l3)) == (409, "invalid_transition")
        assert seqs() == before
        # a live that ended cannot be invited
        api.creator("c4")
        l4 = api.start("c4")
        assert api.end(l4, "c4").status_code == 200
        assert err(create(api, "c3", l3, l4)) == (409, "live_not_active")
        # an accept replayed with its key answers the first outcome
        first = act(api, "c2", battle, "accept", idem="k")
        again = act(api, "c2", battle, "accept", idem="k")
        assert first.status_code == again.status_code == 200
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert len(of_type(api, l1, "battle_started")) == 1
        assert err(act(api, "c2", battle, "accept", idem="k2")) == (409, "invalid_transition")
        # anyone authenticated may look
        assert api.client.get(f"/v1/battles/{battle}", headers=api.user("v2")).status_code == 200
        assert api.client.get("/v1/battles/999999", headers=api.user("v2")).status_code == 404
        assert api.client.get(f"/v1/battles/{battle}").status_code == 401
        api.assert_clean()


def test_a_live_ending_during_a_battle_ends_it_early(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        l1, l2 = people(api)
        battle = started(api, l1, l2)
        assert api.gift("v1", l2, "panda", idem="a").status_code == 201
        assert api.gift("v1", l1, "rose", idem="b").status_code == 201
        api.clock.advance(timedelta(seconds=30))
        assert api.end(l2, "c2").status_code == 200
        ticks(api)
        ended = of_type(api, l1, "battle_ended")
        assert len(ended) == 1
        assert ended[0]["reason"] == "live_ended" and ended[0]["ended_lives"] == [l2]
        assert ended[0]["winner"]["live_id"] == l2  # the result is the scores'
        assert story(api, l2)[-1]["type"] == "live_ended"  # its room's last event
        view = get(api, battle)
        assert view["state"] == "ended" and view["ended_at"] == "2026-01-01T00:00:30Z"
        # an invitation to a live that ended is canceled
        api.creator("c3")
        l3 = api.start("c3")
        second = create(api, "c1", l1, l3).json()["id"]
        assert api.end(l3, "c3").status_code == 200
        ticks(api)
        assert get(api, second)["state"] == "canceled"
        assert get(api, second)["result"] == {"reason": "live_ended"}
        assert of_type(api, l1, "battle_canceled")[-1]["battle_id"] == second
        api.assert_clean()


def test_a_gift_and_the_end_in_one_batch_agree(
    open_live: OpenLive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever their order inside one batch, the result equals the stored scores: a gift
    before the (early) end counts and is in ``battle_ended``, one after it does not; at the
    deadline no gift of the ending batch counts."""
    monkeypatch.setattr(engagement, "TICKS", ())  # only this test ends battles
    with open_live("seed-002") as api:
        l1, l2 = people(api)
        battle = started(api, l1, l2)
        assert api.gift("v1", l1, "panda", idem="a").status_code == 201

        def end() -> httpx.Response:
            outcome = api.client.portal.call(api.ctx.submit, EndBattle(int(battle)))  # type: ignore[union-attr]
            return httpx.Response(outcome.status, json=outcome.body)

        assert api.end(l2, "c2").status_code == 200
        ended, gift = api.in_one_batch(end, lambda: api.gift("v2", l1, "panda", idem="b"))
        assert ended.json()["ended"] is True and gift.status_code == 201, gift.text
        view = get(api, battle)
        event = of_type(api, l1, "battle_ended")[0]
        assert {s["live_id"]: s["score"] for s in event["scores"]} == scores(view)
        counted = gift.json()["seq"] < event["seq"]
        assert scores(view)[l1] == (10 if counted else 5)
        top = [(b["user_id"], b["score"]) for b in event["supporters"][0]["top"]]
        assert top == supporters(view, l1)
        assert top == ([("v1", 5), ("v2", 5)] if counted else [("v1", 5)])

        # at the deadline: a gift in the ending batch never counts
        api.creator("c3")
        l3 = api.start("c3")
        second = started_between(api, l1, "c3", l3)
        assert api.gift("v1", l3, "rose", idem="c").status_code == 201
        api.clock.set(at(get(api, second)["ends_at"]))

        def end_second() -> httpx.Response:
            outcome = api.client.portal.call(api.ctx.submit, EndBattle(int(second)))  # type: ignore[union-attr]
            return httpx.Response(outcome.status, json=outcome.body)

        ended, gift = api.in_one_batch(end_second, lambda: api.gift("v2", l1, "panda", idem="d"))
        assert ended.json()["ended"] is True and gift.status_code == 201
        assert scores(get(api, second)) == {l1: 0, l3: 1}
        assert len(of_type(api, l3, "battle_ended")) == 1
        api.assert_clean()


def started_between(api: LiveApi, l1: str, creator: str, other: str) -> str:
    r = create(api, "c1", l1, other, duration_seconds=60)
    assert r.status_code == 201, r.text
    battle = str(r.json()["id"])
    assert act(api, creator, battle, "accept").status_code == 200
    return battle
