"""Reconcile runs (``reconcile_runs``) and the daily run's checkpoint (``job_state``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from giftflow.db import unit_of_work, upsert_insert
from giftflow.schema import job_state, reconcile_runs

ACTIVE = ("queued", "running")
FINISHED = ("clean", "differences", "failed")


def create_run(engine: Engine, requested_by: str, now: datetime) -> int:
    with unit_of_work(engine) as conn:
        found = conn.execute(
            reconcile_runs.insert()
            .values(requested_by=requested_by[:200], requested_at=now, state="queued")
            .returning(reconcile_runs.c.id)
        ).scalar_one()
    return int(found)


def mark_running(engine: Engine, run_id: int, now: datetime) -> None:
    with unit_of_work(engine) as conn:
        conn.execute(
            update(reconcile_runs)
            .where(reconcile_runs.c.id == run_id)
            .values(state="running", started_at=now)
        )


def finish(
    engine: Engine,
    run_id: int,
    *,
    state: str,
    differences: int | None,
    report: str | None,
    error: str | None,
    now: datetime,
) -> None:
    with unit_of_work(engine) as conn:
        conn.execute(
            update(reconcile_runs)
            .where(reconcile_runs.c.id == run_id)
            .values(
                state=state,
                differences=differences,
                report=report,
                error=error[:500] if error is not None else None,
                finished_at=now,
            )
        )


def abandon(engine: Engine, *, requested_before: datetime | None, now: datetime) -> int:
    """Mark runs still queued or running (requested before ``requested_before``, or all) as
    failed: the process running them stopped. Returns how many."""
    stmt = update(reconcile_runs).where(reconcile_runs.c.state.in_(ACTIVE))
    if requested_before is not None:
        stmt = stmt.where(reconcile_runs.c.requested_at < requested_before)
    with unit_of_work(engine) as conn:
        done = conn.execute(
            stmt.values(
                state="failed",
                finished_at=now,
                error="abandoned: the process running it stopped before it finished",
            )
        )
    return int(done.rowcount)


def get_run(engine: Engine, run_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(reconcile_runs).where(reconcile_runs.c.id == run_id)).mappings()
        found = row.first()
    return dict(found) if found is not None else None


def latest(engine: Engine, *, states: tuple[str, ...] | None = None) -> dict[str, Any] | None:
    """The newest run (of these states)."""
    stmt = select(reconcile_runs)
    if states is not None:
        stmt = stmt.where(reconcile_runs.c.state.in_(states))
    with engine.connect() as conn:
        found = conn.execute(stmt.order_by(reconcile_runs.c.id.desc()).limit(1)).mappings()
        row = found.first()
    return dict(row) if row is not None else None


def list_runs(engine: Engine, *, limit: int, before_id: int | None) -> list[dict[str, Any]]:
    stmt = select(reconcile_runs)
    if before_id is not None:
        stmt = stmt.where(reconcile_runs.c.id < before_id)
    with engine.connect() as conn:
        rows = conn.execute(stmt.order_by(reconcile_runs.c.id.desc()).limit(limit)).mappings()
        return [dict(r) for r in rows]


def job_value(engine: Engine, name: str) -> str | None:
    with engine.connect() as conn:
        found: str | None = conn.execute(
            select(job_state.c.value).where(job_state.c.name == name)
        ).scalar_one_or_none()
    return found


def claim_job(
    engine: Engine, name: str, *, expected: str | None, value: str, now: datetime
) -> bool:
    """Move a job's checkpoint from ``expected`` to ``value`` (compare and set): exactly one of
    several processes asking at once wins."""
    with unit_of_work(engine) as conn:
        if expected is None:  # RETURNING: an INSERT's rowcount is not reliable everywhere
            stmt = upsert_insert(conn, job_state).values(name=name, value=value, updated_at=now)
            inserted = conn.execute(
                stmt.on_conflict_do_nothing(index_elements=["name"]).returning(job_state.c.name)
            ).first()
            return inserted is not None
        done = conn.execute(
            update(job_state)
            .where(job_state.c.name == name, job_state.c.value == expected)
            .values(value=value, updated_at=now)
        )
    return int(done.rowcount) == 1
