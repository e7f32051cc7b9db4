"""Co-hosts: the host adds and removes them, viewers gift a chosen co-host (``recipient``),
every refusal moves nothing, and a change of co-hosts and a gift never pass each other."""

from __future__ import annotations

from typing import Any

import httpx

from tests.live.conftest import LiveApi, OpenLive, err


def add(api: LiveApi, live: str, user_id: str, by: str, idem: str = "") -> httpx.Response:
    r: httpx.Response = api.client.post(
        f"/v1/lives/{live}/cohosts",
        json={"user_id": user_id},
        headers=api.user(by) | {"Idempotency-Key": idem or f"add-{live}-{user_id}-{by}"},
    )
    return r


def remove(api: LiveApi, live: str, user_id: str, by: str) -> httpx.Response:
    r: httpx.Response = api.client.delete(
        f"/v1/lives/{live}/cohosts/{user_id}", headers=api.user(by)
    )
    return r


def gift_to(
    api: LiveApi, viewer: str, live: str, recipient: str, gift: str = "panda", idem: str = ""
) -> httpx.Response:
    r: httpx.Response = api.client.post(
        f"/v1/lives/{live}/gifts",
        json={"gift_id": gift, "count": 1, "recipient": recipient},
        headers=api.user(viewer) | {"Idempotency-Key": idem or f"{viewer}-{recipient}-{gift}"},
    )
    return r


PERIODIC = {"leaderboard"}  # snapshots written by the engagement loop whenever it runs


def story(api: LiveApi, live: str) -> list[dict[str, Any]]:
    """The room's events but the periodic snapshots."""
    return [e for e in api.events(live) if e["type"] not in PERIODIC]


def state(api: LiveApi, live: str, *users: str) -> dict[str, Any]:
    """Everything a refusal must leave as it was: coins, everyone's diamonds, the room."""
    return {
        "coins": {u: api.coins(u) for u in users},
        "diamonds": {u: api.diamonds(u) for u in users},
        "events": [(e["seq"], e["type"]) for e in story(api, live)],
        "gifts_count": api.live(live)["gifts_count"],
    }


def setup(api: LiveApi) -> str:
    api.creator("c1", display_name="Host")
    api.creator("c2", display_name="Guest")
    api.creator("c3")
    api.viewer("v1", coins=100)
    return api.start("c1")


