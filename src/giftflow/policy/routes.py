"""GET /v1/policy: the economy policy in force, so apps can show prices, shares and limits."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from giftflow.auth.deps import get_principal
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.money.policy import Policy, load_profile
from giftflow.money.repository import load_policy_book

router = APIRouter(prefix="/v1", tags=["policy"])


def active_policy(ctx: AppContext) -> Policy:
    """The stored version of the configured profile in force now, else the shipped file."""
    profile = ctx.settings.policy_profile
    with ctx.engine.connect() as conn:
        book = load_policy_book(conn, profile)
    if book is not None:
        return book.active_at(ctx.clock.now())
    return load_profile(profile)


@router.get("/policy")
def get_policy(
    _: Principal = Depends(get_principal), ctx: AppContext = Depends(get_context)
) -> JSONResponse:
    """The active economy policy (``GIFTFLOW_POLICY_PROFILE``), with its version label."""
    policy = active_policy(ctx)
    return JSONResponse(
        {"object": "policy", "label": policy.version_label, **policy.model_dump(mode="json")}
    )
