"""The second factor through the API: enrol, confirm, verify, replay, the ±1 step window, the
lock after five wrong codes, recovery codes, re-enrolment, and what is stored."""

from __future__ import annotations

import re
import urllib.parse
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from giftflow.schema import recovery_codes, totp_credentials

from .conftest import FactorApi, err, fapi, running

__all__ = ["fapi"]

RECOVERY = re.compile(r"^[a-z]{4}-[a-z]{4}-[a-z]{4}$")


def test_enrol_confirm_verify(fapi: FactorApi) -> None:
    fapi.person("alice")
    assert fapi.factor_state("alice") == {
        "object": "second_factor",
        "state": "none",
        "confirmed_at": None,
        "recovery_codes_left": 0,
        "locked_until": None,
    }
    r = fapi.post("/v1/creator/totp", "alice")
    assert r.status_code == 201, r.text
    body = r.json()
    secret = body["secret"]
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    uri = urlparse(body["otpauth_uri"])
    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/giftflow:alice")
    query = parse_qs(uri.query)
    assert query["secret"] == [secret] and query["issuer"] == ["giftflow"]
    assert (body["issuer"], body["account_name"], body["digits"], body["period_seconds"]) == (
        "giftflow",
        "alice",
        6,
        30,
    )
    # the QR code is an SVG document
    svg = ET.fromstring(body["qr_svg"])
    assert svg.tag in ("svg", "{http://www.w3.org/2000/svg}svg")
    assert body["qr_svg"].lstrip().startswith("<svg")
    # and as a data URI an <img> can show: a standalone SVG document (with its namespace)
    head, _, data = body["qr_data_uri"].partition(",")
    assert head.startswith("data:image/svg+xml")
    image = ET.fromstring(urllib.parse.unquote(data))
    assert image.tag == "{http://www.w3.org/2000/svg}svg"
    assert fapi.factor_state("alice")["state"] == "pending"

    # a pending factor verifies nothing yet
    assert err(fapi.verify("alice", fapi.code(secret))) == (409, "second_factor_required")

    r = fapi.post("/v1/creator/totp/confirm", "alice", {"code": fapi.code(secret)})
    assert r.status_code == 200, r.text
    confirmed = r.json()
    codes = confirmed["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(RECOVERY.fullmatch(c) for c in codes)
    assert confirmed["state"] == "active"
    assert confirmed["confirmed_at"] == "2026-01-01T00:00:00Z"
    assert confirmed["recovery_codes_left"] == 10
    state = fapi.factor_state("alice")
    assert state == {k: v for k, v in confirmed.items() if k != "recovery_codes"}

    r = fapi.verify("alice", fapi.next_code(secret))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "object": "second_factor_verification",
        "verified": True,
        "method": "totp",
        "recovery_codes_left": 10,
    }


def test_nothing_secret_is_stored_in_plain_text(fapi: FactorApi) -> None:
    factor = fapi.active_factor("alice")
    with fapi.ctx.engine.connect() as conn:
        row = conn.execute(
            select(totp_credentials).where(totp_credentials.c.user_id == "alice")
        ).one()
        hashes = (
            conn.execute(
                select(recovery_codes.c.code_hash).where(recovery_codes.c.user_id == "alice")
            )
            .scalars()
            .all()
        )
    stored = " ".join(str(v) for v in row)
    assert factor.secret not in stored and factor.secret.lower() not in stored
    assert row.secret_encrypted.startswith("gAAAAA")  # a Fernet token
    assert len(hashes) == 10 and all(h.startswith("$argon2id$") for h in hashes)
    for code in factor.recovery_codes:
        assert not any(code in h or code.replace("-", "") in h for h in hashes)


def test_a_code_is_accepted_once(fapi: FactorApi) -> None:
    factor = fapi.active_factor("alice")
    # the confirming code itself was used up
    assert err(fapi.verify("alice", fapi.code(factor.secret))) == (409, "second_factor_invalid")
    code = fapi.next_code(factor.secret)
    assert fapi.verify("alice", code).status_code == 200
    r = fapi.verify("alice", code)
    assert err(r) == (409, "second_factor_invalid")
    assert r.json()["error"]["details"]["attempts_left"] == 4  # the success cleared the count
    # after the next step was used, the previous step's code is refused even inside the window
    fapi.clock.advance(timedelta(seconds=30))
    earlier = fapi.code(factor.secret, -1)
    assert fapi.verify("alice", fapi.code(factor.secret)).status_code == 200
    assert err(fapi.verify("alice", earlier)) == (409, "second_factor_invalid")


@pytest.mark.parametrize("offset", [-1, 1])
def test_one_step_either_side_is_accepted(fapi: FactorApi, offset: int) -> None:
    factor = fapi.active_factor("alice")
    fapi.clock.advance(timedelta(minutes=5))
    assert fapi.verify("alice", fapi.code(factor.secret, offset)).status_code == 200


