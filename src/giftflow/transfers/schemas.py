"""Request and response models of the admin value endpoints (unknown fields are refused)."""

from __future__ import annotations

from pydantic import BaseModel, Field, StrictInt

from giftflow.http.fields import Instant, Short, Text
from giftflow.http.schemas import AmountOut, StrictModel
from giftflow.ledger.model import MAX_POSTINGS, Posting
from giftflow.money.amounts import MAX_AMOUNT

AMOUNT_DESCRIPTION = f"Minor units of the asset, 1 to {MAX_AMOUNT}."


class PostingIn(StrictModel):
    source: Text = Field(max_length=200, examples=["platform:equity:grants"])
    destination: Text = Field(max_length=200, examples=["user:42:coins"])
    asset: Text = Field(max_length=8, examples=["COIN"])
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description=AMOUNT_DESCRIPTION)

    def to_posting(self) -> Posting:
        return Posting(self.source, self.destination, self.asset, self.amount)


class TransferIn(StrictModel):
    postings: list[PostingIn] = Field(min_length=1, max_length=MAX_POSTINGS)
    memo: Text | None = Field(default=None, max_length=500)
    metadata: dict[Short, Short] | None = Field(default=None, max_length=20)


class ReverseIn(StrictModel):
    memo: Text | None = Field(default=None, max_length=500)


class PendingIn(StrictModel):
    source: Text = Field(max_length=200)
    destination: Text = Field(max_length=200)
    asset: Text = Field(max_length=8)
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description=AMOUNT_DESCRIPTION)
    expires_at: Instant | None = Field(
        default=None, description="RFC 3339 with an offset (stored in UTC); null = never."
    )
    memo: Text | None = Field(default=None, max_length=500)


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
