"""API keys: 256 random bits behind a recognisable prefix, stored only as SHA-256 digests.

A fast digest (not a slow password hash) is right here: the key has 256 bits of entropy, so it
cannot be guessed offline, and a slow hash would cost tens of milliseconds per request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

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


def list_api_keys(conn: Connection) -> list[tuple[str, str, str, datetime, datetime | None]]:
    """(prefix, name, scopes, created_at, revoked_at) of every key, newest first."""
    rows = conn.execute(
        select(
            api_keys.c.prefix,
            api_keys.c.name,
            api_keys.c.scopes,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
        ).order_by(api_keys.c.id.desc())
    )
    return [(r.prefix, r.name, r.scopes, r.created_at, r.revoked_at) for r in rows]


def revoke_api_key(conn: Connection, prefix: str, now: datetime) -> int:
    """Revoke the live keys with this display prefix; returns how many were revoked."""
    result = conn.execute(
        update(api_keys)
        .where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)
