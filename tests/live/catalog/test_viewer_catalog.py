"""What viewers' apps read: the gifts they may send now (region, window, active), one gift and
why it cannot be sent, conditional answers (ETag / 304), and the gift images."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.conftest import Api, api

__all__ = ["api"]

SEEDS = [
    ("rose", "Rose", 1, 1, True),
    ("panda", "Panda", 5, 1, True),
    ("fireworks", "Fireworks", 999, 3, False),
    ("ferris-wheel", "Ferris Wheel", 3000, 4, False),
    ("drama-queen", "Drama Queen", 5000, 4, False),
    ("universe", "Universe", 34999, 5, False),
]
SEED_IDS = [s[0] for s in SEEDS]


def err(r: Any) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def person(api: Api, user_id: str, region: str | None) -> None:
    r = api.client.put(f"/v1/users/{user_id}", json={"region": region}, headers=api.platform())
    assert r.status_code in (200, 201), r.text


def new_gift(api: Api, gift_id: str, price: int, **fields: Any) -> None:
    body = {"id": gift_id, "name": gift_id.title(), "price": price}
    r = api.client.post("/v1/admin/gifts", json=body | fields, headers=api.admin())
    assert r.status_code == 201, r.text


def listed(api: Api, headers: dict[str, str], **params: str) -> list[str]:
    r = api.client.get("/v1/gifts", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return [g["id"] for g in r.json()["data"]]


def one(api: Api, gift_id: str, headers: dict[str, str], **params: str) -> dict[str, Any]:
    r = api.client.get(f"/v1/gifts/{gift_id}", headers=headers, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_the_seed_catalog(api: Api) -> None:
    api.create_users("u")
    r = api.client.get("/v1/gifts", headers=api.user("u"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["object"], body["region"]) == ("list", None)
    assert [
        (g["id"], g["name"], g["price"]["amount"], g["tier"], g["streakable"]) for g in body["data"]
    ] == SEEDS
    panda = body["data"][1]
    assert panda == {
        "id": "panda",
        "object": "gift",
        "name": "Panda",
        "price": {"asset": "COIN", "amount": 5, "display": "5"},
        "image": "/static/gifts/panda.svg",
        "tier": 1,
        "streakable": True,
        "available_from": None,
        "available_until": None,
        "regions": None,
    }
    # SPEC example: Panda 5, Drama Queen 5,000, Universe 34,999 coins
    prices = {g["id"]: g["price"] for g in body["data"]}
    assert prices["drama-queen"] == {"asset": "COIN", "amount": 5000, "display": "5000"}
    assert prices["universe"] == {"asset": "COIN", "amount": 34999, "display": "34999"}
    assert all(g["image"] == f"/static/gifts/{g['id']}.svg" for g in body["data"])
    # an API key, with or without a region, sees the same gifts (all are offered everywhere)
    assert listed(api, api.platform()) == SEED_IDS
    assert listed(api, api.admin(), region="JP") == SEED_IDS
    assert err(api.client.get("/v1/gifts")) == (401, "unauthenticated")
    assert err(api.client.get("/v1/gifts/rose")) == (401, "unauthenticated")


def test_one_gift(api: Api) -> None:
    api.create_users("u")
    body = one(api, "drama-queen", api.user("u"))
    assert body["price"]["amount"] == 5000 and body["tier"] == 4
    assert (body["available"], body["unavailable_reason"]) == (True, None)
    for missing in ("nothing-here", "Panda", "NOT_AN_ID", "a" * 65, "rose.svg"):
        r = api.client.get(f"/v1/gifts/{missing}", headers=api.user("u"))
        assert err(r) == (404, "not_found"), missing


def test_region_filtering(api: Api) -> None:
    new_gift(api, "sakura", 10, regions=["JP"], sort=15)
    new_gift(api, "eagle", 20, regions=["US", "CA"], sort=15)
    person(api, "jp", "JP")
    person(api, "us", "US")
    person(api, "nowhere", None)
    with_sakura = ["rose", "sakura", *SEED_IDS[1:]]
    with_eagle = ["rose", "eagle", *SEED_IDS[1:]]
    assert listed(api, api.user("jp")) == with_sakura
    assert listed(api, api.user("us")) == with_eagle
    # no region on the profile (or no profile at all): only gifts offered everywhere
    assert listed(api, api.user("nowhere")) == SEED_IDS
    assert listed(api, api.user("never-created")) == SEED_IDS
    r = api.client.get("/v1/gifts", headers=api.user("jp"))
    assert r.json()["region"] == "JP"
    # API keys pass the region; without one, only gifts offered everywhere
    assert listed(api, api.platform(), region="JP") == with_sakura
    assert listed(api, api.admin(), region="CA") == with_eagle
    assert listed(api, api.platform()) == SEED_IDS
    for bad in ("jp", "JPN", "*", ""):
        r = api.client.get("/v1/gifts", headers=api.platform(), params={"region": bad})
        assert err(r) == (422, "validation_error"), bad
    # a user's region is the profile's: a user token may not choose another one
    r = api.client.get("/v1/gifts", headers=api.user("us"), params={"region": "JP"})
    assert err(r) == (403, "forbidden")
    r = api.client.get("/v1/gifts/sakura", headers=api.user("us"), params={"region": "JP"})
    assert err(r) == (403, "forbidden")
    # one gift: shown to everyone, with why it cannot be sent here
    sakura = one(api, "sakura", api.user("us"))
    assert (sakura["available"], sakura["unavailable_reason"]) == (False, "region")
    assert sakura["regions"] == ["JP"]
    assert one(api, "sakura", api.user("jp"))["available"] is True
    assert one(api, "sakura", api.platform(), region="JP")["available"] is True
    assert one(api, "sakura", api.platform())["unavailable_reason"] == "region"
    # the platform moves the user: the catalog follows the profile
    person(api, "us", "JP")
    assert listed(api, api.user("us")) == with_sakura


def test_windows_follow_the_server_clock(api: Api) -> None:
    api.create_users("u")
    new_gift(
        api,
        "firefly",
        50,
        available_from="2026-01-01T01:00:00Z",
        available_until="2026-01-01T02:00:00Z",
        sort=15,
    )
    new_gift(api, "last-call", 7, available_until="2026-01-01T01:30:00Z", sort=16)
    with_both = ["rose", "firefly", "last-call", *SEED_IDS[1:]]

    def at(when: str) -> tuple[list[str], str | None]:
        api.clock.set(datetime.fromisoformat(when).replace(tzinfo=UTC))
        headers = api.user("u")
        return listed(api, headers), one(api, "firefly", headers)["unavailable_reason"]

    assert at("2026-01-01T00:59:59.999999") == (["rose", "last-call", *SEED_IDS[1:]], "not_yet")
    assert at("2026-01-01T01:00:00") == (with_both, None)  # from is included
    assert at("2026-01-01T01:29:59") == (with_both, None)
    assert at("2026-01-01T01:30:00") == (["rose", "firefly", *SEED_IDS[1:]], None)
    assert at("2026-01-01T01:59:59.999999") == (["rose", "firefly", *SEED_IDS[1:]], None)
    assert at("2026-01-01T02:00:00") == (SEED_IDS, "ended")  # until is excluded
    firefly = one(api, "firefly", api.platform())
    assert (firefly["available_from"], firefly["available_until"]) == (
        "2026-01-01T01:00:00Z",
        "2026-01-01T02:00:00Z",
    )
    # the admin list keeps gifts whose window has closed
    every = api.client.get("/v1/admin/gifts", headers=api.admin()).json()["data"]
    assert {"firefly", "last-call"} <= {g["id"] for g in every}


def test_a_deactivated_gift_is_not_listed_but_can_be_looked_up(api: Api) -> None:
    api.create_users("u")
    r = api.client.delete("/v1/admin/gifts/panda", headers=api.admin())
    assert r.status_code == 200, r.text
    assert listed(api, api.user("u")) == [g for g in SEED_IDS if g != "panda"]
    panda = one(api, "panda", api.user("u"))
    assert (panda["available"], panda["unavailable_reason"]) == (False, "inactive")
    assert panda["price"]["amount"] == 5
    r = api.client.put("/v1/admin/gifts/panda", json={"active": True}, headers=api.admin())
    assert r.status_code == 200, r.text
    assert listed(api, api.user("u")) == SEED_IDS


# --- conditional answers -----------------------------------------------------------------------
def get(api: Api, path: str, headers: dict[str, str], etag: str | None = None) -> Any:
    if etag is not None:
        headers = headers | {"If-None-Match": etag}
    return api.client.get(path, headers=headers)


def test_etag_and_304(api: Api) -> None:
    api.create_users("u")
    first = get(api, "/v1/gifts", api.user("u"))
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert first.headers["cache-control"] == "private, no-cache"
    assert get(api, "/v1/gifts", api.user("u")).headers["etag"] == etag  # stable
    for sent in (etag, f"W/{etag}", f'"nope", {etag}', f'W/"x",W/{etag}', "*"):
        r = get(api, "/v1/gifts", api.user("u"), sent)
        assert r.status_code == 304, sent
        assert r.content == b""
        assert r.headers["etag"] == etag
        assert r.headers["cache-control"] == "private, no-cache"
    for sent in ('"nope"', etag.strip('"'), 'W/"nope"', ""):
        r = get(api, "/v1/gifts", api.user("u"), sent)
        assert (r.status_code, r.headers["etag"]) == (200, etag), sent
        assert r.json() == first.json()
    # one gift is conditional too
    rose = get(api, "/v1/gifts/rose", api.user("u"))
    assert rose.headers["etag"] != etag
    assert get(api, "/v1/gifts/rose", api.user("u"), rose.headers["etag"]).status_code == 304
    # a refusal carries no tag
    r = get(api, "/v1/gifts/nothing-here", api.user("u"), "*")
    assert r.status_code == 404 and "etag" not in r.headers


def test_etag_changes_when_an_operator_changes_a_gift(api: Api) -> None:
    api.create_users("u")
    etag = get(api, "/v1/gifts", api.user("u")).headers["etag"]
    rose_etag = get(api, "/v1/gifts/panda", api.user("u")).headers["etag"]
    r = api.client.put("/v1/admin/gifts/panda", json={"price": 6}, headers=api.admin())
    assert r.status_code == 200, r.text
    after = get(api, "/v1/gifts", api.user("u"), etag)
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert after.json()["data"][1]["price"]["amount"] == 6
    assert get(api, "/v1/gifts/panda", api.user("u"), rose_etag).status_code == 200
    # a new gift, and a deactivation, change it again
    new_gift(api, "comet", 300)
    third = get(api, "/v1/gifts", api.user("u"), after.headers["etag"])
    assert third.status_code == 200 and third.headers["etag"] != after.headers["etag"]
    api.client.delete("/v1/admin/gifts/comet", headers=api.admin())
    fourth = get(api, "/v1/gifts", api.user("u"), third.headers["etag"])
    assert fourth.status_code == 200 and fourth.headers["etag"] == after.headers["etag"]


def test_etag_changes_when_a_window_opens_and_closes(api: Api) -> None:
    api.create_users("u")
    new_gift(
        api,
        "firefly",
        50,
        available_from="2026-01-01T01:00:00Z",
        available_until="2026-01-01T02:00:00Z",
    )
    before = get(api, "/v1/gifts", api.user("u")).headers["etag"]
    one_before = get(api, "/v1/gifts/firefly", api.user("u")).headers["etag"]
    api.clock.advance(timedelta(hours=1))  # opens
    opened = get(api, "/v1/gifts", api.user("u"), before)
    assert opened.status_code == 200 and "firefly" in [g["id"] for g in opened.json()["data"]]
    assert get(api, "/v1/gifts/firefly", api.user("u"), one_before).status_code == 200
    during = opened.headers["etag"]
    assert get(api, "/v1/gifts", api.user("u"), during).status_code == 304
    api.clock.advance(timedelta(minutes=59))
    assert get(api, "/v1/gifts", api.user("u"), during).status_code == 304
    api.clock.advance(timedelta(minutes=1))  # closes
    closed = get(api, "/v1/gifts", api.user("u"), during)
    assert closed.status_code == 200 and "firefly" not in [g["id"] for g in closed.json()["data"]]
    # the same answer as before it opened: the same tag (it names the body, not the time)
    assert closed.headers["etag"] == before


def test_etag_differs_between_regions(api: Api) -> None:
    person(api, "jp", "JP")
    person(api, "us", "US")
    person(api, "nowhere", None)
    tags = {
        get(api, "/v1/gifts", headers).headers["etag"]
        for headers in (api.user("jp"), api.user("us"), api.user("nowhere"))
    }
    assert len(tags) == 3  # the same six gifts, but each answer names its region
    jp = get(api, "/v1/gifts", api.user("jp")).headers["etag"]
    assert get(api, "/v1/gifts", api.user("us"), jp).status_code == 200
    r = api.client.get(
        "/v1/gifts", params={"region": "JP"}, headers=api.platform() | {"If-None-Match": jp}
    )
    assert r.status_code == 304  # the same answer, whoever asks
    new_gift(api, "sakura", 10, regions=["JP"])
    assert get(api, "/v1/gifts", api.user("jp"), jp).status_code == 200


# --- images ------------------------------------------------------------------------------------
def test_seed_gift_images_are_served(api: Api) -> None:
    api.create_users("u")
    for gift in api.client.get("/v1/gifts", headers=api.user("u")).json()["data"]:
        r = api.client.get(gift["image"])  # static files need no credentials
        assert r.status_code == 200, gift["image"]
        assert r.headers["content-type"].startswith("image/svg+xml"), gift["image"]
        assert r.text.lstrip().startswith("<svg") and r.text.rstrip().endswith("</svg>")
        assert len(r.content) < 4096  # small enough for a gift panel
    assert api.client.get("/static/gifts/nothing.svg").status_code == 404
