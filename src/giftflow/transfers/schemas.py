"""Request and response models of the ledger's admin endpoints (unknown fields are refused)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from giftflow.http.fields import Short, Text
from giftflow.ledger.model import Posting

MAX_AMOUNT = 2**63 - 1  # BIGINT: the largest amount any column can hold


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PostingIn(StrictModel):
    source: Text = Field(max_length=200, examples=["platform:equity:grants"])
    destination: Text = Field(max_length=200, examples=["user:42:coins"])
    asset: Text = Field(max_length=8, examples=["COIN"])
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="Minor units of the asset.")

    def to_posting(self) -> Posting:
        return Posting(self.source, self.destination, self.asset, self.amount)


class TransferIn(StrictModel):
    postings: list[PostingIn] = Field(min_length=1, max_length=100)
    memo: Text | None = Field(default=None, max_length=500)
    metadata: dict[Short, Short] | None = Field(default=None, max_length=20)


class ReverseIn(StrictModel):
    memo: Text | None = Field(default=None, max_length=500)


class PendingIn(StrictModel):
    source: Text = Field(max_length=200)
    destination: Text = Field(max_length=200)
    asset: Text = Field(max_length=8)
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)
    expires_at: datetime | None = Field(default=None, description="RFC 3339; null = never.")
    memo: Text | None = Field(default=None, max_length=500)


class AmountOut(BaseModel):
    asset: str
    amount: int
    display: str


class PostingOut(AmountOut):
    source: str
    destination: str


class TransactionOut(BaseModel):
    id: str
    object: str = "transaction"
    kind: str
    created_at: str
    memo: str | None
    reverses: str | None
    policy_version: str | None
    metadata: dict[str, str]
    postings: list[PostingOut]


class PendingOut(AmountOut):
    id: str
    object: str = "pending_transfer"
    state: str
    source: str
    destination: str
    expires_at: str | None
    submitted: bool
    resolved_transaction: str | None
    transaction: TransactionOut | None = None


class BalanceOut(AmountOut):
    path: str


class BalancesOut(BaseModel):
    balances: list[BalanceOut]
