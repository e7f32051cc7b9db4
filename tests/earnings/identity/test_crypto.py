"""Sealing at rest: a key derived from the setting, rotation by listing several keys, values
bound to where they belong, and a clear refusal without a key."""

from __future__ import annotations

import base64

import pyotp
import pytest
from cryptography.fernet import Fernet

from giftflow.clock import FrozenClock
from giftflow.earnings.identity.crypto import (
    Sealer,
    SecretsUnavailable,
    derive_fernet_key,
    sealer_for,
)
from giftflow.earnings.identity.service import classify, matching_step, new_recovery_code
from giftflow.errors import all_error_classes

from .conftest import KEY_A, KEY_B


def test_round_trip_and_context() -> None:
    seal = Sealer.from_setting(KEY_A)
    token = seal.seal({"email": "p@example.com"}, "payout_method:alice")
    assert "example" not in token
    assert seal.open(token, "payout_method:alice") == {"email": "p@example.com"}
    # a token copied to another user's row does not open there
    with pytest.raises(SecretsUnavailable) as caught:
        seal.open(token, "payout_method:mallory")
    assert caught.value.details == {"reason": "wrong_context"}


def test_the_fernet_key_is_derived_with_hkdf() -> None:
    key = derive_fernet_key(KEY_A)
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert key == derive_fernet_key(KEY_A) and key != derive_fernet_key(KEY_B)
    # the setting itself is not used as the key
    token = Sealer.from_setting(KEY_A).seal("x", "c")
    assert Fernet(key).decrypt(token.encode()) == b'{"c":"c","v":"x"}'


def test_rotation_first_key_seals_every_key_opens() -> None:
    old = Sealer.from_setting(KEY_A)
    token = old.seal("JBSWY3DPEHPK3PXP", "totp:alice")
    rotated = Sealer.from_setting(f"{KEY_B}, {KEY_A}")
    assert rotated.key_count == 2
    assert rotated.open(token, "totp:alice") == "JBSWY3DPEHPK3PXP"
    assert not rotated.is_current(token)
    resealed = rotated.reseal(token)
    assert rotated.is_current(resealed)
    only_new = Sealer.from_setting(KEY_B)
    assert only_new.open(resealed, "totp:alice") == "JBSWY3DPEHPK3PXP"
    with pytest.raises(SecretsUnavailable) as caught:
        only_new.open(token, "totp:alice")  # the old key was dropped before re-sealing
    assert caught.value.details == {"reason": "undecryptable"}
    # new values are sealed under the first key
    assert only_new.open(rotated.seal("y", "c"), "c") == "y"


@pytest.mark.parametrize("setting", ["", "   ", "short", f"{KEY_A},", f",{KEY_A}"])
def test_a_missing_or_weak_key_is_refused(setting: str) -> None:
    with pytest.raises(SecretsUnavailable) as caught:
        Sealer.from_setting(setting)
    assert caught.value.status == 503 and caught.value.code == "secrets_unavailable"
    assert "GIFTFLOW_SECRETS_KEY" in caught.value.message


def test_sealers_are_cached_per_setting() -> None:
    assert sealer_for(KEY_A) is sealer_for(KEY_A)
    assert sealer_for(KEY_A) is not sealer_for(KEY_B)


def test_the_error_class_is_registered() -> None:
    assert SecretsUnavailable in all_error_classes()


def test_recovery_codes_and_code_classes() -> None:
    codes = {new_recovery_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        kind, canonical = classify(code)
        assert kind == "recovery_code" and canonical == code.replace("-", "")
        assert not set(canonical) & set("ilo")
    assert classify(" 123 456 ") == ("totp", "123456")
    assert classify("ABCD EFGH JKMN") == ("recovery_code", "abcdefghjkmn")
    assert classify("１２３４５６")[0] == "malformed"  # full-width digits are not a code
    assert classify("1234567")[0] == "malformed"
    assert classify("abcd-efgh-ijkl")[0] == "malformed"  # i and l are never in a code


def test_matching_step_window_and_replay() -> None:
    now = FrozenClock().now()
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    assert step == 1_767_225_600 // 30

    def code(offset: int) -> str:
        return totp.at(now, counter_offset=offset)

    for offset in (-1, 0, 1):
        assert matching_step(secret, code(offset), now, None) == step + offset
        assert matching_step(secret, code(offset), now, step + offset) is None
    assert matching_step(secret, code(-1), now, step - 2) == step - 1
    assert matching_step(secret, code(2), now, None) is None
    assert matching_step(secret, code(-2), now, None) is None
