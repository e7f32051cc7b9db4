"""A user's own money: how a wallet is composed from the ledger's accounts and holds.

Per asset a wallet shows what is *available* (the sum of the user's account balances, what they
can spend), what is *held* (reserved from their accounts by pending transfers, e.g. a withdrawal
waiting for its payout) and the *total* of both. COIN and DIAMOND are always shown.
"""

from __future__ import annotations

from giftflow.context import AppContext
from giftflow.errors import NotFound
from giftflow.http.schemas import AmountOut
from giftflow.money.amounts import amount_view
from giftflow.wallet import repository
from giftflow.wallet.schemas import AssetTotal, EntriesPage, EntryOut, WalletBalance, WalletOut

ALWAYS_SHOWN = ("COIN", "DIAMOND")


def compose(user_id: str, rows: list[tuple[str, str, int]], held: dict[str, int]) -> WalletOut:
    """The wallet from the user's balance rows and pending holds (pure)."""
    available: dict[str, int] = dict.fromkeys(ALWAYS_SHOWN, 0)
    for _, asset, amount in rows:
        available[asset] = available.get(asset, 0) + amount
    for asset in held:
        available.setdefault(asset, 0)

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
    )


def wallet(ctx: AppContext, user_id: str) -> WalletOut:
    """A user's wallet; a user the platform never created is not found (404)."""
    with ctx.engine.connect() as conn, conn.begin():
        if not repository.user_exists(conn, user_id):
            raise NotFound("No such user.", id=user_id)
        rows = repository.balances(conn, owner_id=user_id)
        held = repository.held_by_pending(conn, user_id)
    return compose(user_id, rows, held)


def history(ctx: AppContext, user_id: str, limit: int, before_txn: int | None) -> EntriesPage:
    with ctx.engine.connect() as conn:
        entries, next_cursor = repository.owner_history(
            conn, user_id, limit=limit, before_txn=before_txn
        )
    return EntriesPage(
        data=[EntryOut(**e) for e in entries],
        next_cursor=str(next_cursor) if next_cursor is not None else None,
    )
