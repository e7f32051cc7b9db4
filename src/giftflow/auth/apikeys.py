"""API keys: 256 random bits behind a recognisable prefix, stored only as SHA-256 digests.

A fast digest (not a slow password hash) is right here: the key has 256 bits of entropy, so it
cannot be guessed offline, and a slow hash would cost tens of milliseconds per request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from giftflow.errors import ValidationFailed
from giftflow.schema import api_keys

KEY_PREFIX = "gfk_"
SCOPES = frozenset({"admin", "platform"})


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: int
    name: str
    prefix: str
    scopes: frozenset[str]


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_api_key(
    conn: Connection, name: str, scopes: set[str], now: datetime
) -> tuple[str, ApiKeyRecord]:
    """Store a new key and return its plaintext (shown once) with its record."""
    unknown = set(scopes) - SCOPES
    if not scopes or unknown:
        raise ValidationFailed(f"Scopes must be among {sorted(SCOPES)}.", unknown=sorted(unknown))
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    prefix = plaintext[:12]
    key_id = conn.execute(
        api_keys.insert()
        .values(
            prefix=prefix,
            digest=digest(plaintext),
            name=name,
            scopes=",".join(sorted(scopes)),
            created_at=now,
        )
        .returning(api_keys.c.id)
    ).scalar_one()
    return plaintext, ApiKeyRecord(int(key_id), name, prefix, frozenset(scopes))


def find_api_key(conn: Connection, plaintext: str) -> ApiKeyRecord | None:
    row = conn.execute(
        select(api_keys).where(
            api_keys.c.digest == digest(plaintext), api_keys.c.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    return ApiKeyRecord(row.id, row.name, row.prefix, frozenset(row.scopes.split(",")))
