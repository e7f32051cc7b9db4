"""Request and response models of battles."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictInt

from giftflow.http.schemas import StrictModel

LiveRef = Annotated[str, Field(pattern=r"^[0-9]{1,18}$", examples=["12"])]
GiftRef = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9\-]{0,63}$", examples=["rose"])]


class BattleIn(StrictModel):
    live_id: LiveRef = Field(description="Your live (you are its creator; it is on air).")
    opponents: list[LiveRef] = Field(
        min_length=1,
        max_length=7,
        description="The other lives invited (on air, other creators'); at most the policy's "
        "battles.max_sides − 1.",
    )
    duration_seconds: StrictInt | None = Field(
        default=None,
        ge=10,
        le=3600,
        description="Default: the policy's battles.default_seconds; at most battles.max_seconds.",
    )
    mode: Literal["all", "gifts"] = Field(
        default="all", description="all: every gift counts; gifts: only those in gift_ids."
    )
    gift_ids: list[GiftRef] | None = Field(default=None, min_length=1, max_length=50)
    multiplier: StrictInt = Field(
        default=1, ge=1, le=100, description="At most the policy's battles.max_multiplier."
    )
    multiplier_seconds: StrictInt = Field(
        default=0,
        ge=0,
        le=3600,
        description="Gifts in the first multiplier_seconds of the battle score coins × multiplier.",
    )


class SupporterOut(BaseModel):
    user_id: str
    score: int


class SideOut(BaseModel):
    live_id: str
    creator_id: str
    position: int = Field(description="0: the inviting creator's live.")
    state: str = Field(description="host, invited, accepted or declined.")
    score: int = Field(description="Coins gifted to this side inside the window (× multiplier).")
    supporters: list[SupporterOut] = Field(description="The side's top supporters.")


class BattleOut(BaseModel):
    id: str
    object: str = "battle"
    state: str = Field(description="invited, active, ended or canceled.")
    mode: str
    gift_ids: list[str] | None
    multiplier: int
    multiplier_seconds: int
    multiplier_until: str | None
    duration_seconds: int
    created_by: str
    created_at: str
    started_at: str | None
    ends_at: str | None = Field(description="The stored deadline (excluded).")
    ended_at: str | None
    sides: list[SideOut]
    result: dict[str, Any] | None = Field(
        description="Once ended: outcome (win or draw), winner, tied, reason, scores, "
        "supporters; once canceled: reason."
    )
    seqs: dict[str, int] | None = Field(
        default=None, description="In a command's answer: the events' sequence numbers by room."
    )


class BattlesOut(BaseModel):
    object: str = "list"
    data: list[BattleOut]
