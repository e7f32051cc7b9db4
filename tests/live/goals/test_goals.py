"""Live goals through the HTTP API: coins and gift goals reached exactly at the target, their
events in order (created, progress, completed once, nothing after), every refusal, and goals
followed by gifts that share one batch."""

from __future__ import annotations

from typing import Any

import httpx

from giftflow.money.policy import GoalRules
from tests.live.conftest import LiveApi, OpenLive, err, store_version


def set_goal(api: LiveApi, user_id: str, live: str, idem: str, **body: Any) -> httpx.Response:
    body = {"kind": "coins", "target": 10, "title": "a goal", **body}
    r: httpx.Response = api.client.post(
        f"/v1/lives/{live}/goals", json=body, headers=api.user(user_id) | {"Idempotency-Key": idem}
    )
    return r


def goal_events(api: LiveApi, live: str) -> list[dict[str, Any]]:
    return [e for e in api.events(live) if e["type"].startswith("goal_")]


def goals(api: LiveApi, live: str) -> list[dict[str, Any]]:
    r = api.client.get(f"/v1/lives/{live}/goals", headers=api.platform())
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def sent(r: httpx.Response) -> int:
    assert r.status_code == 201, r.text
    seq: int = r.json()["seq"]
    return seq


def test_a_coins_goal_reached_exactly_at_the_target(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=100, display_name="Vee")
        live = api.start("c1")
        r = set_goal(api, "c1", live, "g1", kind="coins", target=10, title="Ten coins")
        assert r.status_code == 201, r.text
        goal = r.json()
        assert (goal["object"], goal["live_id"], goal["kind"], goal["gift_id"]) == (
            "goal",
            live,
            "coins",
            None,
        )
        assert (goal["target"], goal["progress"], goal["total"], goal["completed"]) == (
            10,
            0,
            0,
            False,
        )
        assert goal["seq"] == 2 and goal["created_at"] == "2026-01-01T00:00:00Z"
        first = sent(api.gift("v1", live, "panda", 1, idem="a"))  # 5 coins
        second = sent(api.gift("v1", live, "rose", 5, idem="b"))  # 10: reached exactly
        after = sent(api.gift("v1", live, "rose", 1, idem="c"))  # past it: nothing more
        events = goal_events(api, live)
        assert [e["type"] for e in events] == [
            "goal_created",
            "goal_progress",
            "goal_progress",
            "goal_completed",
        ]
        created, p1, p2, done = events
        assert created["seq"] == 2 and created["goal_id"] == goal["id"]
        assert (created["title"], created["target"], created["progress"]) == ("Ten coins", 10, 0)
        # each progress event follows its gift's event
        assert (p1["seq"], p1["progress"], p1["target"]) == (first + 1, 5, 10)
        assert (p2["seq"], p2["progress"]) == (second + 1, 10)
        assert done["seq"] == second + 2 and done["goal_id"] == goal["id"]
        assert done["sender"] == {"id": "v1", "name": "Vee"} and done["progress"] == 10
        gift_txn = next(e for e in api.events(live) if e["seq"] == second)["transaction_id"]
        assert done["transaction_id"] == gift_txn
        assert after > done["seq"]
        [listed] = goals(api, live)
        assert listed["completed"] is True and listed["completed_at"] == "2026-01-01T00:00:00Z"
        assert (listed["progress"], listed["total"]) == (10, 11)  # shown capped, stored exact
        api.assert_clean()


def test_a_gift_goal_counts_one_gift(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=100)
        live = api.start("c1")
        roses = set_goal(api, "c1", live, "g1", kind="gift", gift_id="rose", target=3).json()
        coins = set_goal(api, "c1", live, "g2", kind="coins", target=100).json()
        sent(api.gift("v1", live, "panda", 2, idem="a"))  # not a rose: only the coins goal
        sent(api.gift("v1", live, "rose", 2, idem="b"))
        last = sent(api.gift("v1", live, "rose", 1, idem="c"))
        sent(api.gift("v1", live, "rose", 4, idem="d"))
        events = goal_events(api, live)[2:]
        seen = [(e["type"], e["goal_id"], e.get("progress")) for e in events]
        assert seen == [
            ("goal_progress", coins["id"], 10),
            ("goal_progress", roses["id"], 2),
            ("goal_progress", coins["id"], 12),  # one gift: its goals in the order they were set
            ("goal_progress", roses["id"], 3),
            ("goal_completed", roses["id"], 3),
            ("goal_progress", coins["id"], 13),
            ("goal_progress", coins["id"], 17),  # the completed rose goal writes no more
        ]
        assert [e["seq"] for e in events[3:6]] == [last + 1, last + 2, last + 3]
        by_id = {g["id"]: g for g in goals(api, live)}
        assert (by_id[roses["id"]]["progress"], by_id[roses["id"]]["total"]) == (3, 7)
        assert by_id[roses["id"]]["completed"] is True
        assert (by_id[coins["id"]]["progress"], by_id[coins["id"]]["completed"]) == (17, False)


