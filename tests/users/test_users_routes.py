"""PUT/GET /v1/users/{id}: only the platform writes profile facts; users read their own."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.test_auth_and_errors import error


def test_users_cannot_set_their_own_profile_but_platform_can(api: Api) -> None:
    r = api.client.put(
        "/v1/users/u9",
        json={
            "region": "US",
            "follower_count": 1000,
            "kyc_status": "verified",
            "birth_date": "2000-01-02",
        },
        headers=api.platform(),
    )
    assert r.status_code == 201
    assert r.json()["follower_count"] == 1000 and r.json()["kyc_status"] == "verified"
    r = api.client.put("/v1/users/u9", json={"follower_count": 1001}, headers=api.platform())
    assert r.status_code == 200
    assert r.json()["follower_count"] == 1001 and r.json()["region"] == "US"
    bad = api.client.put("/v1/users/u9", json={"balance": 5}, headers=api.platform())
    assert error(bad) == (422, "validation_error")
    assert api.client.get("/v1/users/u9", headers=api.user("u9")).json()["region"] == "US"
    assert error(api.client.get("/v1/users/u9", headers=api.user("u8"))) == (404, "not_found")


def test_bad_user_ids_and_nulls_are_refused(api: Api) -> None:
    r = api.client.put("/v1/users/bad id", json={}, headers=api.platform())
    assert error(r) == (422, "validation_error")
    r = api.client.put("/v1/users/" + "x" * 65, json={}, headers=api.platform())
    assert error(r) == (422, "validation_error")
    r = api.client.put("/v1/users/u1", json={"follower_count": None}, headers=api.platform())
    assert error(r) == (422, "validation_error")
    r = api.client.put("/v1/users/u1", json={"follower_count": -1}, headers=api.platform())
    assert error(r) == (422, "validation_error")
    assert error(api.client.get("/v1/users/u1", headers=api.platform())) == (404, "not_found")
