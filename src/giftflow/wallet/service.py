"""A user's own money: how a wallet is composed from the ledger's accounts and holds.

Coins are shown by kind (bonus, exchanged, paid: the order spending takes them), with each
purchase's lot, what is left of it and whether it could be refunded now. Per asset a wallet also
shows what is *available* (the sum of the user's account balances, what they
can spend), what is *held* (reserved from their accounts by pending transfers, e.g. a withdrawal
waiting for its payout) and the *total* of both. COIN and DIAMOND are always shown.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.errors import NotFound
from giftflow.http.schemas import AmountOut
from giftflow.money.amounts import amount_view
from giftflow.wallet import repository
from giftflow.wallet.purchases.lots import remaining
from giftflow.wallet.purchases.repository import PurchaseRow, lots, wallet_frozen
from giftflow.wallet.purchases.states import PurchaseState
from giftflow.wallet.schemas import (
    AssetTotal,
    CoinsOut,
    EntriesPage,
    EntryOut,
    LotOut,
    WalletBalance,
    WalletOut,
)

ALWAYS_SHOWN = ("COIN", "DIAMOND")


def lot_views(
    purchases: list[PurchaseRow],
    paid_spent: int,
    bonus_balance: int,
    now: datetime,
    window_days: int,
) -> list[LotOut]:
    """Each lot with what is left and whether it could be refunded now (pure; the same rules
    as ``RefundPurchase``: succeeded, untouched, its bonus still there, inside the window)."""
    out = []
    for row in purchases:
        if row.succeeded_at is None:
            continue
        left = remaining(row.segments(), paid_spent)
        until = row.succeeded_at + timedelta(days=window_days)
        reason = None
        if row.state is not PurchaseState.SUCCEEDED:
            reason = "not_succeeded"
        elif now > until:
            reason = "window_passed"
        elif left < row.coins or bonus_balance < row.bonus_coins:
            reason = "spent"
        out.append(
            LotOut(
                purchase_id=str(row.id),
                coins=row.coins,
                remaining=left,
                price=AmountOut(**amount_view(row.currency, row.price_minor)),
                succeeded_at=rfc3339(row.succeeded_at),
                refundable=reason is None,
                not_refundable_because=reason,
                refundable_until=rfc3339(until),
            )
        )
    return out


def compose(
    user_id: str,
    rows: list[tuple[str, str, int]],
    held: dict[str, int],
    lot_list: list[LotOut] | None = None,
    frozen: bool = False,
) -> WalletOut:
    """The wallet from the user's balance rows and pending holds (pure)."""
    available: dict[str, int] = dict.fromkeys(ALWAYS_SHOWN, 0)
    for _, asset, amount in rows:
        available[asset] = available.get(asset, 0) + amount
    for asset in held:
        available.setdefault(asset, 0)

    by_path = {path: amount for path, asset, amount in rows if asset == "COIN"}

    def out(asset: str, amount: int) -> AmountOut:
        return AmountOut(**amount_view(asset, amount))

    return WalletOut(
        user_id=user_id,
        balances=[
            WalletBalance(account=path, **amount_view(asset, amount))
            for path, asset, amount in rows
        ],
        totals=[
            AssetTotal(
                asset=asset,
                available=out(asset, amount),
                held=out(asset, held.get(asset, 0)),
                total=out(asset, amount + held.get(asset, 0)),
            )
            for asset, amount in available.items()
        ],
        coins=CoinsOut(
            bonus=out("COIN", by_path.get(f"user:{user_id}:coins:bonus", 0)),
            exchanged=out("COIN", by_path.get(f"user:{user_id}:coins:exchanged", 0)),
            paid=out("COIN", by_path.get(f"user:{user_id}:coins", 0)),
        ),
        frozen=frozen,
        lots=lot_list or [],
    )


def wallet(ctx: AppContext, user_id: str) -> WalletOut:
    """A user's wallet; a user the platform never created is not found (404)."""
    with ctx.engine.connect() as conn, conn.begin():
        if not repository.user_exists(conn, user_id):
            raise NotFound("No such user.", id=user_id)
        rows = repository.balances(conn, owner_id=user_id)
        held = repository.held_by_pending(conn, user_id)
        purchases, paid_spent = lots(conn, user_id)
        frozen = wallet_frozen(conn, user_id)
    policy = ctx.policies.in_force(ctx.clock.now())
    bonus = sum(a for p, asset, a in rows if p == f"user:{user_id}:coins:bonus")
    views = lot_views(purchases, paid_spent, bonus, ctx.clock.now(), policy.refund_window_days)
    return compose(user_id, rows, held, views, frozen is not None)


def history(ctx: AppContext, user_id: str, limit: int, before_txn: int | None) -> EntriesPage:
    with ctx.engine.connect() as conn:
        entries, next_cursor = repository.owner_history(
            conn, user_id, limit=limit, before_txn=before_txn
        )
    return EntriesPage(
        data=[EntryOut(**e) for e in entries],
        next_cursor=str(next_cursor) if next_cursor is not None else None,
    )
