"""Operators keep the gift catalog: create, change, list and deactivate gifts (admin keys only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from giftflow.money.amounts import MAX_AMOUNT
from tests.api.conftest import Api, api

__all__ = ["api"]

SEEDS = ["rose", "panda", "fireworks", "ferris-wheel", "drama-queen", "universe"]


def err(r: Any) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def new_gift(api: Api, gift_id: str, price: int, **fields: Any) -> dict[str, Any]:
    body = {"id": gift_id, "name": gift_id.replace("-", " ").title(), "price": price}
    r = api.client.post("/v1/admin/gifts", json=body | fields, headers=api.admin())
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def edit(api: Api, gift_id: str, **fields: Any) -> Any:
    return api.client.put(f"/v1/admin/gifts/{gift_id}", json=fields, headers=api.admin())


def every(api: Api) -> list[dict[str, Any]]:
    r = api.client.get("/v1/admin/gifts", headers=api.admin())
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def test_admin_round_trip(api: Api) -> None:
    cat = new_gift(
        api,
        "lucky-cat",
        99,
        name="Lucky Cat",
        image="https://cdn.example.com/gifts/lucky-cat.webp?v=2",
        tier=2,
        streakable=True,
        available_from="2026-02-01T09:00:00+09:00",
        available_until="2026-03-01T00:00:00Z",
        regions=["JP", "KR", "JP"],
        sort=25,
    )
    assert cat == {
        "id": "lucky-cat",
        "object": "gift",
        "name": "Lucky Cat",
        "price": {"asset": "COIN", "amount": 99, "display": "99"},
        "image": "https://cdn.example.com/gifts/lucky-cat.webp?v=2",
        "tier": 2,
        "streakable": True,
        "available_from": "2026-02-01T00:00:00Z",  # stored and shown in UTC
        "available_until": "2026-03-01T00:00:00Z",
        "regions": ["JP", "KR"],  # sorted, each once
        "sort": 25,
        "active": True,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    # the admin list: every gift in catalog order (sort, then price)
    listed = every(api)
    assert [g["id"] for g in listed] == ["rose", "panda", "lucky-cat", *SEEDS[2:]]
    assert listed[2] == cat

    api.clock.advance(timedelta(minutes=1))
    r = edit(api, "lucky-cat", price=120, regions=["TW"], available_until=None)
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed == cat | {
        "price": {"asset": "COIN", "amount": 120, "display": "120"},
        "regions": ["TW"],
        "available_until": None,
        "updated_at": "2026-01-01T00:01:00Z",
    }
    assert every(api)[2] == changed
    # a change that changes nothing leaves updated_at alone
    api.clock.advance(timedelta(minutes=1))
    assert edit(api, "lucky-cat", price=120).json() == changed
    assert edit(api, "lucky-cat").json() == changed
    # null removes the image, a window edge, the region list; [] is everywhere too
    r = edit(api, "lucky-cat", image=None, available_from=None, regions=[])
    removed = r.json()
    assert (removed["image"], removed["available_from"], removed["regions"]) == (None, None, None)
    assert removed["updated_at"] == "2026-01-01T00:02:00Z"

    # DELETE deactivates (never deletes) and answers the gift; PUT brings it back
    r = api.client.delete("/v1/admin/gifts/lucky-cat", headers=api.admin())
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False and r.json()["id"] == "lucky-cat"
    again = api.client.delete("/v1/admin/gifts/lucky-cat", headers=api.admin())
    assert again.status_code == 200 and again.json() == r.json()
    assert [(g["id"], g["active"]) for g in every(api)][2] == ("lucky-cat", False)
    assert edit(api, "lucky-cat", active=True).json()["active"] is True
    assert len(every(api)) == 7


def test_seed_gifts_can_be_changed_and_withdrawn(api: Api) -> None:
    r = edit(api, "rose", name="Red Rose", tier=2, streakable=False, sort=5)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["tier"], body["streakable"], body["sort"]) == (
        "Red Rose",
        2,
        False,
        5,
    )
    assert body["price"]["amount"] == 1 and body["image"] == "/static/gifts/rose.svg"
    r = api.client.delete("/v1/admin/gifts/universe", headers=api.admin())
    assert r.json()["active"] is False
    assert [g["id"] for g in every(api) if g["active"]] == SEEDS[:-1]


def test_only_admins_keep_the_catalog(api: Api) -> None:
    api.create_users("u")
    body = {"id": "x", "name": "X", "price": 1}
    for headers in (api.user("u"), api.platform()):
        assert err(api.client.post("/v1/admin/gifts", json=body, headers=headers)) == (
            403,
            "forbidden",
        )
        r = api.client.put("/v1/admin/gifts/rose", json={"price": 2}, headers=headers)
        assert err(r) == (403, "forbidden")
        assert err(api.client.delete("/v1/admin/gifts/rose", headers=headers)) == (
            403,
            "forbidden",
        )
        assert err(api.client.get("/v1/admin/gifts", headers=headers)) == (403, "forbidden")
    assert err(api.client.post("/v1/admin/gifts", json=body)) == (401, "unauthenticated")
    assert err(api.client.delete("/v1/admin/gifts/rose")) == (401, "unauthenticated")
    gifts = every(api)
    assert [g["id"] for g in gifts] == SEEDS
    assert all(g["active"] and g["updated_at"] == g["created_at"] for g in gifts)
    assert gifts[0]["price"]["amount"] == 1


BAD: list[dict[str, Any]] = [
    {"id": "Lucky"},
    {"id": "-cat"},
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
    {"tier": 0},
    {"tier": 6},
    {"tier": "3"},
    {"tier": None},
    {"name": ""},
    {"name": "   "},
    {"name": "x" * 101},
    {"name": "nul\x00"},
    {"available_from": "2026-02-01T00:00:00Z", "available_until": "2026-02-01T00:00:00Z"},
    {"available_from": "2026-02-02T00:00:00Z", "available_until": "2026-02-01T00:00:00Z"},
    {"available_from": "2026-02-01T00:00:00"},  # no offset: whose midnight?
    {"available_until": "tomorrow"},
    # UTC times outside the years 1 to 9999: an overflow and a 500 before
    {"available_until": "9999-12-31T23:59:59-14:00"},
    {"available_from": "0001-01-01T00:00:00+00:01"},
    {"regions": ["us"]},
    {"regions": ["USA"]},
    {"regions": ["U"]},
    {"regions": "US"},
    {"regions": [1]},
    {"regions": ["*"]},
    {"regions": ["AA"] * 101},
    {"image": "rose.svg"},
    {"image": "http://cdn.example.com/rose.svg"},
    {"image": "/static/../etc/passwd"},
    {"image": "//evil.example.com/rose.svg"},
    {"image": "https://"},
    {"image": "https://cdn.example.com/a//b.svg"},
    {"image": "/a b.svg"},
    {"image": '/a".svg'},
    {"image": "javascript:alert(1)"},
    {"image": "/" + "i" * 200},
    {"streakable": "yes"},
    {"active": 1},
    {"sort": 2**31},
    {"sort": 1.5},
    {"colour": "red"},
]


@pytest.mark.parametrize("change", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_gifts_are_refused(api: Api, change: dict[str, Any]) -> None:
    body: dict[str, Any] = {"id": "lucky-cat", "name": "Lucky Cat", "price": 99}
    r = api.client.post("/v1/admin/gifts", json=body | change, headers=api.admin())
    assert err(r) == (422, "validation_error"), (change, r.text)
    assert [g["id"] for g in every(api)] == SEEDS


def test_required_fields(api: Api) -> None:
    for missing in ("id", "name", "price"):
        body = {"id": "lucky-cat", "name": "Lucky Cat", "price": 99}
        del body[missing]
        r = api.client.post("/v1/admin/gifts", json=body, headers=api.admin())
        assert err(r) == (422, "validation_error"), missing
    assert [g["id"] for g in every(api)] == SEEDS


def test_limits_are_accepted(api: Api) -> None:
    top = new_gift(api, "a" * 64, MAX_AMOUNT, tier=5, sort=2**31 - 1, name="n" * 100)
    assert (top["price"]["amount"], top["tier"]) == (MAX_AMOUNT, 5)
    low = new_gift(api, "0", 1, tier=1, sort=-(2**31), image="/" + "i" * 199)
    assert every(api)[0]["id"] == low["id"]
    codes = [f"{a}{b}" for a in "ABCDEFGHIJ" for b in "KLMNOPQRST"]  # 100 codes
    wide = new_gift(api, "wide", 2, regions=codes)
    assert wide["regions"] == codes


def test_an_id_is_taken_once(api: Api) -> None:
    body = {"id": "rose", "name": "Another Rose", "price": 2}
    r = api.client.post("/v1/admin/gifts", json=body, headers=api.admin())
    assert err(r) == (422, "validation_error")
    assert r.json()["error"]["details"] == {"id": "rose", "reason": "exists"}
    rose = every(api)[0]
    assert (rose["name"], rose["price"]["amount"]) == ("Rose", 1)


def test_bad_changes_are_refused_and_change_nothing(api: Api) -> None:
    new_gift(api, "lucky-cat", 99, available_from="2026-02-01T00:00:00Z")
    before = every(api)
    api.clock.advance(timedelta(minutes=1))
    assert err(edit(api, "nothing-here", price=1)) == (404, "not_found")
    assert err(edit(api, "NOT_AN_ID", price=1)) == (404, "not_found")
    for path in ("nothing-here", "NOT_AN_ID", "a" * 65):
        r = api.client.delete(f"/v1/admin/gifts/{path}", headers=api.admin())
        assert err(r) == (404, "not_found"), path
    for bad in (
        {"price": None},
        {"name": None},
        {"tier": None},
        {"streakable": None},
        {"sort": None},
        {"active": None},
        {"id": "other"},
        {"price": 0},
        {"price": MAX_AMOUNT + 1},
        {"tier": 6},
        {"regions": ["jp"]},
        {"colour": "red"},
        {"available_until": "2026-02-01T00:00:00Z"},  # equal to the stored available_from
        {"available_from": "0001-01-01T00:00:00+05:00"},  # before year 1 in UTC
        {"available_until": "9999-12-31T23:00:00-05:00"},  # after 9999 in UTC
    ):
        assert err(edit(api, "lucky-cat", **bad)) == (422, "validation_error"), bad
    # the window is checked against what is stored
    r = edit(api, "lucky-cat", available_until="2026-01-15T00:00:00Z")
    assert err(r) == (422, "validation_error")
    assert r.json()["error"]["details"] == {
        "reason": "window",
        "available_from": "2026-02-01T00:00:00Z",
        "available_until": "2026-01-15T00:00:00Z",
    }
    assert every(api) == before
    # moving both edges at once is checked as a whole
    r = edit(
        api,
        "lucky-cat",
        available_from="2026-01-10T00:00:00Z",
        available_until="2026-01-15T00:00:00Z",
    )
    assert r.status_code == 200, r.text
