"""Authentication, scopes, ownership (no BOLA), and the one error body shape."""

from __future__ import annotations

from datetime import timedelta

from .conftest import Api


def error(r: object) -> tuple[int, str]:
    body = r.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return r.status_code, body["error"]["code"]  # type: ignore[attr-defined]


def test_missing_credentials_are_401(api: Api) -> None:
    r = api.client.get("/v1/wallet")
    assert error(r) == (401, "unauthenticated")
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_unknown_api_key_and_garbage_token_are_401(api: Api) -> None:
    assert error(api.client.get("/v1/wallet", headers=api.headers("gfk_nope"))) == (
        401,
        "unauthenticated",
    )
    assert error(api.client.get("/v1/wallet", headers=api.headers("not.a.jwt"))) == (
        401,
        "unauthenticated",
    )


def test_expired_token_is_401_and_leeway_is_honoured(api: Api) -> None:
    api.create_users("u1")
    headers = api.user("u1", ttl=60)
    api.clock.advance(timedelta(seconds=60 + 29))
    assert api.client.get("/v1/wallet", headers=headers).status_code == 200
    api.clock.advance(timedelta(seconds=2))
    r = api.client.get("/v1/wallet", headers=headers)
    assert error(r) == (401, "unauthenticated")
    assert r.json()["error"]["details"]["reason"] == "expired"


def test_token_signed_with_another_secret_is_401(api: Api) -> None:
    from giftflow.auth.tokens import mint_user_token

    forged = mint_user_token("u1", "another-secret-another-secret-12", api.clock.now())
    assert error(api.client.get("/v1/wallet", headers=api.headers(forged))) == (
        401,
        "unauthenticated",
    )


def test_wrong_scope_is_403(api: Api) -> None:
    body = {
        "postings": [
            {"source": "user:a:coins", "destination": "user:b:coins", "asset": "COIN", "amount": 1}
        ]
    }
    r = api.client.post(
        "/v1/admin/transfers", json=body, headers=api.headers(api.platform_key, "k")
    )
    assert error(r) == (403, "forbidden")
    r = api.client.post(
        "/v1/admin/transfers", json=body, headers=api.user("a") | {"Idempotency-Key": "k"}
    )
    assert error(r) == (403, "forbidden")
    assert error(api.client.put("/v1/users/u1", json={}, headers=api.user("u1"))) == (
        403,
        "forbidden",
    )
    # KYC status and age are the platform's to set: an admin-only key may not
    r = api.client.put("/v1/users/u1", json={"kyc_status": "verified"}, headers=api.admin())
    assert error(r) == (403, "forbidden")
    assert error(api.client.get("/v1/users/u1", headers=api.admin())) == (404, "not_found")
    # an admin-only key may not use a user-only endpoint as if it were a user
    assert error(api.client.get("/v1/wallet", headers=api.admin())) == (403, "forbidden")


def test_user_cannot_read_another_users_wallet(api: Api) -> None:
    api.grant("user:alice:coins", 70, "g1")
    own = api.client.get("/v1/users/alice/wallet", headers=api.user("alice"))
    assert own.status_code == 200
    r = api.client.get("/v1/users/alice/wallet", headers=api.user("mallory"))
    assert error(r) == (404, "not_found")
    # and the answer is the same as for a user that does not exist
    r2 = api.client.get("/v1/users/nobody/wallet", headers=api.user("mallory"))
    assert r2.json() == r.json()
    # the platform may read anyone's; a user it never created is 404, like the profile
    assert api.client.get("/v1/users/alice/wallet", headers=api.platform()).status_code == 200
    r3 = api.client.get("/v1/users/nobody/wallet", headers=api.platform())
    assert error(r3) == (404, "not_found")
    assert error(api.client.get("/v1/users/nobody", headers=api.platform())) == (404, "not_found")


def test_unknown_fields_and_float_amounts_are_422(api: Api) -> None:
    posting = {"source": "platform:equity:grants", "destination": "user:a:coins", "asset": "COIN"}
    r = api.client.post(
        "/v1/admin/transfers",
        json={"postings": [posting | {"amount": 1}], "surprise": 1},
        headers=api.admin("k1"),
    )
    assert error(r) == (422, "validation_error")
    r = api.client.post(
        "/v1/admin/transfers",
        json={"postings": [posting | {"amount": 1.5}]},
        headers=api.admin("k2"),
    )
    assert error(r) == (422, "validation_error")
    assert r.json()["error"]["details"]["problems"][0]["field"] == "postings.0.amount"


def test_unknown_route_uses_error_shape(api: Api) -> None:
    assert error(api.client.get("/v1/nope")) == (404, "not_found")
