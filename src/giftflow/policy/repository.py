"""Policy versions of one profile, as operators see them (the documents live in
``policy_versions``; ``money.repository`` stores and loads them for the rest of giftflow)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from giftflow.db import unit_of_work
from giftflow.errors import PolicyVersionExists
from giftflow.money.policy import Policy, parse_policy
from giftflow.money.repository import store_policy
from giftflow.schema import policy_versions


@dataclass(frozen=True, slots=True)
class StoredVersion:
    policy: Policy
    created_at: datetime


def stored_versions(conn: Connection, policy_id: str) -> list[StoredVersion]:
    """Every stored version of ``policy_id``, by version number."""
    rows = conn.execute(
        select(policy_versions.c.document, policy_versions.c.created_at)
        .where(policy_versions.c.policy_id == policy_id)
        .order_by(policy_versions.c.version)
    )
    return [StoredVersion(parse_policy(r.document), r.created_at) for r in rows]


def read_versions(engine: Engine, policy_id: str) -> list[StoredVersion]:
    with engine.connect() as conn:
        return stored_versions(conn, policy_id)


def publish(engine: Engine, policy: Policy, now: datetime, *, first: Policy | None = None) -> None:
    """Store ``policy`` (and, before it, ``first``: the shipped profile in force so far, when
    nothing of this profile was stored yet, so that the book keeps the history). A version
    that is already stored, or that another process stores at the same moment, is
    ``policy_version_exists``."""
    try:
        with unit_of_work(engine) as conn:
            stored = stored_versions(conn, policy.id)
            if any(v.policy.version == policy.version for v in stored):
                raise PolicyVersionExists(label=policy.version_label)
            if first is not None and not stored:
                store_policy(conn, first, now)
            store_policy(conn, policy, now)
    except IntegrityError:
        raise PolicyVersionExists(label=policy.version_label) from None
