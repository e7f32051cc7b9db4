"""Identity and the second factor (a creator's user token):

- ``GET /v1/creator/identity``: KYC status (set by the platform or an admin through
  ``PUT /v1/users/{id}``) and the second factor's state;
- ``POST /v1/creator/totp``: enrol (or re-enrol) a TOTP authenticator: the secret as an
  ``otpauth://`` URI and a QR code (SVG), shown this once;
- ``POST /v1/creator/totp/confirm``: activate it with a current code; returns ten recovery codes,
  shown this once;
- ``GET /v1/creator/totp``: the factor's state, recovery codes left, a lock if any;
- ``POST /v1/creator/totp/verify``: check a code (it is used up, and a wrong one counts toward
  the lock like anywhere else).

None of these moves value, so they take no Idempotency-Key; a code works once, so a retried
request is refused rather than applied twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends

from giftflow.auth.deps import require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.earnings.identity import service
from giftflow.earnings.identity.schemas import (
    CodeIn,
    ConfirmedOut,
    EnrolIn,
    EnrolmentOut,
    IdentityOut,
    SecondFactorOut,
    VerifiedOut,
)

router = APIRouter(prefix="/v1", tags=["earnings"])

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "`secrets_unavailable`: the server has no GIFTFLOW_SECRETS_KEY."},
}
LOCKED: dict[int | str, dict[str, Any]] = {
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
}
REFUSED: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "`second_factor_required` (none confirmed), `second_factor_invalid` "
        "(wrong, expired or used code; `details.attempts_left`) or `invalid_transition`."
    },
}


@router.get("/creator/identity", response_model=IdentityOut)
async def get_identity(
    principal: Principal = Depends(require_user), ctx: AppContext = Depends(get_context)
) -> IdentityOut:
    """Where the caller stands for withdrawals: KYC status (``unverified`` until the platform
    says otherwise), whether the policy requires it, and the second factor."""
    return await asyncio.to_thread(service.identity, ctx, principal.require_user())


@router.get("/creator/totp", response_model=SecondFactorOut)
async def get_totp(
    principal: Principal = Depends(require_user), ctx: AppContext = Depends(get_context)
) -> SecondFactorOut:
    """The second factor: ``none``, ``pending`` (enrolled, not confirmed) or ``active``."""
    return await asyncio.to_thread(service.status, ctx, principal.require_user())


@router.post(
    "/creator/totp",
    status_code=201,
    response_model=EnrolmentOut,
    responses=REFUSED | LOCKED | UNAVAILABLE,
)
async def enrol_totp(
    body: EnrolIn | None = None,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> EnrolmentOut:
    """Enrol a TOTP authenticator (pending until confirmed). Replacing a confirmed one needs a
    current code or a recovery code of it as ``code``."""
    code = body.code if body is not None else None
    return await asyncio.to_thread(service.enrol, ctx, principal.require_user(), code)


@router.post("/creator/totp/confirm", response_model=ConfirmedOut, responses=REFUSED | UNAVAILABLE)
async def confirm_totp(
    body: CodeIn,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> ConfirmedOut:
    """Activate the pending authenticator with its current code; the answer holds the ten
    recovery codes, shown this once."""
    return await asyncio.to_thread(service.confirm, ctx, principal.require_user(), body.code)


@router.post(
    "/creator/totp/verify", response_model=VerifiedOut, responses=REFUSED | LOCKED | UNAVAILABLE
)
async def verify_totp(
    body: CodeIn,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> VerifiedOut:
    """Check a code of the active factor. The code is used up, and a wrong one counts toward
    the lock (five lock withdrawals for 15 minutes)."""
    return await asyncio.to_thread(service.verify, ctx, principal.require_user(), body.code)
