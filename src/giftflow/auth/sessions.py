"""Console sessions: a browser signed in with a user token or an admin API key.

The cookie holds 256 random bits; the table keeps only their SHA-256 digest (like API keys), so
a copy of the database signs nobody in. A session speaks with the credential it was opened
with: a user's session is that user (as their JWT would be), an admin session is the API key it
was opened with, and it ends when that key is revoked. Unsafe methods sent with the cookie need
the session's CSRF token in ``X-CSRF-Token`` (or a form's ``csrf`` field): an HMAC of the
session digest under the server secret, so it needs no storage and cannot be guessed from the
cookie's name. The cookie is ``HttpOnly`` and ``SameSite=Lax`` (so a link followed from
elsewhere, e.g. a demo sign-in link, lands signed in; cross-site posts carry no cookie); scripts
never see it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from sqlalchemy import Connection, select, update

from giftflow.auth.apikeys import digest
from giftflow.schema import api_keys, console_sessions

COOKIE = "gf_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    digest: str
    kind: str  # "user" or "admin"
    user_id: str | None
    api_key_id: int | None
    api_key_name: str | None
    scopes: frozenset[str]
    expires_at: datetime


def open_session(
    conn: Connection,
    now: datetime,
    ttl: timedelta,
    *,
    user_id: str | None = None,
    api_key_id: int | None = None,
) -> str:
    """Store a new session for a user or an admin key; returns the cookie's value."""
    if (user_id is None) == (api_key_id is None):
        raise ValueError("a session is for exactly one user or one API key")
    token = secrets.token_urlsafe(32)
    conn.execute(
        console_sessions.insert().values(
            digest=digest(token),
            kind="user" if user_id is not None else "admin",
            user_id=user_id,
            api_key_id=api_key_id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


def find_session(conn: Connection, token: str, now: datetime) -> ConsoleSession | None:
    """The live session this cookie value names: not expired, not signed out, key not revoked."""
    row = conn.execute(
        select(
            console_sessions,
            api_keys.c.name.label("key_name"),
            api_keys.c.scopes.label("key_scopes"),
            api_keys.c.revoked_at.label("key_revoked_at"),
        )
        .select_from(
            console_sessions.outerjoin(api_keys, api_keys.c.id == console_sessions.c.api_key_id)
        )
        .where(console_sessions.c.digest == digest(token))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.kind == "admin" and (row.key_name is None or row.key_revoked_at is not None):
        return None
    return ConsoleSession(
        digest=row.digest,
        kind=row.kind,
        user_id=row.user_id,
        api_key_id=row.api_key_id,
        api_key_name=row.key_name,
        scopes=frozenset(row.key_scopes.split(",")) if row.key_scopes else frozenset(),
        expires_at=row.expires_at,
    )


def close_session(conn: Connection, token: str, now: datetime) -> None:
    conn.execute(
        update(console_sessions)
        .where(console_sessions.c.digest == digest(token), console_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def csrf_token(secret: str, session_digest: str) -> str:
    """The session's CSRF token: HMAC-SHA256(secret, "csrf:" + digest), hex."""
    return hmac.new(secret.encode(), f"csrf:{session_digest}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: str, session_digest: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token(secret, session_digest), sent or "")


class SessionCache:
    """digest → session for a few seconds, so a page's burst of API calls reads the table once;
    a sign-out or a key revocation is seen everywhere within ``ttl_seconds``."""

    def __init__(self, ttl_seconds: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[ConsoleSession, float]] = {}

    def get(self, token: str) -> ConsoleSession | None:
        entry = self._entries.get(token)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, token: str, session: ConsoleSession) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[token] = (session, time.monotonic() + self.ttl)

    def forget(self, token: str) -> None:
        self._entries.pop(token, None)


DEMO_AUDIENCE = "giftflow-console-demo"


def mint_demo_ticket(
    secret: str,
    now: datetime,
    minutes: int,
    *,
    next_path: str,
    user_id: str | None = None,
    api_key_id: int | None = None,
) -> str:
    """A one-click sign-in link's ticket (``giftflow demo``); only a server started with
    ``GIFTFLOW_DEMO_SIGNIN`` accepts it, until it expires."""
    if (user_id is None) == (api_key_id is None):
        raise ValueError("a ticket is for exactly one user or one API key")
    claims: dict[str, object] = {
        "aud": DEMO_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
        "next": next_path,
        "sub": user_id if user_id is not None else f"apikey:{api_key_id}",
    }
    return jwt.encode(claims, secret, algorithm="HS256")


@dataclass(frozen=True, slots=True)
class DemoTicket:
    user_id: str | None
    api_key_id: int | None
    next_path: str


def read_demo_ticket(secret: str, ticket: str, now: datetime) -> DemoTicket | None:
    """The ticket's subject and destination, or None if it is forged, malformed or expired."""
    try:
        claims = jwt.decode(
            ticket,
            secret,
            algorithms=["HS256"],
            audience=DEMO_AUDIENCE,
            options={"verify_exp": False, "require": ["exp", "sub", "aud"]},
        )
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    sub = claims.get("sub")
    if not isinstance(exp, int) or not isinstance(sub, str) or now.timestamp() > exp:
        return None
    next_path = claims.get("next")
    next_path = next_path if isinstance(next_path, str) else "/"
    if sub.startswith("apikey:"):
        key_id = sub.removeprefix("apikey:")
        return DemoTicket(None, int(key_id), next_path) if key_id.isdigit() else None
    return DemoTicket(sub, None, next_path)
