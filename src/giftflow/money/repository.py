"""Policy versions in the database: the history every transaction's ``policy_version`` names."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from giftflow.errors import InvalidPolicy
from giftflow.money.policy import Policy, PolicyBook, load_profile, parse_policy
from giftflow.schema import policy_versions


def store_policy(conn: Connection, policy: Policy, now: datetime) -> bool:
    """Store a version; True if new, False if the identical version was already stored.

    A stored version is immutable: the same id and version with a different document is refused.
    """
    document = policy.model_dump_json()
    existing = conn.execute(
        select(policy_versions.c.document).where(
            policy_versions.c.policy_id == policy.id, policy_versions.c.version == policy.version
        )
    ).scalar_one_or_none()
    if existing is not None:
        if parse_policy(existing) != policy:
            raise InvalidPolicy(
                f"{policy.version_label} is already stored with a different document; "
                "publish a new version instead.",
                policy=policy.version_label,
            )
        return False
    conn.execute(
        policy_versions.insert().values(
            policy_id=policy.id,
            version=policy.version,
            effective_from=policy.effective_from,
            document=document,
            created_at=now,
        )
    )
    return True


def load_policy_book(conn: Connection, policy_id: str) -> PolicyBook | None:
    documents = conn.execute(
        select(policy_versions.c.document).where(policy_versions.c.policy_id == policy_id)
    ).scalars()
    versions = [parse_policy(d) for d in documents]
    return PolicyBook(versions) if versions else None


def stored_versions(conn: Connection) -> list[tuple[str, int, datetime]]:
    rows = conn.execute(
        select(
            policy_versions.c.policy_id, policy_versions.c.version, policy_versions.c.effective_from
        ).order_by(policy_versions.c.policy_id, policy_versions.c.version)
    )
    return [(r.policy_id, r.version, r.effective_from) for r in rows]


def policy_in_force(conn: Connection, profile: str, now: datetime) -> Policy:
    """The stored version of ``profile`` in force at ``now``, else the shipped profile file."""
    book = load_policy_book(conn, profile)
    if book is not None:
        return book.active_at(now)
    return load_profile(profile)


class PolicySource:
    """The policy in force for one profile, without a query and a parse on every request.

    The versions of the profile (a ``PolicyBook``, which already knows scheduled versions) are
    re-read from the database at most every ``refresh_seconds``, so a version stored with
    ``giftflow policy load`` is seen by every server within that time; which version is in force
    is still decided at each call from the caller's clock.
    """

    def __init__(self, engine: Engine, profile: str, refresh_seconds: int = 5) -> None:
        self.engine = engine
        self.profile = profile
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._book: PolicyBook | None = None
        self._loaded_ns: int | None = None  # time.monotonic_ns() of the last read

    def in_force(self, now: datetime) -> Policy:
        with self._lock:
            fresh = self._loaded_ns is not None and (
                time.monotonic_ns() - self._loaded_ns < self.refresh_seconds * 1_000_000_000
            )
            if not fresh:
                with self.engine.connect() as conn:
                    self._book = load_policy_book(conn, self.profile)
                self._loaded_ns = time.monotonic_ns()
            book = self._book
        return book.active_at(now) if book is not None else load_profile(self.profile)
