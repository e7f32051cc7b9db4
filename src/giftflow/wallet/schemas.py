"""Wallet and history response models."""

from __future__ import annotations

from pydantic import BaseModel

from giftflow.transfers.schemas import AmountOut


class WalletBalance(AmountOut):
    account: str


class WalletOut(BaseModel):
    object: str = "wallet"
    user_id: str
    balances: list[WalletBalance]
    totals: list[AmountOut]


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
