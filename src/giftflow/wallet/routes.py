"""GET /v1/wallet and /v1/transactions: a user's own balances and history (no one else's)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from giftflow.auth.deps import get_principal, require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.fields import UserIdPath
from giftflow.http.ids import parse_cursor
from giftflow.wallet import service
from giftflow.wallet.schemas import EntriesPage, WalletOut

router = APIRouter(prefix="/v1", tags=["wallet"])


@router.get("/wallet", response_model=WalletOut)
def my_wallet(
    principal: Principal = Depends(require_user), ctx: AppContext = Depends(get_context)
) -> WalletOut:
    """The calling user's balances in every asset: available, held by pending transfers, total."""
    return service.wallet(ctx, principal.require_user())


@router.get("/users/{user_id}/wallet", response_model=WalletOut)
def user_wallet(
    user_id: UserIdPath,
    principal: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> WalletOut:
    """A user's wallet: platform/admin keys, or that user; anyone else, or no such user, 404."""
    principal.require_owner_or_scope(user_id, "platform", "admin")
    return service.wallet(ctx, user_id)


@router.get("/transactions", response_model=EntriesPage)
def my_transactions(
    limit: int = Query(default=20, ge=1, le=100),
    cursor: str | None = Query(default=None, max_length=18),
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> EntriesPage:
    """The calling user's entries, newest first; pass ``next_cursor`` back as ``cursor``."""
    return service.history(ctx, principal.require_user(), limit, parse_cursor(cursor))
