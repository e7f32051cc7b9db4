"""Withdrawals and the payout queue.

Creators (user token): ``POST /v1/withdrawals`` (Idempotency-Key, second-factor code),
``GET /v1/withdrawals``, ``GET /v1/withdrawals/{id}``, ``POST /v1/withdrawals/{id}/cancel``.
Admins: ``GET /v1/admin/withdrawals?state=``, ``GET /v1/admin/withdrawals/{id}``,
``POST …/approve``, ``…/reject`` (Idempotency-Key) and ``…/retry``. Payout providers:
``POST /v1/webhooks/payouts/{provider}`` (the signature is the credential).
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from giftflow.audit import audited
from giftflow.audit.loaders import row_of
from giftflow.auth.deps import require_scope, require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.earnings.withdrawals import service
from giftflow.earnings.withdrawals.schemas import (
    NoteIn,
    PayoutWebhookOut,
    RejectIn,
    WithdrawalCreatedOut,
    WithdrawalIn,
    WithdrawalOut,
    WithdrawalsPage,
)
from giftflow.earnings.withdrawals.states import AT_PROVIDER, WithdrawalState
from giftflow.errors import InvalidTransition
from giftflow.http.fields import ObjectIdPath
from giftflow.http.idempotent import (
    IdempotencyKeyHeader,
    submit_idempotent,
    submit_idempotent_guarded,
)
from giftflow.http.ids import parse_cursor, parse_id

router = APIRouter(prefix="/v1", tags=["withdrawals"])
ProviderPath = Annotated[
    str, Path(pattern=r"^[a-z0-9_\-]{1,32}$", description="The payout provider: sandbox, paypal.")
]
admin = require_scope("admin")
WITHDRAWAL = row_of("withdrawals", "withdrawal_id")  # the audit log's "before"
REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "not_found: the payout method is not one of the caller's."},
    409: {
        "description": "Refused, nothing moved: kyc_required, second_factor_required, "
        "second_factor_invalid, below_minimum, withdrawal_limit_exceeded, method_cooling_off, "
        "insufficient_funds (details say how much is still in the earnings hold), "
        "account_frozen."
    },
    429: {"description": "second_factor_locked: five wrong codes lock withdrawals 15 minutes."},
}
TRANSITION_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such withdrawal (another user's is not found either)."},
    409: {"description": "invalid_transition: not allowed from the withdrawal's state."},
}


def _dispatch_if_approved(
    ctx: AppContext, response: JSONResponse, background: BackgroundTasks
) -> JSONResponse:
    """After the response: send a freshly approved withdrawal to its provider."""
    if response.status_code < 300 and response.headers.get("idempotent-replayed") is None:
        body = json.loads(bytes(response.body))
        if body.get("state") == WithdrawalState.APPROVED.value:
            background.add_task(service.dispatch, ctx, int(body["id"]))
    return response


@router.post(
    "/withdrawals", status_code=201, response_model=WithdrawalCreatedOut, responses=REFUSALS
)
async def request_withdrawal(
    body: WithdrawalIn,
    request: Request,
    background: BackgroundTasks,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Withdraw available diamonds to one of the caller's payout methods: give
    ``amount_minor`` (gross) or ``diamonds``, the method and a current second-factor code
    (``totp``). Only diamonds that convert to whole minor units are taken (the rest stays);
    the cash-out fee is taken from the gross. The diamonds are reserved at once; the
    withdrawal is ``approved`` automatically under the policy's threshold, else it waits for
    an operator. The code is checked once per Idempotency-Key: a retry replays the answer."""
    user = principal.require_user()
    command = await asyncio.to_thread(service.prepare_request, ctx, user, body)
    guard = service.second_factor_guard(ctx, user, body.totp)
    response = await submit_idempotent_guarded(
        ctx, request, principal, command, body, guard, {"totp"}
    )
    return _dispatch_if_approved(ctx, response, background)