@pytest.mark.parametrize("offset", [-2, 2])
def test_two_steps_away_is_refused(fapi: FactorApi, offset: int) -> None:
    factor = fapi.active_factor("alice")
    fapi.clock.advance(timedelta(minutes=5))
    assert err(fapi.verify("alice", fapi.code(factor.secret, offset))) == (
        409,
        "second_factor_invalid",
    )


def test_five_wrong_codes_lock_for_fifteen_minutes(fapi: FactorApi) -> None:
    factor = fapi.active_factor("alice")
    fapi.clock.advance(timedelta(minutes=1))
    for left in (4, 3, 2, 1):
        r = fapi.verify("alice", fapi.wrong_code(factor.secret))
        assert err(r) == (409, "second_factor_invalid")
        assert r.json()["error"]["details"]["attempts_left"] == left
    r = fapi.verify("alice", fapi.wrong_code(factor.secret))
    assert err(r) == (429, "second_factor_locked")
    assert r.headers["Retry-After"] == "900"
    assert r.json()["error"]["details"] == {
        "retry_after_seconds": 900,
        "locked_until": "2026-01-01T00:16:00Z",
    }
    assert fapi.factor_state("alice")["locked_until"] == "2026-01-01T00:16:00Z"

    # even the right code (or a recovery code) is refused while locked
    r = fapi.verify("alice", fapi.code(factor.secret))
    assert err(r) == (429, "second_factor_locked")
    assert err(fapi.verify("alice", factor.recovery_codes[0])) == (429, "second_factor_locked")
    fapi.clock.advance(timedelta(minutes=14))
    r = fapi.verify("alice", fapi.code(factor.secret))
    assert err(r) == (429, "second_factor_locked")
    assert r.headers["Retry-After"] == "60"

    fapi.clock.advance(timedelta(minutes=2))  # 16 minutes after the lock
    assert fapi.factor_state("alice")["locked_until"] is None
    assert fapi.verify("alice", fapi.code(factor.secret)).status_code == 200
    # the recovery code tried during the lock was not used up
    assert fapi.factor_state("alice")["recovery_codes_left"] == 10


def test_a_success_clears_the_count(fapi: FactorApi) -> None:
    factor = fapi.active_factor("alice")
    for _ in range(4):
        assert fapi.verify("alice", fapi.wrong_code(factor.secret)).status_code == 409
    assert fapi.verify("alice", fapi.next_code(factor.secret)).status_code == 200
    for _ in range(4):
        r = fapi.verify("alice", fapi.wrong_code(factor.secret))
        assert err(r) == (409, "second_factor_invalid")
    assert r.json()["error"]["details"]["attempts_left"] == 1


def test_after_a_lock_ends_five_more_tries(fapi: FactorApi) -> None:
    factor = fapi.active_factor("alice")
    for _ in range(5):
        fapi.verify("alice", fapi.wrong_code(factor.secret))
    fapi.clock.advance(timedelta(minutes=15))
    r = fapi.verify("alice", fapi.wrong_code(factor.secret))
    assert err(r) == (409, "second_factor_invalid")
    assert r.json()["error"]["details"]["attempts_left"] == 4


def test_malformed_codes_count_too(fapi: FactorApi) -> None:
    fapi.active_factor("alice")
    r = fapi.verify("alice", "12345678")
    assert err(r) == (409, "second_factor_invalid")
    assert r.json()["error"]["details"]["attempts_left"] == 4
    # a body that is not a code at all is a validation error, not an attempt
    assert err(fapi.verify("alice", "12")) == (422, "validation_error")
    assert err(fapi.verify("alice", "ab!cd#ef")) == (422, "validation_error")


def test_a_recovery_code_works_once(fapi: FactorApi) -> None:
    factor = fapi.active_factor("alice")
    code = factor.recovery_codes[3]
    typed = code.upper().replace("-", " ")  # case, spaces and hyphens do not matter
    r = fapi.verify("alice", typed)
    assert r.status_code == 200, r.text
    assert r.json()["method"] == "recovery_code" and r.json()["recovery_codes_left"] == 9
    assert err(fapi.verify("alice", code)) == (409, "second_factor_invalid")
    assert fapi.factor_state("alice")["recovery_codes_left"] == 9
    # an unknown recovery code is a counted failure
    r = fapi.verify("alice", "abcd-efgh-jkmn")
    assert r.json()["error"]["details"]["attempts_left"] == 3


def test_confirm_refusals(fapi: FactorApi) -> None:
    fapi.person("alice")
    r = fapi.post("/v1/creator/totp/confirm", "alice", {"code": "123456"})
    assert err(r) == (409, "second_factor_required")
    factor = fapi.enrol("alice")
    r = fapi.post("/v1/creator/totp/confirm", "alice", {"code": fapi.wrong_code(factor.secret)})
    assert err(r) == (409, "second_factor_invalid")
    r = fapi.post("/v1/creator/totp/confirm", "alice", {"code": "abcd-efgh-jkmn"})
    assert err(r) == (409, "second_factor_invalid")
    fapi.confirm(factor)
    r = fapi.post("/v1/creator/totp/confirm", "alice", {"code": fapi.next_code(factor.secret)})
    assert err(r) == (409, "invalid_transition")
    assert r.json()["error"]["details"] == {"state": "active"}


