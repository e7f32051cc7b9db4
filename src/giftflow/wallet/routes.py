"""GET /v1/wallet and /v1/transactions: a user's own balances and history (no one else's)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from giftflow.auth.deps import get_principal, require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.ids import parse_cursor
from giftflow.ledger import read_repository as reads
from giftflow.ledger.views import amount_view
from giftflow.users.routes import USER_ID
from giftflow.wallet.schemas import EntriesPage, WalletOut

router = APIRouter(prefix="/v1", tags=["wallet"])

ALWAYS_SHOWN = ("COIN", "DIAMOND")


def wallet_view(ctx: AppContext, user_id: str) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        rows = reads.balances(conn, owner_id=user_id)
    totals: dict[str, int] = dict.fromkeys(ALWAYS_SHOWN, 0)
    for r in rows:
        totals[r.asset] = totals.get(r.asset, 0) + int(r.balance)
    return {
        "object": "wallet",
        "user_id": user_id,
        "balances": [{"account": r.path, **amount_view(r.asset, int(r.balance))} for r in rows],
        "totals": [amount_view(asset, amount) for asset, amount in totals.items()],
    }


@router.get("/wallet", response_model=WalletOut)
def my_wallet(
    principal: Principal = Depends(require_user), ctx: AppContext = Depends(get_context)
) -> JSONResponse:
    """The calling user's balances in every asset, with display strings."""
    return JSONResponse(wallet_view(ctx, principal.require_user()))


@router.get("/users/{user_id}/wallet", response_model=WalletOut)
def user_wallet(
    user_id: str = USER_ID,
    principal: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """A user's wallet: platform/admin keys, or that user; anyone else gets 404."""
    principal.require_owner_or_scope(user_id, "platform", "admin")
    return JSONResponse(wallet_view(ctx, user_id))


@router.get("/transactions", response_model=EntriesPage)
def my_transactions(
    limit: int = Query(default=20, ge=1, le=100),
    cursor: str | None = Query(default=None, max_length=18),
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """The calling user's entries, newest first; pass ``next_cursor`` back as ``cursor``."""
    with ctx.engine.connect() as conn:
        entries, next_cursor = reads.owner_history(
            conn,
            principal.require_user(),
            limit=limit,
            before_txn=parse_cursor(cursor),
        )
    return JSONResponse(
        {
            "object": "list",
            "data": entries,
            "next_cursor": str(next_cursor) if next_cursor is not None else None,
        }
    )
