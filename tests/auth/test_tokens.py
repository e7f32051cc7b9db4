"""User JWTs: required claims, a bounded lifetime, a valid user id in ``sub``; minting refuses
what verification would refuse. Unit tests on ``tokens`` and the same rules through HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from giftflow.api import create_app
from giftflow.auth.tokens import (
    ALGORITHM,
    TokenRequestInvalid,
    mint_user_token,
    verify_user_token,
)
from giftflow.clock import FrozenClock
from giftflow.errors import Unauthenticated
from giftflow.settings import Settings
from tests.api.conftest import SECRET, make_keys

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())
BAD_USER_IDS = ["", "alice bob", "x" * 65, "user:1:coins", "../admin", "é", "a\n"]


def sign(claims: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(token: str, max_ttl: int = 900, now: datetime = NOW) -> str:
    return verify_user_token(token, SECRET, now, 30, max_ttl_seconds=max_ttl)


def refusal(token: str, max_ttl: int = 900, now: datetime = NOW) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        verify(token, max_ttl, now)
    assert caught.value.code == "unauthenticated" and caught.value.status == 401
    return caught.value


# --- verification ----------------------------------------------------------------------------
def test_a_minted_token_verifies_to_its_user() -> None:
    assert verify(mint_user_token("alice.B-9_", SECRET, NOW, 900)) == "alice.B-9_"


def test_lifetime_up_to_the_maximum_is_accepted_and_beyond_it_refused() -> None:
    assert verify(sign({"sub": "u1", "iat": T, "exp": T + 900})) == "u1"
    error = refusal(sign({"sub": "u1", "iat": T, "exp": T + 901}))
    assert error.details["reason"] == "lifetime_too_long"
    assert "900" in error.message
    # a year-long token signed with the right secret is still refused
    assert refusal(sign({"sub": "u1", "iat": T, "exp": T + 365 * 86400})).details == {
        "reason": "lifetime_too_long"
    }


def test_the_maximum_is_the_one_passed_in() -> None:
    token = sign({"sub": "u1", "iat": T, "exp": T + 3600})
    assert refusal(token, max_ttl=900).details["reason"] == "lifetime_too_long"
    assert verify(token, max_ttl=3600) == "u1"


@pytest.mark.parametrize("missing", ["iat", "exp", "sub"])
def test_iat_exp_and_sub_are_required(missing: str) -> None:
    claims: dict[str, Any] = {"sub": "u1", "iat": T, "exp": T + 60}
    del claims[missing]
    assert refusal(sign(claims)).details["reason"] == "MissingRequiredClaimError"


def test_a_token_issued_in_the_future_is_refused_beyond_the_leeway() -> None:
    # a far-future iat would otherwise stretch a 15-minute lifetime over a year
    far = T + 365 * 86400
    assert refusal(sign({"sub": "u1", "iat": far, "exp": far + 600})).details == {
        "reason": "issued_in_future"
    }
    assert verify(sign({"sub": "u1", "iat": T + 30, "exp": T + 630})) == "u1"  # within leeway
    assert refusal(sign({"sub": "u1", "iat": T + 31, "exp": T + 631})).details == {
        "reason": "issued_in_future"
    }


def test_exp_not_after_iat_and_non_integer_dates_are_refused() -> None:
    assert refusal(sign({"sub": "u1", "iat": T, "exp": T})).details == {"reason": "bad_claims"}
    assert refusal(sign({"sub": "u1", "iat": True, "exp": T + 60})).details == {
        "reason": "bad_claims"
    }


def test_expiry_honours_the_leeway() -> None:
    token = sign({"sub": "u1", "iat": T, "exp": T + 60})
    assert verify(token, now=NOW + timedelta(seconds=90)) == "u1"
    assert refusal(token, now=NOW + timedelta(seconds=91)).details == {"reason": "expired"}


@pytest.mark.parametrize("sub", [*BAD_USER_IDS, 42, None, ["u1"]])
def test_sub_must_be_a_valid_user_id(sub: object) -> None:
    error = refusal(sign({"sub": sub, "iat": T, "exp": T + 60}))
    assert error.code == "unauthenticated"


def test_wrong_secret_is_refused() -> None:
    token = sign({"sub": "u1", "iat": T, "exp": T + 60}, secret="another-secret-another-secret-12")
    assert refusal(token).details == {"reason": "InvalidSignatureError"}


# --- minting ---------------------------------------------------------------------------------
@pytest.mark.parametrize("ttl", [0, -5, 901, 86400])
def test_mint_refuses_a_lifetime_outside_1_to_the_maximum(ttl: int) -> None:
    with pytest.raises(TokenRequestInvalid, match="between 1 and 900 seconds"):
        mint_user_token("u1", SECRET, NOW, ttl)


def test_mint_accepts_a_longer_lifetime_only_with_a_higher_maximum() -> None:
    token = mint_user_token("u1", SECRET, NOW, 3600, max_ttl_seconds=3600)
    assert verify(token, max_ttl=3600) == "u1"
    claims = jwt.decode(token, SECRET, algorithms=[ALGORITHM], options={"verify_exp": False})
    assert claims["exp"] - claims["iat"] == 3600


@pytest.mark.parametrize("user_id", BAD_USER_IDS)
def test_mint_refuses_an_invalid_user_id(user_id: str) -> None:
    with pytest.raises(TokenRequestInvalid, match="not a valid user id"):
        mint_user_token(user_id, SECRET, NOW, 60)


def test_mint_without_a_secret_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="GIFTFLOW_JWT_SECRET"):
        mint_user_token("u1", "", NOW, 60)


# --- through HTTP ----------------------------------------------------------------------------
@contextmanager
def make_client(database_url: str, clock: FrozenClock, **settings: Any) -> Iterator[TestClient]:
    """An app on ``database_url`` with ``settings``, where user ``u1`` exists."""
    _, platform_key = make_keys(database_url, clock)
    app = create_app(
        Settings(database_url=database_url, jwt_secret=SECRET, pending_sweep_seconds=0, **settings),
        clock,
    )
    with TestClient(app) as client:
        r = client.put("/v1/users/u1", json={}, headers={"Authorization": f"Bearer {platform_key}"})
        assert r.status_code == 201, r.text
        yield client


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def client(database_url: str, clock: FrozenClock) -> Iterator[TestClient]:
    with make_client(database_url, clock) as c:
        yield c


def get_wallet(client: TestClient, claims: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    r = client.get("/v1/wallet", headers={"Authorization": f"Bearer {sign(claims)}"})
    body: dict[str, Any] = r.json()
    return r.status_code, body


def now_of(clock: FrozenClock) -> int:
    return int(clock.now().timestamp())


def test_http_refuses_a_token_living_longer_than_the_default_maximum(
    client: TestClient, clock: FrozenClock
) -> None:
    t = now_of(clock)
    status, body = get_wallet(client, {"sub": "u1", "iat": t, "exp": t + 86400})
    assert status == 401 and body["error"]["code"] == "unauthenticated"
    assert body["error"]["details"] == {"reason": "lifetime_too_long"}
    # the same user with a 15-minute token gets past authentication
    status, body = get_wallet(client, {"sub": "u1", "iat": t, "exp": t + 900})
    assert status == 200 and body["user_id"] == "u1", body


def test_http_refuses_a_token_without_iat_and_a_bad_sub(
    client: TestClient, clock: FrozenClock
) -> None:
    t = now_of(clock)
    status, body = get_wallet(client, {"sub": "u1", "exp": t + 600})
    assert (status, body["error"]["code"]) == (401, "unauthenticated")
    status, body = get_wallet(client, {"sub": "user:u1:coins", "iat": t, "exp": t + 600})
    assert (status, body["error"]["code"]) == (401, "unauthenticated")
    assert body["error"]["details"] == {"reason": "bad_subject"}


def test_http_uses_the_configured_maximum(database_url: str, clock: FrozenClock) -> None:
    t = now_of(clock)
    with make_client(database_url, clock, jwt_max_ttl_seconds=3600) as client:
        status, body = get_wallet(client, {"sub": "u1", "iat": t, "exp": t + 3600})
        assert status == 200 and body["user_id"] == "u1", body
        status, body = get_wallet(client, {"sub": "u1", "iat": t, "exp": t + 3601})
        assert status == 401 and body["error"]["details"] == {"reason": "lifetime_too_long"}
