"""Request and response models of live rooms."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictBool

from giftflow.http.fields import Text
from giftflow.http.schemas import AmountOut, StrictModel
from giftflow.ids import USER_ID_CHARS


class LiveIn(StrictModel):
    title: Text | None = Field(default=None, max_length=200)
    creator_id: str | None = Field(
        default=None,
        pattern=f"^{USER_ID_CHARS}$",
        description="Only with a platform API key: start the live for this creator.",
    )
    subscribers_only: StrictBool = Field(
        default=False,
        description="Only the creator's subscribers (and the creator) may join and send gifts.",
    )


class LiveOut(BaseModel):
    id: str
    object: str = "live"
    creator_id: str
    creator_name: str = Field(
        default="", description="The creator's display name (their id when they have none)."
    )
    title: str | None
    state: str
    subscribers_only: bool = Field(
        default=False, description="Only the creator's subscribers may join and send gifts."
    )
    eligible: bool = Field(description="Whether the creator can receive gifts right now.")
    ineligible_reason: str | None = Field(
        description="frozen, followers, age_unknown, under_age or user_not_found."
    )
    policy_version: str
    started_at: str
    ended_at: str | None
    viewer_count: int
    peak_viewers: int
    unique_viewers: int
    watch_seconds: int = Field(description="Total watch time of viewers who have left.")
    gifts_count: int
    coins: AmountOut
    diamonds: AmountOut
    last_seq: int = Field(description="The room stream's last event sequence number.")
    events_url: str


class LivesOut(BaseModel):
    object: str = "list"
    data: list[LiveOut]


class ViewerIn(StrictModel):
    action: Literal["join", "leave"]


class ViewerOut(BaseModel):
    live_id: str
    user_id: str
    watching: bool
    watch_seconds: int
    viewer_count: int
    seq: int | None = Field(description="The viewer_count event's sequence, if one was written.")
