"""Reconcile from the API and on a schedule.

A run is a row of ``reconcile_runs`` (``queued`` → ``running`` → ``clean`` | ``differences``
| ``failed``) and a thread that runs ``giftflow.ledger.reconcile_repository.reconcile`` — the
same check as ``giftflow reconcile``: one consistent snapshot, every difference. One run at a
time: asking while one is queued or running answers that run. A run this process did not start
and that is still open is another process's (PostgreSQL) unless it is older than
``STALE_AFTER``; on SQLite only one process serves, so such a run was left by a process that
stopped, and is closed as ``failed``.

``reconcile_if_due`` (the maintenance loop, every few minutes) starts a run when the daily
checkpoint in ``job_state`` is a day old or missing; the checkpoint moves by compare-and-set, so
of several processes exactly one runs it. Every finished run sets the Prometheus gauges, and
the first call in a process sets them from the last stored run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from giftflow import metrics
from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.db import is_sqlite
from giftflow.errors import NotFound
from giftflow.ledger.reconcile import ReconcileReport
from giftflow.ledger.reconcile_repository import reconcile
from giftflow.operations.reconcile import repository
from giftflow.operations.reconcile.schemas import (
    DifferenceOut,
    ReconcileRunOut,
    ReconcileRunsPage,
    ReportOut,
)

log = logging.getLogger("giftflow.reconcile")

run_reconcile = reconcile
"""What a run runs (tests replace it to hold a run open)."""

DAILY_JOB = "reconcile.daily"
EVERY = timedelta(days=1)
STALE_AFTER = timedelta(hours=6)
MAX_STORED_DIFFERENCES = 1000
SCHEDULE = "schedule"


@dataclass
class _Runner:
    """This process's run for one database, if any."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None
    run_id: int | None = None
    gauges_loaded: bool = False


_RUNNERS: weakref.WeakKeyDictionary[Engine, _Runner] = weakref.WeakKeyDictionary()
_RUNNERS_LOCK = threading.Lock()


def _runner(engine: Engine) -> _Runner:
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(engine)
        if runner is None:
            runner = _RUNNERS[engine] = _Runner()
        return runner


# --- views -----------------------------------------------------------------------------------
def _time(value: datetime | None) -> str | None:
    return rfc3339(value) if value is not None else None


def run_out(row: dict[str, Any]) -> ReconcileRunOut:
    report = json.loads(row["report"]) if row["report"] else None
    return ReconcileRunOut(
        id=str(row["id"]),
        state=row["state"],
        requested_by=row["requested_by"],
        requested_at=rfc3339(row["requested_at"]),
        started_at=_time(row["started_at"]),
        finished_at=_time(row["finished_at"]),
        differences=row["differences"],
        report=ReportOut.model_validate(report) if report is not None else None,
        error=row["error"],
    )


def report_document(report: ReconcileReport) -> dict[str, Any]:
    kept = report.differences[:MAX_STORED_DIFFERENCES]
    return ReportOut(
        accounts=report.accounts,
        transactions=report.transactions,
        postings=report.postings,
        differences=[
            DifferenceOut(
                check=d.check,
                subject=d.subject,
                expected=d.expected,
                actual=d.actual,
                message=d.message,
            )
            for d in kept
        ],
        truncated=len(kept) < len(report.differences),
    ).model_dump(mode="json")


# --- the gauges --------------------------------------------------------------------------------
def _set_gauges(state: str, differences: int | None, finished_at: datetime) -> None:
    metrics.RECONCILE_LAST_RUN.set(finished_at.timestamp())
    metrics.RECONCILE_CLEAN.set(1 if state == "clean" else 0)
    if state != "failed" and differences is not None:
        metrics.RECONCILE_DIFFERENCES.set(differences)


def load_gauges(ctx: AppContext) -> None:
    """Set the gauges from the last finished run (at startup: a fresh process shows what the
    last run found, not zeros)."""
    row = repository.latest(ctx.engine, states=repository.FINISHED)
    if row is None or row["finished_at"] is None:
        return
    if row["state"] == "failed":  # the differences gauge shows the last run that counted
        counted = repository.latest(ctx.engine, states=("clean", "differences"))
        if counted is not None:
            metrics.RECONCILE_DIFFERENCES.set(counted["differences"] or 0)
    _set_gauges(row["state"], row["differences"], row["finished_at"])
    _runner(ctx.engine).gauges_loaded = True


