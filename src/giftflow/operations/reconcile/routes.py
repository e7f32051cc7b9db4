"""Reconcile from the API: ``POST /v1/admin/reconcile`` (202, runs in the background),
``GET /v1/admin/reconcile`` (the last run), ``GET /v1/admin/reconcile/runs[/{id}]``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from giftflow.audit import audited
from giftflow.auth.deps import require_scope
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.fields import ObjectIdPath
from giftflow.http.ids import parse_cursor, parse_id
from giftflow.operations.reconcile import service
from giftflow.operations.reconcile.schemas import ReconcileRunOut, ReconcileRunsPage

router = APIRouter(prefix="/v1/admin", tags=["admin: reconcile"])
admin = require_scope("admin")


@router.post(
    "/reconcile",
    status_code=202,
    response_model=ReconcileRunOut,
    dependencies=[Depends(audited("reconcile.run"))],
)
def start_reconcile(
    principal: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> ReconcileRunOut:
    """Rebuild every balance from the postings and check the per-asset zero sums, in the
    background (the same check as `giftflow reconcile`). Answers the run, `queued` or
    `running`; while one runs, asking again answers that one (no key needed)."""
    run, _ = service.start(ctx, principal.actor)
    return run


@router.get(
    "/reconcile",
    response_model=ReconcileRunOut,
    responses={404: {"description": "No reconcile has run yet."}},
)
def last_reconcile(
    _: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> ReconcileRunOut:
    """The latest run, with every difference it found (`report.differences`)."""
    return service.last(ctx)


@router.get("/reconcile/runs", response_model=ReconcileRunsPage)
def reconcile_runs(
    limit: int = Query(default=20, ge=1, le=100),
    cursor: str | None = Query(default=None, max_length=18),
    _: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> ReconcileRunsPage:
    """Every run, newest first: who asked (an operator, or `schedule`), when, the outcome."""
    return service.page(ctx, limit, parse_cursor(cursor))


@router.get("/reconcile/runs/{run_id}", response_model=ReconcileRunOut)
def reconcile_run(
    run_id: ObjectIdPath, _: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> ReconcileRunOut:
    return service.one(ctx, parse_id(run_id))
