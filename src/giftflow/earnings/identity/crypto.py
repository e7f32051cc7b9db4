"""Encryption at rest for second-factor secrets and payout details.

``GIFTFLOW_SECRETS_KEY`` holds one key, or several separated by commas for rotation: the first
encrypts, every one of them decrypts (``MultiFernet``). Each key's UTF-8 bytes go through
HKDF-SHA256 (fixed salt and info, so the same setting always gives the same Fernet key) to a
32-byte Fernet key; a key should itself be random (``urlsafe base64`` of 32 random bytes, e.g.
``python -c "import secrets; print(secrets.token_urlsafe(32))"``): HKDF does not stretch a weak
passphrase.

A sealed value is bound to what it belongs to (``context``, e.g. ``totp:alice`` or
``payout_method:alice``): the plaintext is ``{"c": context, "v": value}``, checked on opening, so
a ciphertext copied into another user's row does not open there.

Without a key, or with one that cannot open a stored value, the features that need it answer
``503 secrets_unavailable``: that is the server's misconfiguration, not the caller's fault.
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from giftflow.errors import GiftflowError

MIN_KEY_CHARS = 16
_SALT = b"giftflow.secrets_key"
_INFO = b"giftflow fernet v1"


class SecretsUnavailable(GiftflowError):
    code, status = "secrets_unavailable", 503
    default_message = (
        "GIFTFLOW_SECRETS_KEY is not set (or cannot open a stored secret): second factors and "
        "payout methods are unavailable until an operator configures it."
    )


def derive_fernet_key(material: str) -> bytes:
    """The Fernet key (urlsafe base64 of 32 bytes) derived from one key of the setting."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(
        material.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw)


def parse_keys(setting: str) -> list[str]:
    """The keys of the setting, first (the one that encrypts) first; refuses an empty or short
    one with ``SecretsUnavailable``."""
    keys = [k.strip() for k in setting.split(",")]
    if not setting.strip():
        raise SecretsUnavailable()
    if any(len(k) < MIN_KEY_CHARS for k in keys):
        raise SecretsUnavailable(
            f"GIFTFLOW_SECRETS_KEY holds an empty or short key: each comma-separated key needs at "
            f"least {MIN_KEY_CHARS} characters (use urlsafe base64 of 32 random bytes).",
            reason="key_too_short",
        )
    return keys


class Sealer:
    """Seals (encrypts and authenticates) JSON values under the first key; opens under any."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretsUnavailable()
        self.key_count = len(keys)
        self._fernet = MultiFernet([Fernet(derive_fernet_key(k)) for k in keys])
        self._primary = Fernet(derive_fernet_key(keys[0]))

    @classmethod
    def from_setting(cls, setting: str) -> Sealer:
        return cls(parse_keys(setting))

    def seal(self, value: Any, context: str) -> str:
        plain = json.dumps({"c": context, "v": value}, separators=(",", ":"), sort_keys=True)
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, token: str, context: str) -> Any:
        try:
            plain = self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise SecretsUnavailable(
                "A stored secret cannot be decrypted with GIFTFLOW_SECRETS_KEY (was the key that "
                "sealed it removed from the setting?).",
                reason="undecryptable",
            ) from exc
        document = json.loads(plain)
        if not isinstance(document, dict) or document.get("c") != context:
            raise SecretsUnavailable(
                "A stored secret does not belong where it was found.", reason="wrong_context"
            )
        return document.get("v")

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is sealed under the first key (re-sealing would not change it)."""
        try:
            self._primary.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return False
        return True

    def reseal(self, token: str) -> str:
        """The same value sealed under the first key (``MultiFernet.rotate``)."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise SecretsUnavailable(
                "A stored secret cannot be decrypted with GIFTFLOW_SECRETS_KEY.",
                reason="undecryptable",
            ) from exc


@lru_cache(maxsize=8)
def sealer_for(setting: str) -> Sealer:
    """The sealer of a setting's value (derived once per distinct value)."""
    return Sealer.from_setting(setting)
