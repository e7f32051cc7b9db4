"""Buying an in-app item: one command, one transaction, one owned-items row.

``PurchaseItem`` reads the item's price inside the batch (so an operator's price change and a
purchase are ordered by the database, never by what a request saw earlier), spends price ×
quantity coins with the wallet's ``spend`` (bonus, then exchanged, then paid coins whose lots are
consumed oldest first; a frozen wallet and the spending caps refuse it), posting

    user:{u}:coins[:bonus|:exchanged] → platform:revenue:items   (COIN, kind ``item_purchase``)

and stages the quantity for ``OwnedWrites``. Every refusal (unknown item 404, inactive
``item_unavailable``, ``insufficient_funds``, ``account_frozen``, ``cap_exceeded``) raises before
anything is staged, or is rolled back with the command by the book: nothing moves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from giftflow.clock import rfc3339
from giftflow.errors import ItemUnavailable, NotFound
from giftflow.http.schemas import AmountOut
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.model import AccountRef, StagedTransaction
from giftflow.money.amounts import amount_view
from giftflow.wallet.items.repository import OWNED, ItemBatchRepository, OwnedDelta
from giftflow.wallet.items.schemas import ItemPurchaseOut, PaidFromOut
from giftflow.wallet.purchases.batch import SpendCaps, coin_accounts, spend, spend_hints

REVENUE = "platform:revenue:items"
TXN_KIND = "item_purchase"


class PurchaseItem(Command):
    """``user_id`` buys ``quantity`` of ``item_id`` at the price the batch reads."""

    kind = "wallet.item.purchase"

    def __init__(
        self,
        *,
        user_id: str,
        item_id: str,
        quantity: int,
        policy_version: str,
        caps: SpendCaps,
    ) -> None:
        self.user_id = user_id
        self.item_id = item_id
        self.quantity = quantity
        self.policy_version = policy_version
        self.caps = caps

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        return spend_hints(ctx, self.user_id, REVENUE)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        item = ctx.repository(ItemBatchRepository).item(self.item_id)
        if item is None:
            raise NotFound("No such item.", id=self.item_id)
        if not item.active:
            raise ItemUnavailable(f"The item {item.id!r} is not on sale.", id=item.id)
        coins = item.price_coins * self.quantity
        txn = spend(
            ctx,
            user_id=self.user_id,
            coins=coins,
            destination=REVENUE,
            kind=TXN_KIND,
            policy_version=self.policy_version,
            caps=self.caps,
            meta={"item": item.id, "quantity": str(self.quantity)},
        )
        owned = self._owned(ctx) + self.quantity
        ctx.book.remember(("items.owned", self.user_id, item.id), owned)
        ctx.book.stage(OWNED, OwnedDelta(self.user_id, item.id, self.quantity, ctx.now))
        return ItemPurchaseOut(
            transaction_id=str(txn.id),
            user_id=self.user_id,
            item_id=item.id,
            quantity=self.quantity,
            unit_price=AmountOut(**amount_view("COIN", item.price_coins)),
            total=AmountOut(**amount_view("COIN", coins)),
            paid_from=paid_from(txn, self.user_id),
            owned_quantity=owned,
            policy_version=self.policy_version,
            created_at=rfc3339(txn.created_at),
        ).model_dump(mode="json")

    def _owned(self, ctx: BatchContext) -> int:
        """What the user owns before this command: stored, plus this batch's earlier purchases.

        Read after ``spend`` locked the user's wallet row: no other batch adds to it meanwhile.
        """
        cached: int | None = ctx.book.memo.get(("items.owned", self.user_id, self.item_id))
        if cached is not None:
            return cached
        return ctx.repository(ItemBatchRepository).owned_quantity(self.user_id, self.item_id)


def paid_from(txn: StagedTransaction, user_id: str) -> PaidFromOut:
    bonus, exchanged, paid = coin_accounts(user_id)
    taken = {bonus: 0, exchanged: 0, paid: 0}
    for p in txn.postings:
        taken[p.debit.key.path] += p.amount
    return PaidFromOut(bonus=taken[bonus], exchanged=taken[exchanged], paid=taken[paid])
