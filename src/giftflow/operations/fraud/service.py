"""Fraud signals: the scan that raises flags, and the flags' review by operators.

``scan_for_fraud`` (the maintenance loop calls it every few rounds; ``POST
/v1/admin/flags/scan`` on demand) reads what happened since the last scan — from the checkpoint
in ``job_state`` (``fraud_scan``) minus ``OVERLAP``, to now — runs the detectors of
``detectors.py`` under the policy in force, and inserts their drafts once per dedupe key, with
the new checkpoint, in one transaction. The overlap catches a batch that committed late with an
earlier time (or a fingerprint recorded just after its purchase); rescanning it proposes the
same keys again and adds nothing. The very first scan looks back ``FIRST_LOOKBACK``.

A flag is a signal only: no detector and no resolution moves money, freezes an account or
touches a withdrawal. An operator who confirms a flag acts through the other admin endpoints.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from giftflow import metrics
from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.db import unit_of_work
from giftflow.errors import FlagAlreadyResolved, NotFound
from giftflow.operations.fraud import detectors, repository
from giftflow.operations.fraud.model import FlagKind, FlagState
from giftflow.operations.fraud.schemas import FlagOut, FlagsPage, ResolveIn

OVERLAP = timedelta(minutes=5)
FIRST_LOOKBACK = timedelta(hours=24)


async def scan_for_fraud(ctx: AppContext) -> int:
    """Run the detectors over what happened since the last scan; returns new flags."""
    return await asyncio.to_thread(scan, ctx)


def scan(ctx: AppContext) -> int:
    now = ctx.clock.now()
    policy = ctx.policies.in_force(now)
    with ctx.engine.connect() as conn:
        last = repository.checkpoint(conn)
        since = min(last, now) - OVERLAP if last is not None else now - FIRST_LOOKBACK
        drafts = detectors.detect_all(
            repository.FraudRepository(conn),
            policy.fraud,
            policy.version_label,
            edges=repository.new_edges(conn, since, now),
            refunds=repository.refund_events(conn, since, now),
            fingerprints=repository.new_fingerprints(conn, since, now),
            withdrawals=repository.new_withdrawals(conn, since, now),
        )
    with unit_of_work(ctx.engine) as conn:
        created = repository.insert_flags(conn, drafts, now)
        repository.save_checkpoint(conn, {"since": rfc3339(since), "until": rfc3339(now)}, now)
        counts = repository.open_counts(conn)
    publish_open_counts(counts)
    return len(created)


def publish_open_counts(counts: dict[str, int]) -> None:
    """The Prometheus gauge of open flags by kind (every kind, 0 when none)."""
    for kind in FlagKind:
        metrics.FRAUD_FLAGS_OPEN.labels(kind.value).set(counts.get(kind.value, 0))


# --- reading and resolving -----------------------------------------------------------------------
def flag_view(row: dict[str, Any]) -> FlagOut:
    details: dict[str, Any] = row["details"]
    users = details.get("users")
    return FlagOut(
        id=str(row["id"]),
        kind=row["kind"],
        subject=row["subject"],
        users=[str(u) for u in users] if isinstance(users, list) else [],
        details=details,
        state=row["state"],
        created_at=rfc3339(row["created_at"]),
        resolved_at=rfc3339(row["resolved_at"]) if row["resolved_at"] else None,
        resolved_by=row["resolved_by"],
        resolution=row["resolution"],
        note=row["note"],
    )


def page(
    ctx: AppContext, *, state: str | None, kind: str | None, limit: int, before: int | None
) -> FlagsPage:
    with ctx.engine.connect() as conn:
        rows, cursor = repository.list_flags(
            conn, state=state, kind=kind, limit=limit, before=before
        )
    return FlagsPage(
        data=[flag_view(r) for r in rows],
        next_cursor=str(cursor) if cursor is not None else None,
    )


def get_one(ctx: AppContext, flag_id: int) -> FlagOut:
    with ctx.engine.connect() as conn:
        row = repository.get_flag(conn, flag_id)
    if row is None:
        raise NotFound("No such flag.", id=str(flag_id))
    return flag_view(row)


def flag_before(conn: Any, path_params: dict[str, str]) -> dict[str, Any] | None:
    """The audit log's ``before`` of a flag action: the flag as the API shows it (or None)."""
    raw = path_params.get("flag_id", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        return None
    row = repository.get_flag(conn, int(raw))
    return flag_view(row).model_dump() if row is not None else None


def resolve(ctx: AppContext, flag_id: int, body: ResolveIn, actor: str) -> FlagOut:
    """Close an open flag with the operator's resolution and note; a resolved one is 409."""
    with unit_of_work(ctx.engine) as conn:
        row = repository.get_flag(conn, flag_id)
        if row is None:
            raise NotFound("No such flag.", id=str(flag_id))
        done = row["state"] == FlagState.OPEN.value and repository.resolve_flag(
            conn,
            flag_id,
            resolution=body.resolution,
            note=body.note,
            by=actor,
            now=ctx.clock.now(),
        )
        if not done:
            current = repository.get_flag(conn, flag_id) or row
            raise FlagAlreadyResolved(
                id=str(flag_id),
                resolution=current["resolution"],
                resolved_at=rfc3339(current["resolved_at"]) if current["resolved_at"] else None,
                resolved_by=current["resolved_by"],
            )
        row = repository.get_flag(conn, flag_id)
        counts = repository.open_counts(conn)
    assert row is not None
    publish_open_counts(counts)
    return flag_view(row)
