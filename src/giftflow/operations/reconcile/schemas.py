"""Reconcile runs as the API shows them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

RunState = Literal["queued", "running", "clean", "differences", "failed"]


class DifferenceOut(BaseModel):
    check: str = Field(description="balance, zero_sum, non_negative, chart, posting_asset, …")
    subject: str = Field(description="The account (path, asset, shard) or asset concerned.")
    expected: int | str
    actual: int | str
    message: str


class ReportOut(BaseModel):
    accounts: int
    transactions: int
    postings: int
    differences: list[DifferenceOut]
    truncated: bool = Field(
        default=False,
        description="More differences than stored (the first 1,000 are; `differences` on "
        "the run counts them all).",
    )


class ReconcileRunOut(BaseModel):
    id: str
    object: str = "reconcile_run"
    state: RunState
    requested_by: str = Field(description="The operator's actor, or `schedule` (daily run).")
    requested_at: str
    started_at: str | None
    finished_at: str | None
    differences: int | None
    report: ReportOut | None
    error: str | None


class ReconcileRunsPage(BaseModel):
    object: str = "list"
    data: list[ReconcileRunOut]
    next_cursor: str | None