def test_gifts_of_one_batch_complete_a_goal_once(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        viewers = [f"v{i}" for i in range(6)]
        for v in viewers:
            api.viewer(v, coins=10)
        live = api.start("c1")
        goal = set_goal(api, "c1", live, "g1", kind="coins", target=12).json()
        results = api.in_one_batch(*[lambda v=v: api.gift(v, live, "rose", 3) for v in viewers])
        assert all(r.status_code == 201 for r in results)
        events = goal_events(api, live)[1:]
        assert [e["type"] for e in events] == ["goal_progress"] * 4 + ["goal_completed"]
        assert [e["progress"] for e in events] == [3, 6, 9, 12, 12]
        assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
        [listed] = goals(api, live)
        assert listed["id"] == goal["id"] and listed["completed"] is True
        assert listed["total"] == 18


def test_refusals_move_nothing(open_live: OpenLive, database_url: str) -> None:
    store_version(database_url, "seed-002", goals=GoalRules(max_per_live=2))
    with open_live("seed-002") as api:
        api.creator("c1")
        api.creator("c2")
        api.viewer("v1")
        live = api.start("c1")
        last = api.live(live)["last_seq"]
        # a viewer, or another creator, cannot set goals on someone else's live
        assert err(set_goal(api, "v1", live, "x1")) == (403, "forbidden")
        assert err(set_goal(api, "c2", live, "x2")) == (403, "forbidden")
        # not even through an API key
        r = api.client.post(
            f"/v1/lives/{live}/goals",
            json={"kind": "coins", "target": 5, "title": "t"},
            headers=api.platform() | {"Idempotency-Key": "x3"},
        )
        assert r.status_code == 403
        assert err(set_goal(api, "c1", "999", "x4")) == (404, "not_found")
        assert err(set_goal(api, "c1", live, "x5", kind="gift")) == (422, "validation_error")
        coins_with_gift = set_goal(api, "c1", live, "x6", kind="coins", gift_id="rose")
        assert err(coins_with_gift) == (422, "validation_error")
        assert err(set_goal(api, "c1", live, "x7", kind="gift", gift_id="nope")) == (
            422,
            "unknown_gift",
        )
        assert err(set_goal(api, "c1", live, "x8", target=0)) == (422, "validation_error")
        assert err(set_goal(api, "c1", live, "x9", title="")) == (422, "validation_error")
        assert err(set_goal(api, "c1", live, "x10", kind="stars")) == (422, "validation_error")
        r = api.client.post(
            f"/v1/lives/{live}/goals",
            json={"kind": "coins", "target": 5, "title": "t"},
            headers=api.user("c1"),
        )
        assert err(r) == (400, "idempotency_key_required")
        assert api.live(live)["last_seq"] == last and goals(api, live) == []
        # the policy's limit
        assert set_goal(api, "c1", live, "ok1").status_code == 201
        assert set_goal(api, "c1", live, "ok2").status_code == 201
        r = set_goal(api, "c1", live, "ok3")
        assert (
            err(r) == (409, "goal_limit_reached") and r.json()["error"]["details"]["maximum"] == 2
        )
        assert len(goals(api, live)) == 2 and api.live(live)["last_seq"] == last + 2
        # an ended live takes no goals, and its goals stay as they were
        assert api.end(live, "c1").status_code == 200
        assert err(set_goal(api, "c1", live, "late")) == (409, "live_not_active")
        assert [g["total"] for g in goals(api, live)] == [0, 0]


def test_a_retry_with_the_same_key_sets_one_goal(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        live = api.start("c1")
        first = set_goal(api, "c1", live, "same", target=50)
        again = set_goal(api, "c1", live, "same", target=50)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
        assert err(set_goal(api, "c1", live, "same", target=60)) == (409, "idempotency_key_reused")
        assert len(goals(api, live)) == 1 and len(goal_events(api, live)) == 1


def test_listing_is_public_and_knows_unknown_lives(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1")
        live = api.start("c1")
        set_goal(api, "c1", live, "g1")
        r = api.client.get(f"/v1/lives/{live}/goals", headers=api.user("v1"))
        assert r.status_code == 200 and len(r.json()["data"]) == 1
        assert api.client.get(f"/v1/lives/{live}/goals").status_code == 401
        r = api.client.get("/v1/lives/12345/goals", headers=api.user("v1"))
        assert err(r) == (404, "not_found")