# --- runs ------------------------------------------------------------------------------------
def _execute(ctx: AppContext, runner: _Runner, run_id: int) -> None:
    engine = ctx.engine
    try:
        repository.mark_running(engine, run_id, ctx.clock.now())
        report = run_reconcile(engine)
        state = "clean" if report.clean else "differences"
        count: int | None = len(report.differences)
        document: str | None = json.dumps(report_document(report))
        error = None
    except Exception as exc:
        log.exception("reconcile run %s failed", run_id)
        state, count, document, error = "failed", None, None, f"{type(exc).__name__}: {exc}"
    finished = ctx.clock.now()
    try:
        repository.finish(
            engine,
            run_id,
            state=state,
            differences=count,
            report=document,
            error=error,
            now=finished,
        )
        _set_gauges(state, count, finished)
        if state == "differences":
            log.error("reconcile run %s: %s difference(s)", run_id, count)
    except Exception:
        log.exception("reconcile run %s: could not store its outcome", run_id)
    finally:
        with runner.lock:
            if runner.run_id == run_id:
                runner.thread, runner.run_id = None, None


def start(ctx: AppContext, requested_by: str) -> tuple[ReconcileRunOut, bool]:
    """Start a run in the background, or answer the one already queued or running.
    Returns (the run, whether it was started now)."""
    engine = ctx.engine
    runner = _runner(engine)
    with runner.lock:
        if runner.run_id is not None:
            mine = repository.get_run(engine, runner.run_id)
            if mine is not None:
                return run_out(mine), False
        now = ctx.clock.now()
        single_process = is_sqlite(ctx.settings.database_url)
        repository.abandon(
            engine, requested_before=None if single_process else now - STALE_AFTER, now=now
        )
        other = repository.latest(engine, states=repository.ACTIVE)
        if other is not None:
            return run_out(other), False
        run_id = repository.create_run(engine, requested_by, now)
        thread = threading.Thread(
            target=_execute, args=(ctx, runner, run_id), name=f"reconcile-{run_id}", daemon=True
        )
        runner.thread, runner.run_id = thread, run_id
        thread.start()
    row = repository.get_run(engine, run_id)
    if row is None:  # pragma: no cover - the row was committed above
        raise NotFound("No such reconcile run.", id=str(run_id))
    return run_out(row), True


def wait(ctx: AppContext, timeout: float | None = None) -> None:
    """Wait for this process's run to finish (tests and shutdown)."""
    thread = _runner(ctx.engine).thread
    if thread is not None:
        thread.join(timeout)


def last(ctx: AppContext) -> ReconcileRunOut:
    row = repository.latest(ctx.engine)
    if row is None:
        raise NotFound("No reconcile has run yet: POST /v1/admin/reconcile starts one.")
    return run_out(row)


def one(ctx: AppContext, run_id: int) -> ReconcileRunOut:
    row = repository.get_run(ctx.engine, run_id)
    if row is None:
        raise NotFound("No such reconcile run.", id=str(run_id))
    return run_out(row)


def page(ctx: AppContext, limit: int, before_id: int | None) -> ReconcileRunsPage:
    rows = repository.list_runs(ctx.engine, limit=limit + 1, before_id=before_id)
    more = len(rows) > limit
    rows = rows[:limit]
    return ReconcileRunsPage(
        data=[run_out(r) for r in rows], next_cursor=str(rows[-1]["id"]) if more else None
    )


# --- the schedule ----------------------------------------------------------------------------
def run_if_due(ctx: AppContext) -> ReconcileRunOut | None:
    """Start the daily run if the checkpoint is a day old or missing; None when not due or
    another process took it."""
    runner = _runner(ctx.engine)
    if not runner.gauges_loaded:
        load_gauges(ctx)
        runner.gauges_loaded = True
    now = ctx.clock.now()
    last_value = repository.job_value(ctx.engine, DAILY_JOB)
    if last_value is not None and now - datetime.fromisoformat(last_value) < EVERY:
        return None
    if not repository.claim_job(
        ctx.engine, DAILY_JOB, expected=last_value, value=now.isoformat(), now=now
    ):
        return None
    run, _ = start(ctx, SCHEDULE)
    return run


async def reconcile_if_due(ctx: AppContext) -> None:
    """Run the daily reconcile when the last one is a day old (or there is none)."""
    await asyncio.to_thread(run_if_due, ctx)
