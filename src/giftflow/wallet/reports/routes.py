"""Finance figures of the wallet flows: ``GET /v1/admin/reports/wallet``, as JSON (the default)
or as CSV when the request's ``Accept`` prefers ``text/csv``."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from giftflow.auth.deps import require_scope
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.ids import parse_cursor
from giftflow.http.negotiation import CSV, report_response
from giftflow.ids import USER_ID_CHARS
from giftflow.wallet.purchases.schemas import PurchasesPage
from giftflow.wallet.purchases.states import PurchaseState
from giftflow.wallet.reports import service
from giftflow.wallet.reports.schemas import WalletReportOut

router = APIRouter(prefix="/v1", tags=["admin: reports"])
admin = require_scope("admin")


@router.get(
    "/admin/reports/wallet",
    response_model=WalletReportOut,
    responses={
        200: {
            "description": "The report; as CSV with `Accept: text/csv`.",
            "content": {CSV: {"schema": {"type": "string"}}},
        }
    },
)
def wallet_report(
    request: Request,
    from_: date = Query(alias="from", description="First day (YYYY-MM-DD), policy time zone."),
    to: date = Query(description="Last day, included; at most 366 days in all."),
    _: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """Purchases, revenue, store fees, refunds, disputes and receivables per day and currency,
    from the ledger; deferred revenue and bonus coins outstanding at the end of `to`."""
    report = service.wallet_report(ctx, from_, to)
    return report_response(
        request,
        csv=lambda: service.report_csv(report),
        filename=f"wallet-report-{from_.isoformat()}-{to.isoformat()}.csv",
        json=lambda: service.report_out(report).model_dump(mode="json", by_alias=True),
    )


@router.get("/admin/purchases", response_model=PurchasesPage, tags=["admin: purchases"])
def all_purchases(
    state: PurchaseState | None = Query(default=None, description="Only this state."),
    user_id: str | None = Query(
        default=None, pattern=f"^{USER_ID_CHARS}$", description="Only this buyer's."
    ),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=18),
    _: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> PurchasesPage:
    """Every user's purchases, newest first (`state=disputed` for open chargebacks,
    `user_id=` for one buyer), each as `GET /v1/purchases/{id}` shows it."""
    return service.purchases_page(
        ctx,
        state=state.value if state is not None else None,
        user_id=user_id,
        limit=limit,
        before_id=parse_cursor(cursor),
    )
