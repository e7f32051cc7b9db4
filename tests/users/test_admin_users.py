"""The back office's users: search, one user with guardian links and money, and an operator's
change of KYC status, freeze or age verification (audited; a freeze acts on lives at once)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.test_auth_and_errors import error
from tests.live.conftest import OpenLive, open_live

__all__ = ["open_live"]


def put(api: Api, user_id: str, **fields: Any) -> None:
    r = api.client.put(f"/v1/users/{user_id}", json=fields, headers=api.platform())
    assert r.status_code in (200, 201), r.text


def search(api: Api, **params: Any) -> dict[str, Any]:
    r = api.client.get("/v1/admin/users", params=params, headers=api.admin())
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ids(page: dict[str, Any]) -> list[str]:
    return [u["id"] for u in page["data"]]


def test_search_by_id_or_display_name_prefix(api: Api) -> None:
    put(api, "al2", display_name="Zed")
    put(api, "u-alice", display_name="Alice Martin", region="FR")
    put(api, "u-bob", display_name="Bob")
    put(api, "x_1")
    put(api, "xa1")
    assert ids(search(api)) == ["al2", "u-alice", "u-bob", "x_1", "xa1"]
    assert ids(search(api, q="al")) == ["al2", "u-alice"]  # id, or name in any case
    assert ids(search(api, q="ALICE")) == ["u-alice"]
    assert ids(search(api, q="u-")) == ["u-alice", "u-bob"]
    assert ids(search(api, q="x_")) == ["x_1"]  # "_" is no wildcard
    assert ids(search(api, q="%")) == []  # a wildcard is a plain character
    assert ids(search(api, q="nobody")) == []
    user = search(api, q="u-alice")["data"][0]
    assert user | {"created_at": "", "updated_at": ""} == {
        "id": "u-alice",
        "object": "user",
        "display_name": "Alice Martin",
        "region": "FR",
        "birth_date": None,
        "age_verified": False,
        "follower_count": 0,
        "kyc_status": "unverified",
        "frozen": False,
        "created_at": "",
        "updated_at": "",
    }


def test_search_pages(api: Api) -> None:
    for n in range(5):
        put(api, f"user{n}")
    first = search(api, limit=2)
    assert ids(first) == ["user0", "user1"] and first["next_cursor"] == "user1"
    second = search(api, limit=2, cursor=first["next_cursor"])
    assert ids(second) == ["user2", "user3"]
    last = search(api, limit=2, cursor=second["next_cursor"])
    assert ids(last) == ["user4"] and last["next_cursor"] is None
    for bad in ({"limit": 0}, {"limit": 201}, {"q": "x" * 101}, {"cursor": "y" * 65}):
        r = api.client.get("/v1/admin/users", params=bad, headers=api.admin())
        assert error(r) == (422, "validation_error")


def test_one_user_with_guardian_links_balances_and_holds(api: Api) -> None:
    put(api, "kid", birth_date="2012-05-01", display_name="Kid")
    put(api, "mum")
    put(api, "other")
    r = api.client.post(
        "/v1/guardians/links", json={"guardian_id": "mum", "ward_id": "kid"}, headers=api.platform()
    )
    assert r.status_code == 201, r.text
    link = r.json()
    api.grant("user:kid:coins", 70, "g-1")
    r = api.client.post(
        "/v1/admin/pending-transfers",
        json={
            "source": "user:kid:coins",
            "destination": "platform:equity:grants",
            "asset": "COIN",
            "amount": 20,
        },
        headers=api.admin("p-1"),
    )
    assert r.status_code == 201, r.text

    r = api.client.get("/v1/admin/users/kid", headers=api.admin())
    assert r.status_code == 200, r.text
    kid = r.json()
    assert kid["id"] == "kid" and kid["birth_date"] == "2012-05-01"
    assert kid["guardian_links"] == [
        {
            "id": link["id"],
            "object": "guardian_link",
            "role": "ward",
            "guardian_id": "mum",
            "ward_id": "kid",
            "purchases_enabled": True,
            "daily_cap_coins": None,
            "created_at": link["created_at"],
            "updated_at": link["updated_at"],
        }
    ]
    assert {"path": "user:kid:coins", "asset": "COIN", "amount": 50, "display": "50"} in kid[
        "balances"
    ]
    assert kid["held"] == [{"asset": "COIN", "amount": 20, "display": "20"}]
    assert kid["spending_frozen"] is None
    mum = api.client.get("/v1/admin/users/mum", headers=api.admin()).json()
    assert [(x["role"], x["ward_id"]) for x in mum["guardian_links"]] == [("guardian", "kid")]
    assert mum["balances"] == [] and mum["held"] == []
    other = api.client.get("/v1/admin/users/other", headers=api.admin()).json()
    assert other["guardian_links"] == []
    assert error(api.client.get("/v1/admin/users/ghost", headers=api.admin())) == (404, "not_found")
    r = api.client.get("/v1/admin/users/bad id", headers=api.admin())
    assert error(r) == (422, "validation_error")


def test_only_admins(api: Api) -> None:
    put(api, "u1")
    for method, path, body in (
        ("GET", "/v1/admin/users", None),
        ("GET", "/v1/admin/users/u1", None),
        ("PATCH", "/v1/admin/users/u1", {"frozen": True}),
    ):
        for headers, expected in (
            (api.user("u1"), (403, "forbidden")),  # even the user themself
            (api.platform(), (403, "forbidden")),
            ({}, (401, "unauthenticated")),
        ):
            r = api.client.request(method, path, json=body, headers=headers)
            assert error(r) == expected, (method, path, r.text)
    assert api.client.get("/v1/users/u1", headers=api.admin()).json()["frozen"] is False


def test_patch_changes_only_what_is_sent_and_is_audited(api: Api) -> None:
    put(api, "c1", display_name="Cara", follower_count=5, region="US")
    r = api.client.patch(
        "/v1/admin/users/c1", json={"kyc_status": "verified", "frozen": True}, headers=api.admin()
    )
    assert r.status_code == 200, r.text
    user = r.json()
    assert (user["kyc_status"], user["frozen"], user["age_verified"]) == ("verified", True, False)
    assert (user["display_name"], user["follower_count"], user["region"]) == ("Cara", 5, "US")
    r = api.client.patch("/v1/admin/users/c1", json={"age_verified": True}, headers=api.admin())
    assert r.json()["age_verified"] is True and r.json()["frozen"] is True

    audit = api.client.get(
        "/v1/admin/audit", params={"target": "user:c1"}, headers=api.admin()
    ).json()["data"]
    second, first = audit
    assert first["action"] == second["action"] == "user.update"
    assert first["request"] == {"kyc_status": "verified", "frozen": True}
    assert (first["before"]["kyc_status"], first["before"]["frozen"]) == ("unverified", False)
    assert (first["after"]["kyc_status"], first["after"]["frozen"]) == ("verified", True)
    assert second["before"]["frozen"] is True and second["after"]["age_verified"] is True


def test_patch_refuses_bad_input_and_unknown_users(api: Api) -> None:
    put(api, "u1")
    for body in (
        {"frozen": None},
        {"kyc_status": "maybe"},
        {"frozen": "yes"},
        {"follower_count": 10},  # the platform's fact, not the operator's
        {"display_name": "X"},
        {"balance": 5},
    ):
        r = api.client.patch("/v1/admin/users/u1", json=body, headers=api.admin())
        assert error(r) == (422, "validation_error"), body
    r = api.client.patch("/v1/admin/users/ghost", json={"frozen": True}, headers=api.admin())
    assert error(r) == (404, "not_found")
    assert error(api.client.get("/v1/users/ghost", headers=api.admin())) == (404, "not_found")
    after = api.client.get("/v1/users/u1", headers=api.admin()).json()
    assert (after["frozen"], after["kyc_status"]) == (False, "unverified")
    statuses = [
        e["status_code"]
        for e in api.client.get(
            "/v1/admin/audit", params={"action": "user.update"}, headers=api.admin()
        ).json()["data"]
    ]
    assert statuses == [404] + [422] * 6  # refusals are written too


def test_freezing_a_creator_takes_their_live_out_of_gifting(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        api.creator("c1")
        api.viewer("v1", coins=10)
        live = api.start("c1")
        assert api.live(live)["eligible"] is True
        r = api.client.patch("/v1/admin/users/c1", json={"frozen": True}, headers=api.admin())
        assert r.status_code == 200, r.text
        view = api.live(live)
        assert (view["eligible"], view["ineligible_reason"]) == (False, "frozen")
        r = api.gift("v1", live, idem="g-1")
        assert r.status_code == 409 and r.json()["error"]["code"] == "creator_not_eligible"
        assert api.coins("v1") == 10 and api.diamonds("c1") == (0, 0)
        r = api.client.patch("/v1/admin/users/c1", json={"frozen": False}, headers=api.admin())
        assert api.live(live)["eligible"] is True
        assert api.gift("v1", live, idem="g-2").status_code == 201
        assert api.coins("v1") == 9
