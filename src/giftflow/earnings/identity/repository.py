"""The second factor's SQL: one ``totp_credentials`` row per user, its recovery codes, and the
user's KYC status (a fact the platform owns, read from ``users``).

Nothing here moves value: the service runs each write in one ``unit_of_work``. A verification
reads the credential ``FOR UPDATE`` (PostgreSQL; SQLite's unit of work already holds the
database's write lock) and writes its outcome (the accepted step, a used recovery code, a failure
count, a lock) in the same transaction, so two requests with one code cannot both pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, select, update

from giftflow.db import upsert_insert
from giftflow.schema import recovery_codes, totp_credentials, users

# the connection type services pass back to these functions (services import no SQLAlchemy)
Conn = Connection


@dataclass(frozen=True, slots=True)
class CredentialRow:
    user_id: str
    secret_encrypted: str
    state: str  # pending | active
    last_step: int | None
    failures: int
    locked_until: datetime | None
    created_at: datetime
    confirmed_at: datetime | None

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def user_kyc_status(conn: Connection, user_id: str) -> str | None:
    """The user's KYC status; None if the platform never created the user."""
    status: str | None = conn.execute(
        select(users.c.kyc_status).where(users.c.id == user_id)
    ).scalar_one_or_none()
    return status


def credential(conn: Connection, user_id: str, *, lock: bool = False) -> CredentialRow | None:
    stmt = select(totp_credentials).where(totp_credentials.c.user_id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    if row is None:
        return None
    return CredentialRow(
        user_id=row["user_id"],
        secret_encrypted=row["secret_encrypted"],
        state=row["state"],
        last_step=row["last_step"],
        failures=row["failures"],
        locked_until=row["locked_until"],
        created_at=row["created_at"],
        confirmed_at=row["confirmed_at"],
    )


def insert_pending(conn: Connection, user_id: str, secret_encrypted: str, now: datetime) -> bool:
    """A new pending credential; False (nothing written) if the user already has one, even one
    inserted by a racing request."""
    inserted = conn.execute(
        upsert_insert(conn, totp_credentials)
        .values(
            user_id=user_id,
            secret_encrypted=secret_encrypted,
            state="pending",
            last_step=None,
            failures=0,
            locked_until=None,
            created_at=now,
            confirmed_at=None,
        )
        .on_conflict_do_nothing(index_elements=["user_id"])
        .returning(totp_credentials.c.user_id)
    ).scalar_one_or_none()
    return inserted is not None


def replace_pending(conn: Connection, user_id: str, secret_encrypted: str, now: datetime) -> None:
    """The credential starts over as pending with a new secret; the failure count and any lock
    stay (re-enrolling never clears a lock)."""
    conn.execute(
        update(totp_credentials)
        .where(totp_credentials.c.user_id == user_id)
        .values(
            secret_encrypted=secret_encrypted,
            state="pending",
            last_step=None,
            created_at=now,
            confirmed_at=None,
        )
    )


def activate(conn: Connection, user_id: str, step: int, now: datetime) -> None:
    conn.execute(
        update(totp_credentials)
        .where(totp_credentials.c.user_id == user_id)
        .values(state="active", last_step=step, confirmed_at=now)
    )


def record_success(conn: Connection, user_id: str, last_step: int | None) -> None:
    """A code was accepted: the failure count and any lock are cleared."""
    conn.execute(
        update(totp_credentials)
        .where(totp_credentials.c.user_id == user_id)
        .values(last_step=last_step, failures=0, locked_until=None)
    )


def record_failure(
    conn: Connection, user_id: str, failures: int, locked_until: datetime | None
) -> None:
    conn.execute(
        update(totp_credentials)
        .where(totp_credentials.c.user_id == user_id)
        .values(failures=failures, locked_until=locked_until)
    )


def set_secret(conn: Connection, user_id: str, secret_encrypted: str) -> None:
    conn.execute(
        update(totp_credentials)
        .where(totp_credentials.c.user_id == user_id)
        .values(secret_encrypted=secret_encrypted)
    )


def sealed_secrets(conn: Connection, *, lock: bool = False) -> list[tuple[str, str]]:
    """(user id, sealed secret) of every credential, by user id (for re-sealing)."""
    stmt = select(totp_credentials.c.user_id, totp_credentials.c.secret_encrypted).order_by(
        totp_credentials.c.user_id
    )
    if lock:
        stmt = stmt.with_for_update()
    return [(r[0], r[1]) for r in conn.execute(stmt)]


# --- recovery codes ------------------------------------------------------------------------
def unused_recovery_hashes(conn: Connection, user_id: str) -> list[str]:
    rows = conn.execute(
        select(recovery_codes.c.code_hash).where(
            recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None)
        )
    )
    return [r[0] for r in rows]


def recovery_codes_left(conn: Connection, user_id: str) -> int:
    count = conn.execute(
        select(func.count())
        .select_from(recovery_codes)
        .where(recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None))
    ).scalar_one()
    return int(count)


def use_recovery_code(conn: Connection, user_id: str, code_hash: str, now: datetime) -> bool:
    """Mark the code used; False if it was already used (by a racing request too)."""
    result = conn.execute(
        update(recovery_codes)
        .where(
            recovery_codes.c.user_id == user_id,
            recovery_codes.c.code_hash == code_hash,
            recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return result.rowcount == 1


def delete_recovery_codes(conn: Connection, user_id: str) -> None:
    conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))


def replace_recovery_codes(
    conn: Connection, user_id: str, code_hashes: Sequence[str], now: datetime
) -> None:
    delete_recovery_codes(conn, user_id)
    conn.execute(
        recovery_codes.insert(),
        [
            {"user_id": user_id, "code_hash": h, "used_at": None, "created_at": now}
            for h in code_hashes
        ],
    )