@router.get("/withdrawals", response_model=WithdrawalsPage)
def my_withdrawals(
    limit: int = Query(default=20, ge=1, le=100),
    cursor: str | None = Query(default=None, max_length=18),
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> WithdrawalsPage:
    """The caller's withdrawals, newest first, each with its state history."""
    return service.page(
        ctx,
        owner=principal.require_user(),
        state=None,
        limit=limit,
        before=parse_cursor(cursor),
    )


@router.get(
    "/withdrawals/{withdrawal_id}", response_model=WithdrawalOut, responses=TRANSITION_REFUSALS
)
def my_withdrawal(
    withdrawal_id: ObjectIdPath,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> WithdrawalOut:
    """One of the caller's withdrawals with its state history and expected payment date."""
    return service.get_one(ctx, parse_id(withdrawal_id), principal.require_user())


@router.post(
    "/withdrawals/{withdrawal_id}/cancel",
    response_model=WithdrawalOut,
    responses=TRANSITION_REFUSALS,
)
async def cancel_withdrawal(
    withdrawal_id: ObjectIdPath,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Cancel a withdrawal that has not been sent to the provider yet (``requested`` or
    ``approved``): the reserved diamonds come back."""
    command = service.cancel_command(principal.require_user(), parse_id(withdrawal_id))
    return await submit_idempotent(ctx, request, principal, command)


# --- admins: the payout queue ------------------------------------------------------------------
@router.get("/admin/withdrawals", response_model=WithdrawalsPage, tags=["admin: withdrawals"])
def queue(
    state: WithdrawalState | None = Query(default=None, description="Only this state."),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=18),
    _admin: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> WithdrawalsPage:
    """Every creator's withdrawals, newest first; ``state=requested`` is the approval queue."""
    return service.page(ctx, owner=None, state=state, limit=limit, before=parse_cursor(cursor))


@router.get(
    "/admin/withdrawals/{withdrawal_id}",
    response_model=WithdrawalOut,
    responses=TRANSITION_REFUSALS,
    tags=["admin: withdrawals"],
)
def one(
    withdrawal_id: ObjectIdPath,
    _admin: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> WithdrawalOut:
    return service.get_one(ctx, parse_id(withdrawal_id), None)


@router.post(
    "/admin/withdrawals/{withdrawal_id}/approve",
    response_model=WithdrawalOut,
    responses=TRANSITION_REFUSALS,
    tags=["admin: withdrawals"],
    dependencies=[Depends(audited("withdrawal.approve", "withdrawal:{withdrawal_id}", WITHDRAWAL))],
)
async def approve(
    withdrawal_id: ObjectIdPath,
    request: Request,
    background: BackgroundTasks,
    body: NoteIn | None = None,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Approve a requested withdrawal; it is sent to its provider right after the answer."""
    command = service.approve_command(ctx, parse_id(withdrawal_id), body.note if body else None)
    response = await submit_idempotent(ctx, request, principal, command, body)
    return _dispatch_if_approved(ctx, response, background)


@router.post(
    "/admin/withdrawals/{withdrawal_id}/reject",
    response_model=WithdrawalOut,
    responses=TRANSITION_REFUSALS,
    tags=["admin: withdrawals"],
    dependencies=[Depends(audited("withdrawal.reject", "withdrawal:{withdrawal_id}", WITHDRAWAL))],
)
async def reject(
    withdrawal_id: ObjectIdPath,
    body: RejectIn,
    request: Request,
    _key: IdempotencyKeyHeader = None,
    principal: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Reject a withdrawal not yet sent (``requested`` or ``approved``): the reserved diamonds
    go back to the creator, and the reason is shown to them."""
    command = service.reject_command(parse_id(withdrawal_id), body.reason)
    return await submit_idempotent(ctx, request, principal, command, body)


@router.post(
    "/admin/withdrawals/{withdrawal_id}/retry",
    response_model=WithdrawalOut,
    responses=TRANSITION_REFUSALS,
    tags=["admin: withdrawals"],
    dependencies=[Depends(audited("withdrawal.retry", "withdrawal:{withdrawal_id}", WITHDRAWAL))],
)
async def retry(
    withdrawal_id: ObjectIdPath,
    _admin: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> WithdrawalOut:
    """Send an approved withdrawal to its provider now, or ask the provider again about one it
    has (under the same id: never a second payout). Safe to repeat; needs no key."""
    wid = parse_id(withdrawal_id)
    current = service.get_one(ctx, wid, None)
    if current.state not in {WithdrawalState.APPROVED.value, *(s.value for s in AT_PROVIDER)}:
        raise InvalidTransition(
            f"Only approved, submitted or in-transit withdrawals are sent or asked again; this "
            f"one is {current.state}.",
            id=current.id,
            state=current.state,
        )
    await service.dispatch(ctx, wid)
    return service.get_one(ctx, wid, None)


# --- providers -----------------------------------------------------------------------------------
@router.post(
    "/webhooks/payouts/{provider}",
    response_model=PayoutWebhookOut,
    responses={400: {"description": "invalid_signature"}, 404: {"description": "not offered"}},
    tags=["webhooks"],
)
async def payout_webhook(
    provider: ProviderPath, request: Request, ctx: AppContext = Depends(get_context)
) -> PayoutWebhookOut:
    """A payout provider's event about one payout (PayPal: PAYMENT.PAYOUTS-ITEM.*). Verified
    by the provider's signature, stored once by its event id, applied like a poll result."""
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    outcome = await service.handle_event(ctx, provider, headers, body)
    return PayoutWebhookOut(outcome=outcome)
