"""GET /v1/coin-packs and /v1/coin-packs/quote: what coins cost the caller, before any payment.

A user token sees the store of its own region (the platform sets it on the user's profile; none
→ the ``*`` lists) and its own first-purchase bonus; ``user_id``, if given, must be the caller
(anyone else's → 404). A ``platform`` (or ``admin``) API key may pass ``region`` and sees the
store without a first-purchase bonus, unless it names a ``user_id``: then it sees that user's
store (their profile's region unless it passes ``region`` too). ``currency`` picks one of the
lists open to the region; by default the first (the region's own, then ``*``).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from giftflow.auth.deps import get_principal
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.errors import Forbidden
from giftflow.ids import USER_ID_CHARS
from giftflow.money.amounts import MAX_AMOUNT
from giftflow.wallet.store import service
from giftflow.wallet.store.schemas import CoinPacksOut, QuoteOut

router = APIRouter(prefix="/v1", tags=["wallet"])

Channel = Literal["app", "web"]
CHANNEL = Query(description="Where the purchase is made: `app` (an app store) or `web`.")
CURRENCY = Query(
    default=None,
    pattern=r"^[A-Z]{3}$",
    description="ISO 4217 code; default: the first price list open to the region.",
)
REGION = Query(
    default=None,
    pattern=r"^([A-Z]{2}|\*)$",
    description="API keys only: the buyer's region (default: the user's profile, else `*`).",
)
USER = Query(
    default=None,
    pattern=f"^{USER_ID_CHARS}$",
    description="Whose store (their region and first-purchase bonus); a user token: only itself.",
)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "`not_found`: no such user (or not you)."}
}


def _buyer(
    ctx: AppContext, principal: Principal, user_id: str | None, region: str | None
) -> service.Buyer:
    if principal.kind == "api_key":
        principal.require_scope("platform", "admin")
    else:
        if region is not None:
            raise Forbidden("A user's region comes from their profile; only API keys pass one.")
        user_id = user_id or principal.require_user()
        principal.require_owner_or_scope(user_id, "platform", "admin")
    return service.buyer(ctx, user_id, region)


@router.get("/coin-packs", response_model=CoinPacksOut, responses=NOT_FOUND)
def coin_packs(
    channel: Channel = CHANNEL,
    currency: str | None = CURRENCY,
    region: str | None = REGION,
    user_id: str | None = USER,
    principal: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> CoinPacksOut:
    """The packs of the buyer's price list with each one's price, store fee and bonus coins,
    and the rule for custom amounts."""
    return service.coin_packs(ctx, _buyer(ctx, principal, user_id, region), channel, currency)


@router.get("/coin-packs/quote", response_model=QuoteOut, responses=NOT_FOUND)
def quote(
    coins: int = Query(ge=1, le=MAX_AMOUNT, description="A custom amount of coins."),
    channel: Channel = CHANNEL,
    currency: str | None = CURRENCY,
    region: str | None = REGION,
    user_id: str | None = USER,
    principal: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> QuoteOut:
    """The price (rounded up), store fee and bonus of a custom amount, as a purchase of it
    would be priced now."""
    buyer = _buyer(ctx, principal, user_id, region)
    return service.custom_quote(ctx, buyer, channel, currency, coins)
