"""The item catalog: operators create and change items, everyone sees what is on sale."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from giftflow.money.amounts import MAX_AMOUNT

from .helpers import edit_item, err, new_item


def test_admin_creates_items_and_users_list_the_active_ones(open_api: Any) -> None:
    with open_api("standard") as api:
        api.buyer("u")
        frame = new_item(api, "sparkle-frame", 30, name="Sparkle frame")
        assert frame == {
            "id": "sparkle-frame",
            "object": "item",
            "kind": "effect",
            "name": "Sparkle frame",
            "price": {"asset": "COIN", "amount": 30, "display": "30"},
            "image": None,
            "active": True,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }
        sticker = new_item(
            api, "heart-1", 5, kind="sticker", name="Heart", image="/items/heart-1.png"
        )
        assert sticker["kind"] == "sticker" and sticker["image"] == "/items/heart-1.png"
        new_item(api, "retired", 7, active=False)

        listed = api.client.get("/v1/items", headers=api.user("u"))
        assert listed.status_code == 200, listed.text
        assert [(i["id"], i["price"]["amount"]) for i in listed.json()["data"]] == [
            ("heart-1", 5),
            ("sparkle-frame", 30),
        ]
        # a platform key sees the same list; the admin list holds inactive items too
        as_platform = api.client.get("/v1/items", headers=api.platform()).json()
        assert as_platform == listed.json()
        every = api.client.get("/v1/admin/items", headers=api.admin()).json()["data"]
        assert [(i["id"], i["active"]) for i in every] == [
            ("heart-1", True),
            ("retired", False),
            ("sparkle-frame", True),
        ]
        assert api.client.get("/v1/items").status_code == 401


def test_only_admins_keep_the_catalog(open_api: Any) -> None:
    with open_api("standard") as api:
        api.buyer("u")
        body = {"id": "x", "kind": "effect", "name": "X", "price": 1}
        for headers in (api.user("u"), api.platform()):
            assert err(api.client.post("/v1/admin/items", json=body, headers=headers)) == (
                403,
                "forbidden",
            )
            r = api.client.put("/v1/admin/items/x", json={"price": 2}, headers=headers)
            assert err(r) == (403, "forbidden")
            assert err(api.client.get("/v1/admin/items", headers=headers)) == (403, "forbidden")
        assert api.client.get("/v1/admin/items", headers=api.admin()).json()["data"] == []


BAD: list[dict[str, Any]] = [
    {"id": "Sparkle"},
    {"id": "-frame"},
    {"id": "a_b"},
    {"id": "a" * 65},
    {"id": ""},
    {"price": 0},
    {"price": -1},
    {"price": MAX_AMOUNT + 1},
    {"price": "30"},
    {"price": 1.5},
    {"price": True},
    {"price": None},
    {"kind": "gift"},
    {"name": ""},
    {"name": "   "},
    {"name": "x" * 101},
    {"name": "nul\x00"},
    {"image": "../etc/passwd"},
    {"image": "a b.png"},
    {"image": "i" * 201},
    {"active": "yes"},
    {"colour": "red"},
]


def test_bad_items_are_refused(open_api: Any) -> None:
    with open_api("standard") as api:
        for change in BAD:
            body: dict[str, Any] = {
                "id": "sparkle-frame",
                "kind": "effect",
                "name": "x",
                "price": 1,
            }
            r = api.client.post("/v1/admin/items", json=body | change, headers=api.admin())
            assert err(r) == (422, "validation_error"), (change, r.text)
        for missing in ("id", "kind", "name", "price"):
            body = {"id": "sparkle-frame", "kind": "effect", "name": "Sparkle", "price": 30}
            del body[missing]
            r = api.client.post("/v1/admin/items", json=body, headers=api.admin())
            assert err(r) == (422, "validation_error"), missing
        assert api.client.get("/v1/admin/items", headers=api.admin()).json()["data"] == []


def test_limits_are_accepted(open_api: Any) -> None:
    with open_api("standard") as api:
        new_item(api, "a" * 64, MAX_AMOUNT)
        new_item(api, "0", 1, name="n" * 100, image="i" * 200)


def test_an_id_is_taken_once(open_api: Any) -> None:
    with open_api("standard") as api:
        new_item(api, "sparkle-frame", 30)
        body = {"id": "sparkle-frame", "kind": "sticker", "name": "Other", "price": 1}
        r = api.client.post("/v1/admin/items", json=body, headers=api.admin())
        assert err(r) == (422, "validation_error")
        assert r.json()["error"]["details"] == {"id": "sparkle-frame", "reason": "exists"}
        every = api.client.get("/v1/admin/items", headers=api.admin()).json()["data"]
        assert [(i["kind"], i["price"]["amount"]) for i in every] == [("effect", 30)]


def test_admin_updates_and_deactivates_items(open_api: Any) -> None:
    with open_api("standard") as api:
        api.buyer("u")
        new_item(api, "sparkle-frame", 30, image="/a.png")
        api.clock.advance(timedelta(minutes=1))
        r = edit_item(api, "sparkle-frame", name="Sparkle frame", price=45)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["name"], body["price"]["amount"], body["image"]) == (
            "Sparkle frame",
            45,
            "/a.png",
        )
        assert (body["created_at"], body["updated_at"]) == (
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:01:00Z",
        )
        r = edit_item(api, "sparkle-frame", image=None, active=False)
        assert (r.json()["image"], r.json()["active"], r.json()["name"]) == (
            None,
            False,
            "Sparkle frame",
        )
        assert api.client.get("/v1/items", headers=api.user("u")).json()["data"] == []
        assert edit_item(api, "sparkle-frame", active=True).json()["active"] is True
        assert [i["id"] for i in api.client.get("/v1/items", headers=api.user("u")).json()["data"]]
        # unknown, malformed ids and bad changes
        assert err(edit_item(api, "nothing-here", price=1)) == (404, "not_found")
        assert err(edit_item(api, "NOT_AN_ID", price=1)) == (404, "not_found")
        for bad in ({"price": None}, {"name": None}, {"active": None}, {"kind": "sticker"}):
            assert err(edit_item(api, "sparkle-frame", **bad)) == (422, "validation_error"), bad
        assert err(edit_item(api, "sparkle-frame", price=0)) == (422, "validation_error")


def test_there_is_no_delete(open_api: Any) -> None:
    with open_api("standard") as api:
        new_item(api, "sparkle-frame", 30)
        r = api.client.delete("/v1/admin/items/sparkle-frame", headers=api.admin())
        assert r.status_code == 405
        assert len(api.client.get("/v1/admin/items", headers=api.admin()).json()["data"]) == 1
