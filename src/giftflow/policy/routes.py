"""GET /v1/policy: the economy policy in force, so apps can show prices, shares and limits."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from giftflow.auth.deps import get_principal
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.policy import service

router = APIRouter(prefix="/v1", tags=["policy"])


@router.get("/policy")
def get_policy(
    _: Principal = Depends(get_principal), ctx: AppContext = Depends(get_context)
) -> dict[str, Any]:
    """The active economy policy (``GIFTFLOW_POLICY_PROFILE``), with its version label."""
    return service.policy_document(ctx)
