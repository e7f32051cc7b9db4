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


class WalletOut(BaseModel):
    object: str = "wallet"
    user_id: str
    balances: list[WalletBalance]
    totals: list[AssetTotal]


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
