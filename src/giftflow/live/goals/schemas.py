"""Request and response models of live goals."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictInt

from giftflow.http.fields import Text
from giftflow.http.schemas import StrictModel
from giftflow.money.amounts import MAX_AMOUNT


class GoalIn(StrictModel):
    kind: Literal["coins", "gift"] = Field(
        description="coins: coins gifted to the live; gift: how many of one gift were sent."
    )
    gift_id: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9\-]{0,63}$",
        description="With kind gift (only): the catalog gift counted.",
        examples=["rose"],
    )
    target: StrictInt = Field(ge=1, le=MAX_AMOUNT, description="Coins, or gifts of gift_id.")
    title: Text = Field(min_length=1, max_length=200, examples=["1,000 coins for a song"])


class GoalOut(BaseModel):
    id: str
    object: str = "goal"
    live_id: str
    kind: str
    gift_id: str | None
    title: str
    target: int
    progress: int = Field(description="Progress shown: the total, capped at the target.")
    total: int = Field(description="The exact total counted since the goal was set.")
    completed: bool
    completed_at: str | None
    created_at: str


class GoalCreatedOut(GoalOut):
    seq: int = Field(description="The goal_created event's sequence number on the room's stream.")


class GoalsOut(BaseModel):
    object: str = "list"
    data: list[GoalOut]
