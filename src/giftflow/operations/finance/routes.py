"""The operators' finance report: ``GET /v1/admin/reports/finance``, as JSON (the default) or as
CSV when the request's ``Accept`` prefers ``text/csv``. See docs/finance.md."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from giftflow.auth.deps import require_scope
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.negotiation import CSV, report_response
from giftflow.operations.finance import service
from giftflow.operations.finance.schemas import FinanceReportOut

router = APIRouter(prefix="/v1/admin", tags=["operations"])
admin = require_scope("admin")


@router.get(
    "/reports/finance",
    response_model=FinanceReportOut,
    tags=["admin: reports"],
    responses={
        200: {
            "description": "The report; as CSV with `Accept: text/csv` (columns "
            "`currency,bucket_start,bucket_end,figure,amount_minor,display`).",
            "content": {CSV: {"schema": {"type": "string"}}},
        }
    },
)
def finance_report(
    request: Request,
    from_: date | None = Query(
        default=None,
        alias="from",
        description="First day (YYYY-MM-DD) in the policy's time zone; default: `to` − 30 days.",
    ),
    to: date | None = Query(
        default=None,
        description="The day after the last one (exclusive); default: tomorrow, or `from` + "
        "30 days.",
    ),
    bucket: service.Bucket = Query(
        default="day",
        description="Bucket size: calendar days, ISO weeks (from Monday) or calendar months; "
        f"at most {service.MAX_BUCKETS} buckets.",
    ),
    _: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """Per currency: purchases, store fees, revenue recognised, deferred revenue, creator
    liability (held, available, in payout), payouts, cash-out fees, refunds, chargebacks and
    receivables, per bucket and in total, and the take rate — every figure a sum of ledger
    postings (docs/finance.md)."""
    report = service.finance_report(ctx, from_, to, bucket)
    span = report.period
    return report_response(
        request,
        csv=lambda: service.report_csv(report),
        filename=f"finance-{span.first.isoformat()}-{span.end.isoformat()}-{bucket}.csv",
        json=lambda: service.report_out(report).model_dump(mode="json", by_alias=True),
    )