def test_a_pending_enrolment_is_replaced_freely(fapi: FactorApi) -> None:
    fapi.person("alice")
    first = fapi.enrol("alice")
    second = fapi.enrol("alice")
    assert first.secret != second.secret
    r = fapi.post("/v1/creator/totp/confirm", "alice", {"code": fapi.code(first.secret)})
    assert err(r) == (409, "second_factor_invalid")
    fapi.confirm(second)


def test_replacing_an_active_factor_needs_a_code_of_it(fapi: FactorApi) -> None:
    old = fapi.active_factor("alice")
    r = fapi.post("/v1/creator/totp", "alice")
    assert err(r) == (409, "second_factor_invalid")
    assert r.json()["error"]["details"] == {"reason": "code_required"}
    r = fapi.post("/v1/creator/totp", "alice", {})
    assert err(r) == (409, "second_factor_invalid")
    r = fapi.post("/v1/creator/totp", "alice", {"code": fapi.wrong_code(old.secret)})
    assert err(r) == (409, "second_factor_invalid")
    assert r.json()["error"]["details"]["attempts_left"] == 4  # counted like any attempt
    assert fapi.factor_state("alice")["state"] == "active"

    new = fapi.enrol("alice", fapi.next_code(old.secret))
    state = fapi.factor_state("alice")
    assert state["state"] == "pending" and state["recovery_codes_left"] == 0
    # the old factor and its recovery codes are gone
    assert err(fapi.verify("alice", old.recovery_codes[0])) == (409, "second_factor_required")
    fapi.confirm(new)
    assert err(fapi.verify("alice", fapi.next_code(old.secret))) == (409, "second_factor_invalid")
    assert fapi.verify("alice", fapi.next_code(new.secret)).status_code == 200


def test_replacing_with_a_recovery_code(fapi: FactorApi) -> None:
    old = fapi.active_factor("alice")  # the phone is lost: a recovery code replaces it
    fapi.enrol("alice", old.recovery_codes[0])
    assert fapi.factor_state("alice")["state"] == "pending"


def test_a_locked_factor_cannot_be_replaced(fapi: FactorApi) -> None:
    old = fapi.active_factor("alice")
    for _ in range(5):
        fapi.verify("alice", fapi.wrong_code(old.secret))
    r = fapi.post("/v1/creator/totp", "alice", {"code": fapi.next_code(old.secret)})
    assert err(r) == (429, "second_factor_locked")
    assert fapi.factor_state("alice")["state"] == "active"


def test_enrolment_needs_a_user_the_platform_created(fapi: FactorApi) -> None:
    assert err(fapi.post("/v1/creator/totp", "ghost")) == (422, "user_not_found")
    assert fapi.factor_state("ghost")["state"] == "none"


def test_user_tokens_only(fapi: FactorApi) -> None:
    for path in ("/v1/creator/totp", "/v1/creator/identity"):
        assert err(fapi.client.get(path, headers=fapi.admin())) == (403, "forbidden")
        assert err(fapi.client.get(path)) == (401, "unauthenticated")
    r = fapi.client.post("/v1/creator/totp", headers=fapi.platform())
    assert err(r) == (403, "forbidden")


def test_without_a_secrets_key_the_factor_is_unavailable(database_url: str) -> None:
    with running(database_url, "") as keyless:
        keyless.person("alice")
        r = keyless.post("/v1/creator/totp", "alice")
        assert err(r) == (503, "secrets_unavailable")
        assert "GIFTFLOW_SECRETS_KEY" in r.json()["error"]["message"]
        r = keyless.post("/v1/creator/totp/confirm", "alice", {"code": "123456"})
        assert err(r) == (503, "secrets_unavailable")
        # reading where one stands needs no key
        assert keyless.factor_state("alice")["state"] == "none"


def test_identity(fapi: FactorApi) -> None:
    fapi.person("alice")
    r = fapi.client.get("/v1/creator/identity", headers=fapi.user("alice"))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "object": "creator_identity",
        "user_id": "alice",
        "kyc_status": "unverified",
        "kyc_required": True,
        "second_factor": {
            "object": "second_factor",
            "state": "none",
            "confirmed_at": None,
            "recovery_codes_left": 0,
            "locked_until": None,
        },
    }
    r = fapi.client.put("/v1/users/alice", json={"kyc_status": "verified"}, headers=fapi.platform())
    assert r.status_code == 200, r.text
    fapi.confirm(fapi.enrol("alice"))
    body = fapi.client.get("/v1/creator/identity", headers=fapi.user("alice")).json()
    assert body["kyc_status"] == "verified"
    assert body["second_factor"]["state"] == "active"
    assert body["second_factor"]["recovery_codes_left"] == 10
    # a user the platform never created has not been verified
    body = fapi.client.get("/v1/creator/identity", headers=fapi.user("ghost")).json()
    assert body["kyc_status"] == "unverified"
