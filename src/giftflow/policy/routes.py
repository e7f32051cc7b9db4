"""GET /v1/policy: the economy policy in force, so apps can show prices, shares and limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from giftflow.audit import audit_target, audited
from giftflow.auth.deps import get_principal, require_scope
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.policy import service
from giftflow.policy.schemas import (
    PolicyCheckOut,
    PolicyDocumentIn,
    PolicyOut,
    PolicyVersionDocumentOut,
    PolicyVersionsPage,
)

router = APIRouter(prefix="/v1", tags=["policy"])


async def _reads_as_admin(principal: Principal = Depends(get_principal)) -> bool:
    """Any credential may read the policy; an admin key also sees the fraud thresholds."""
    return principal.kind == "api_key" and "admin" in principal.scopes


@router.get("/policy", response_model=PolicyOut)
def get_policy(
    admin: bool = Depends(_reads_as_admin), ctx: AppContext = Depends(get_context)
) -> JSONResponse:
    """The active economy policy (``GIFTFLOW_POLICY_PROFILE``), with its version label. The
    fraud thresholds are shown to admin keys only: anyone else could keep just under them."""
    document = service.policy_document(ctx)
    return JSONResponse(document.model_dump(mode="json", exclude=None if admin else {"fraud"}))


admin_router = APIRouter(prefix="/v1/admin", tags=["admin: policy"])
admin = require_scope("admin")
LabelPath = Annotated[
    str,
    Path(
        pattern=r"^[a-z0-9][a-z0-9\-]{0,63}@[0-9]{1,9}$",
        description="`id@version`, e.g. `standard@2`.",
    ),
]


@admin_router.get("/policies", response_model=PolicyVersionsPage)
def policy_versions(
    _: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> PolicyVersionsPage:
    """The versions of the server's profile, newest first: which one is `in_force` now and
    which are `scheduled` (their `effective_from` is still ahead)."""
    return service.versions(ctx)


@admin_router.get("/policies/{label}", response_model=PolicyVersionDocumentOut)
def policy_version(
    label: LabelPath, _: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> PolicyVersionDocumentOut:
    """One version with its whole document."""
    return service.version(ctx, label)


@admin_router.post(
    "/policies/validate",
    response_model=PolicyCheckOut,
    dependencies=[Depends(audited("policy.validate"))],
)
def validate_policy(
    body: PolicyDocumentIn, _: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> PolicyCheckOut:
    """Every problem with a document, as publishing it would find them (the rules, the
    profile, the next version number, `effective_from` not in the past); stores nothing."""
    return service.check(ctx, body.document)


@admin_router.post(
    "/policies",
    status_code=201,
    response_model=PolicyVersionDocumentOut,
    responses={
        409: {"description": "policy_version_exists: versions are immutable."},
        422: {"description": "invalid_policy, with every problem in `details.problems`."},
    },
    dependencies=[Depends(audited("policy.publish"))],
)
def publish_policy(
    body: PolicyDocumentIn,
    request: Request,
    _: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> PolicyVersionDocumentOut:
    """Publish a new version of the profile: in force from its `effective_from` (now, or a
    scheduled time). Transactions record the version they were made under, so history keeps
    its rules."""
    label = service.label_of(body.document)
    if label is not None:
        audit_target(request, f"policy:{label}")
    return service.publish(ctx, body.document)
