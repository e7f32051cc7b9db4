"""Payout methods (a creator's user token):

- ``POST /v1/payout-methods``: add a PayPal e-mail (``{"kind": "paypal", "email"}``) or a bank
  account (``{"kind": "bank", "iban", "holder_name"}``), with ``totp``, a current code of the
  second factor;
- ``GET /v1/payout-methods``: the caller's methods, masked, each with when it becomes usable;
- ``PUT /v1/payout-methods/{id}``: replace one (same body; the cooling-off starts again);
- ``DELETE /v1/payout-methods/{id}``: remove one (body ``{"totp"}``).

Changes need the second factor and none moves value (no Idempotency-Key): a code works once, so
a retried request is refused, never applied twice. Another user's method is ``404``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends

from giftflow.auth.deps import require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.earnings.methods import service
from giftflow.earnings.methods.schemas import FactorIn, MethodIn, MethodOut, MethodsOut, RemovedOut
from giftflow.http.ids import parse_id

router = APIRouter(prefix="/v1", tags=["earnings"])

REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "`second_factor_required` (enrol one first) or `second_factor_invalid` "
        "(wrong, expired or used code)."
    },
    429: {
        "description": "`second_factor_locked`: five wrong codes; retry after `Retry-After`.",
        "headers": {
            "Retry-After": {
                "description": "Seconds until the lock ends.",
                "required": True,
                "schema": {"type": "string"},
            }
        },
    },
    503: {"description": "`secrets_unavailable`: the server has no GIFTFLOW_SECRETS_KEY."},
}


@router.get("/payout-methods", response_model=MethodsOut)
async def list_methods(
    principal: Principal = Depends(require_user), ctx: AppContext = Depends(get_context)
) -> MethodsOut:
    """The caller's payout methods, masked; ``usable`` once the cooling-off period is over."""
    data = await asyncio.to_thread(service.listing, ctx, principal.require_user())
    return MethodsOut(data=data)


@router.post("/payout-methods", status_code=201, response_model=MethodOut, responses=REFUSALS)
async def add_method(
    body: MethodIn,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> MethodOut:
    """Add a payout method (IBANs are checked); it needs the second factor (``totp``) and cools
    off for the policy's ``cashout.method_cooling_off_hours`` before a withdrawal may use it."""
    return await asyncio.to_thread(service.add, ctx, principal.require_user(), body)


@router.put("/payout-methods/{method_id}", response_model=MethodOut, responses=REFUSALS)
async def change_method(
    method_id: str,
    body: MethodIn,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> MethodOut:
    """Replace a payout method's details; needs the second factor; the cooling-off restarts."""
    return await asyncio.to_thread(
        service.change, ctx, principal.require_user(), parse_id(method_id), body
    )


@router.delete("/payout-methods/{method_id}", response_model=RemovedOut, responses=REFUSALS)
async def remove_method(
    method_id: str,
    body: FactorIn,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> RemovedOut:
    """Remove a payout method; needs the second factor (``{"totp": …}`` in the body)."""
    return await asyncio.to_thread(
        service.remove, ctx, principal.require_user(), parse_id(method_id), body.totp
    )
