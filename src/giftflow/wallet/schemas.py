"""Wallet and history response models."""

from __future__ import annotations

from pydantic import BaseModel

from giftflow.http.schemas import AmountOut


class WalletBalance(AmountOut):
    account: str


class AssetTotal(BaseModel):
    """One asset across the user's accounts: spendable now, reserved by pending transfers."""

    asset: str
    available: AmountOut
    held: AmountOut
    total: AmountOut


class CoinsOut(BaseModel):
    """The user's coins by kind, in the order spending takes them."""

    bonus: AmountOut
    exchanged: AmountOut
    paid: AmountOut


class LotOut(BaseModel):
    """A purchase's paid coins and what is left of them (spent oldest first)."""

    purchase_id: str
    coins: int
    remaining: int
    price: AmountOut
    succeeded_at: str
    refundable: bool
    not_refundable_because: str | None  # spent, window_passed, not_succeeded
    refundable_until: str


class WalletOut(BaseModel):
    object: str = "wallet"
    user_id: str
    balances: list[WalletBalance]
    totals: list[AssetTotal]
    coins: CoinsOut
    frozen: bool
    lots: list[LotOut]


class EntryOut(AmountOut):
    transaction: str
    kind: str
    memo: str | None
    created_at: str
    account: str


class EntriesPage(BaseModel):
    object: str = "list"
    data: list[EntryOut]
    next_cursor: str | None
