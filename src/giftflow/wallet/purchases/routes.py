"""Purchases: buy coins, see them, refund them; operators see and settle chargebacks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from giftflow.audit import audited
from giftflow.audit.loaders import row_of
from giftflow.auth.deps import get_principal, require_scope, require_user
from giftflow.auth.principal import Principal
from giftflow.clock import rfc3339
from giftflow.context import AppContext, get_context
from giftflow.http.idempotent import IdempotencyKeyHeader, idempotency_request, outcome_response
from giftflow.http.ids import parse_cursor, parse_id
from giftflow.http.schemas import AmountOut
from giftflow.money.amounts import amount_view
from giftflow.wallet.purchases import service
from giftflow.wallet.purchases.schemas import (
    DisputeActionIn,
    DisputeOut,
    DisputesPage,
    EventResultOut,
    PaymentEventOut,
    PaymentEventsPage,
    PurchaseIn,
    PurchaseOut,
    PurchasesPage,
    RefundIn,
    SettledOut,
    SettleIn,
)

router = APIRouter(prefix="/v1", tags=["purchases"])
admin = require_scope("admin")
PURCHASE = row_of("purchases", "purchase_id")  # the audit log's "before"
REFUSALS: dict[int | str, dict[str, Any]] = {
    402: {"description": "payment_declined"},
    409: {"description": "Refused (cap_exceeded, age_restricted, refund_not_allowed, …)"},
}


@router.post("/purchases", status_code=201, response_model=PurchaseOut, responses=REFUSALS)
async def create_purchase(
    body: PurchaseIn,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Buy a pack or a custom amount of coins; coins arrive only when the provider confirms
    (at once with the sandbox, by webhook with Stripe and the App Store)."""
    ireq = idempotency_request(request, principal, body)
    return outcome_response(await service.buy(ctx, principal.require_user(), body, ireq))


@router.get("/purchases", response_model=PurchasesPage)
def list_purchases(
    limit: int = Query(default=20, ge=1, le=100),
    cursor: str | None = Query(default=None, max_length=18),
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> PurchasesPage:
    """The caller's purchases, newest first, each with what is left of its lot."""
    rows, next_cursor = service.page(ctx, principal.require_user(), limit, parse_cursor(cursor))
    return PurchasesPage(data=[PurchaseOut(**r) for r in rows], next_cursor=next_cursor)


@router.get("/purchases/{purchase_id}", response_model=PurchaseOut)
def get_purchase(
    purchase_id: str,
    principal: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> PurchaseOut:
    """A purchase: its owner, or a platform/admin key."""
    if principal.kind == "api_key":
        principal.require_scope("platform", "admin")
    owner = principal.user_id if principal.kind == "user" else None
    return PurchaseOut(**service.get(ctx, parse_id(purchase_id), owner))


@router.post(
    "/purchases/{purchase_id}/refund",
    response_model=PurchaseOut,
    responses=REFUSALS,
    dependencies=[Depends(audited("purchase.refund", "purchase:{purchase_id}", PURCHASE))],
)
async def refund_purchase(
    purchase_id: str,
    body: RefundIn,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Refund an untouched purchase within the policy's window: its owner, or an admin."""
    if principal.kind == "api_key":
        principal.require_scope("admin")
    ireq = idempotency_request(request, principal, body)
    owner = principal.user_id if principal.kind == "user" else None
    outcome = await service.refund(ctx, parse_id(purchase_id), owner, body.reason, ireq)
    return outcome_response(outcome)


@router.post(
    "/admin/purchases/{purchase_id}/dispute",
    response_model=EventResultOut,
    tags=["admin: disputes"],
    dependencies=[Depends(audited("purchase.dispute", "purchase:{purchase_id}", PURCHASE))],
)
async def sandbox_dispute(
    purchase_id: str,
    body: DisputeActionIn,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Sandbox purchases only: act as the card network (open, win or lose a chargeback)."""
    ireq = idempotency_request(request, principal, body)
    outcome = await service.sandbox_dispute(ctx, parse_id(purchase_id), body.action, ireq)
    return outcome_response(outcome)


def _dispute_out(d: dict[str, Any]) -> DisputeOut:
    return DisputeOut(
        id=str(d["id"]),
        purchase_id=str(d["purchase_id"]),
        user_id=d["user_id"],
        state=d["state"],
        coins_removed=d["coins_removed"],
        bonus_removed=d["bonus_removed"],
        coins_spent=d["coins_spent"],
        receivable=AmountOut(**amount_view(d["currency"], d["receivable_minor"])),
        note=d["note"],
        created_at=rfc3339(d["created_at"]),
        closed_at=rfc3339(d["closed_at"]) if d["closed_at"] else None,
    )


@router.get("/admin/disputes", response_model=DisputesPage, tags=["admin: disputes"])
def list_disputes(
    state: str | None = Query(default=None, pattern="^(open|won|lost|settled)$"),
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = Query(
        default=None, max_length=18, description="`next_cursor` of the previous page."
    ),
    _: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> DisputesPage:
    """Chargebacks and provider refunds that left a user owing coins' value, newest first."""
    rows, next_cursor = service.disputes(ctx, state, limit, parse_cursor(cursor))
    return DisputesPage(data=[_dispute_out(d) for d in rows], next_cursor=next_cursor)


@router.post(
    "/admin/disputes/{dispute_id}/settle",
    response_model=SettledOut,
    tags=["admin: disputes"],
    responses=REFUSALS,
    dependencies=[
        Depends(audited("dispute.settle", "dispute:{dispute_id}", row_of("disputes", "dispute_id")))
    ],
)
async def settle_dispute(
    dispute_id: str,
    body: SettleIn,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Write off what the user owes after a lost dispute and lift the spending freeze."""
    ireq = idempotency_request(request, principal, body)
    return outcome_response(await service.settle(ctx, parse_id(dispute_id), body.note, ireq))


@router.get("/admin/payment-events", response_model=PaymentEventsPage, tags=["admin: disputes"])
def list_payment_events(
    outcome: str | None = Query(default=None, max_length=64, pattern=r"^[a-z_]+$"),
    event_type: str | None = Query(default=None, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$"),
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = Query(
        default=None, max_length=1000, description="`next_cursor` of the previous page."
    ),
    _: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> PaymentEventsPage:
    """Every event a provider delivered, with what it did (e.g. ``recorded_for_review`` for App
    Store consumption requests, ``unknown_purchase``, ``amount_mismatch``), newest first."""
    rows, next_cursor = service.events(ctx, outcome, event_type, limit, cursor)
    return PaymentEventsPage(
        data=[
            PaymentEventOut(
                provider=r["provider"],
                event_id=r["event_id"],
                event_type=r["event_type"],
                purchase_id=str(r["purchase_id"]) if r["purchase_id"] else None,
                outcome=r["outcome"],
                received_at=rfc3339(r["received_at"]),
            )
            for r in rows
        ],
        next_cursor=next_cursor,
    )
