"""Request and response models of sending a gift."""

from __future__ import annotations

from pydantic import BaseModel, Field, StrictInt

from giftflow.http.schemas import AmountOut, StrictModel
from giftflow.ids import UserId


class GiftIn(StrictModel):
    gift_id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]{0,63}$", examples=["rose"])
    count: StrictInt = Field(
        default=1, ge=1, description="How many at once; at most the policy's gifts.max_count."
    )
    recipient: UserId | None = Field(
        default=None,
        description="In a co-host room: the co-host who receives the gift (default: the host).",
    )


class GiftSentOut(BaseModel):
    object: str = "gift"
    transaction_id: str
    live_id: str
    gift_id: str
    count: int
    coins: AmountOut = Field(description="Coins spent: price × count.")
    diamonds: AmountOut = Field(description="Diamonds credited to the creator (hundredths).")
    balance: AmountOut = Field(description="The sender's coins left (all sub-accounts).")
    seq: int = Field(description="The gift event's sequence number on the room's stream.")
    combo_id: str | None
    combo_count: int
    policy_version: str
    created_at: str