def test_a_gift_to_a_cohost_credits_the_cohost_not_the_host(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        live = setup(api)
        r = add(api, live, "c2", "c1")
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["object"] == "cohost" and body["cohost"] and body["changed"]
        assert body["cohosts"] == ["c2"] and body["name"] == "Guest"
        added = story(api, live)[-1]
        assert added["type"] == "cohost_added" and added["seq"] == body["seq"]
        assert added["user"] == {"id": "c2", "name": "Guest"} and added["cohosts"] == ["c2"]

        r = gift_to(api, "v1", live, "c2")
        assert r.status_code == 201, r.text
        assert api.diamonds("c2") == (250, 0)
        assert api.diamonds("c1") == (0, 0)
        assert api.coins("v1") == 95
        event = story(api, live)[-1]
        assert event["type"] == "gift" and event["recipient_id"] == "c2"
        # the host is still the default recipient
        r = api.gift("v1", live, "rose")
        assert r.status_code == 201, r.text
        assert story(api, live)[-1]["recipient_id"] == "c1"
        assert api.diamonds("c1") == (50, 0) and api.diamonds("c2") == (250, 0)

        listed = api.client.get(f"/v1/lives/{live}/cohosts", headers=api.user("v1")).json()
        assert listed["host_id"] == "c1" and listed["live_id"] == live
        assert [(c["user_id"], c["name"]) for c in listed["data"]] == [("c2", "Guest")]
        assert listed["data"][0]["added_at"] == "2026-01-01T00:00:00Z"
        api.assert_clean()


def test_a_removed_cohost_cannot_be_chosen(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        live = setup(api)
        assert add(api, live, "c2", "c1").status_code == 201
        assert gift_to(api, "v1", live, "c2", idem="before").status_code == 201
        r = remove(api, live, "c2", "c1")
        assert r.status_code == 200, r.text
        assert r.json()["cohost"] is False and r.json()["cohosts"] == []
        removed = story(api, live)[-1]
        assert removed["type"] == "cohost_removed" and removed["by"] == "host"
        assert removed["user"]["id"] == "c2" and removed["cohosts"] == []

        before = state(api, live, "v1", "c1", "c2")
        r = gift_to(api, "v1", live, "c2", idem="after")
        assert err(r) == (409, "recipient_not_in_live")
        assert r.json()["error"]["details"]["recipient"] == "c2"
        assert state(api, live, "v1", "c1", "c2") == before
        # removing again finds nobody and writes nothing
        assert err(remove(api, live, "c2", "c1")) == (404, "not_found")
        assert state(api, live, "v1", "c1", "c2") == before
        listed = api.client.get(f"/v1/lives/{live}/cohosts", headers=api.user("v1")).json()
        assert listed["data"] == []

        # added back: the same row is current again
        assert add(api, live, "c2", "c1", idem="again").status_code == 201
        assert gift_to(api, "v1", live, "c2", idem="back").status_code == 201
        assert api.diamonds("c2") == (500, 0)
        api.assert_clean()


def test_a_cohost_gifting_themselves_is_self_gift(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        live = setup(api)
        api.grant("user:c2:coins", 50, "grant-c2")
        assert add(api, live, "c2", "c1").status_code == 201
        before = state(api, live, "c1", "c2")
        r = gift_to(api, "c2", live, "c2")
        assert err(r) == (409, "self_gift")
        assert state(api, live, "c1", "c2") == before
        # a co-host may gift the host, and the host a co-host
        assert gift_to(api, "c2", live, "c1").status_code == 201
        api.grant("user:c1:coins", 50, "grant-c1")
        assert gift_to(api, "c1", live, "c2").status_code == 201
        assert api.diamonds("c1") == (250, 0) and api.diamonds("c2") == (250, 0)
        api.assert_clean()


def test_a_recipient_not_in_the_live_is_refused(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        live = setup(api)
        before = state(api, live, "v1", "c1", "c3")
        r = gift_to(api, "v1", live, "c3")
        assert err(r) == (409, "recipient_not_in_live")
        # a user the platform never created is refused before (their accounts cannot exist)
        r = gift_to(api, "v1", live, "nobody", idem="nobody")
        assert err(r) == (422, "user_not_found")
        assert state(api, live, "v1", "c1", "c3") == before
        # a co-host of another live is not a co-host of this one
        api.creator("c4")
        other = api.start("c4")
        assert add(api, other, "c3", "c4").status_code == 201
        before = state(api, live, "v1", "c1", "c3")
        assert err(gift_to(api, "v1", live, "c3", idem="other")) == (409, "recipient_not_in_live")
        assert state(api, live, "v1", "c1", "c3") == before
        api.assert_clean()


def test_only_the_host_adds_cohosts(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        live = setup(api)
        api.creator("frozen", frozen=True)
        api.person("kid", birth_date="2015-01-01", follower_count=10)
        last = story(api, live)
        assert err(add(api, live, "c2", "v1")) == (403, "forbidden")
        assert err(add(api, live, "c2", "c3")) == (403, "forbidden")
        assert err(add(api, live, "c1", "c1")) == (422, "validation_error")
        assert err(add(api, live, "ghost", "c1")) == (422, "user_not_found")
        r = add(api, live, "frozen", "c1")
        assert err(r) == (409, "creator_not_eligible")
        assert r.json()["error"]["details"]["reason"] == "frozen"
        r = add(api, live, "kid", "c1")
        assert err(r) == (409, "creator_not_eligible")
        assert r.json()["error"]["details"]["reason"] == "under_age"
        assert err(add(api, "999999", "c2", "c1")) == (404, "not_found")
        assert story(api, live) == last
        # a co-host cannot add others, nor remove another co-host; a viewer removes nobody
        assert add(api, live, "c2", "c1").status_code == 201
        assert add(api, live, "c3", "c1").status_code == 201
        assert err(add(api, live, "v1", "c2")) == (403, "forbidden")
        assert err(remove(api, live, "c3", "c2")) == (403, "forbidden")
        assert err(remove(api, live, "c2", "v1")) == (403, "forbidden")
        # a co-host may leave
        r = remove(api, live, "c2", "c2")
        assert r.status_code == 200, r.text
        assert story(api, live)[-1]["by"] == "self"
        assert r.json()["cohosts"] == ["c3"]
        api.assert_clean()


def test_adding_is_idempotent_and_adding_twice_changes_nothing(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        live = setup(api)
        first = add(api, live, "c2", "c1", idem="k1")
        again = add(api, live, "c2", "c1", idem="k1")
        assert first.status_code == again.status_code == 201
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json() == first.json()
        other_key = add(api, live, "c2", "c1", idem="k2")
        assert other_key.status_code == 201
        assert other_key.json()["changed"] is False and other_key.json()["seq"] is None
        assert [e["type"] for e in story(api, live)].count("cohost_added") == 1


def test_a_live_that_ended_takes_no_cohosts(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        live = setup(api)
        assert add(api, live, "c2", "c1").status_code == 201
        assert api.end(live, "c1").status_code == 200
        assert err(add(api, live, "c3", "c1")) == (409, "live_not_active")
        assert err(remove(api, live, "c2", "c1")) == (409, "live_not_active")
        assert story(api, live)[-1]["type"] == "live_ended"


def test_a_change_of_cohosts_and_a_gift_in_one_batch_never_pass(open_live: OpenLive) -> None:
    """Whatever the order inside the batch, a gift sees the co-hosts as they are at its turn."""
    with open_live("seed-002") as api:
        live = setup(api)
        added, gift = api.in_one_batch(
            lambda: add(api, live, "c2", "c1"), lambda: gift_to(api, "v1", live, "c2")
        )
        assert added.status_code == 201, added.text
        events = {e["type"]: e["seq"] for e in story(api, live)}
        if gift.status_code == 201:
            assert events["cohost_added"] < events["gift"]
            assert api.diamonds("c2") == (250, 0)
        else:
            assert err(gift) == (409, "recipient_not_in_live")
            assert "gift" not in events and api.diamonds("c2") == (0, 0)
        # and a removal: the gift is either before it (credited) or refused
        removed, gift = api.in_one_batch(
            lambda: remove(api, live, "c2", "c1"),
            lambda: gift_to(api, "v1", live, "c2", idem="second"),
        )
        assert removed.status_code == 200, removed.text
        seqs = [(e["seq"], e["type"]) for e in story(api, live)]
        removal = next(s for s, t in seqs if t == "cohost_removed")
        if gift.status_code == 201:
            assert gift.json()["seq"] < removal
        else:
            assert err(gift) == (409, "recipient_not_in_live")
        api.assert_clean()
