"""API keys: 256 random bits behind a recognisable prefix, stored only as SHA-256 digests.

A fast digest (not a slow password hash) is right here: the key has 256 bits of entropy, so it
cannot be guessed offline, and a slow hash would cost tens of milliseconds per request.

Every key has a name, unique among all keys ever created, revoked ones included (a unique
constraint in the database holds it too). A revoked key's name is not reused, so a name in a log
or an audit trail always means one key; rotating a key needs the old and the new key live at the
same time anyway, so the new one takes a new name (``ops-2024-06``) and the old one is revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from giftflow.errors import ValidationFailed
from giftflow.schema import api_keys

KEY_PREFIX = "gfk_"
SCOPES = frozenset({"admin", "platform"})
NAME_MAX_LENGTH = 100  # api_keys.name is VARCHAR(100)


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
    """Store a new key and return its plaintext (shown once) with its record.

    ``ValidationFailed`` if a scope is unknown or missing, or the name is empty, too long or
    already taken by another key (live or revoked).
    """
    unknown = set(scopes) - SCOPES
    if not scopes or unknown:
        raise ValidationFailed(f"Scopes must be among {sorted(SCOPES)}.", unknown=sorted(unknown))
    if not name.strip() or len(name) > NAME_MAX_LENGTH:
        raise ValidationFailed(f"A key name must be 1 to {NAME_MAX_LENGTH} characters.")
    if api_key_name_taken(conn, name):
        raise _name_taken(name)
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    prefix = plaintext[:12]
    try:
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
    except IntegrityError as exc:  # another process took the name since the check above
        raise _name_taken(name) from exc
    return plaintext, ApiKeyRecord(int(key_id), name, prefix, frozenset(scopes))


def api_key_name_taken(conn: Connection, name: str) -> bool:
    """Whether any key, live or revoked, already has this name."""
    return conn.execute(select(api_keys.c.id).where(api_keys.c.name == name)).first() is not None


def _name_taken(name: str) -> ValidationFailed:
    return ValidationFailed(
        f"An API key named {name!r} already exists; names are never reused, "
        "even after the key is revoked: choose another name.",
        name=name,
    )


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
