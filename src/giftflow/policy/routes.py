"""GET /v1/policy: the economy policy in force, so apps can show prices, shares and limits."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from giftflow.auth.deps import get_principal
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.policy import service
from giftflow.policy.schemas import PolicyOut

router = APIRouter(prefix="/v1", tags=["policy"])


@router.get("/policy", response_model=PolicyOut)
def get_policy(
    _: Principal = Depends(get_principal), ctx: AppContext = Depends(get_context)
) -> PolicyOut:
    """The active economy policy (``GIFTFLOW_POLICY_PROFILE``), with its version label."""
    return service.policy_document(ctx)


admin_router = APIRouter(prefix="/v1/admin", tags=["policy"])
