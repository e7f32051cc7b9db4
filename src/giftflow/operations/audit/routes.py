"""``GET /v1/admin/audit``: the audit log of admin actions, newest first."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from giftflow.auth.deps import require_scope
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.fields import Text
from giftflow.http.ids import parse_cursor
from giftflow.operations.audit import service
from giftflow.operations.audit.schemas import AuditPage

router = APIRouter(prefix="/v1/admin", tags=["operations"])
admin = require_scope("admin")


@router.get("/audit", response_model=AuditPage, tags=["admin: audit"])
def audit_log(
    target: Text | None = Query(
        default=None, max_length=200, description="Exactly this target, e.g. `withdrawal:12`."
    ),
    actor: Text | None = Query(
        default=None,
        max_length=200,
        description="This actor, or every actor of one credential: `apikey:3`.",
    ),
    action: Text | None = Query(
        default=None,
        max_length=100,
        description="This action (`withdrawal.approve`), or a prefix ending in `*` "
        "(`withdrawal.*`).",
    ),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=18),
    _: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> AuditPage:
    """Every admin request that could change something — who, what, when, the target, the
    body sent (secrets redacted), the state before, the answer and its status, refusals
    included. The table is append-only."""
    return service.page(
        ctx,
        target=target,
        actor=actor,
        action=action,
        limit=limit,
        before_id=parse_cursor(cursor),
    )
