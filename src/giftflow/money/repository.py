"""Policy versions in the database: the history every transaction's ``policy_version`` names."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

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
