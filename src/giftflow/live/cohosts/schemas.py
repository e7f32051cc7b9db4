"""Request and response models of co-hosts."""

from __future__ import annotations

from pydantic import BaseModel, Field

from giftflow.http.schemas import StrictModel
from giftflow.ids import UserId


class CohostIn(StrictModel):
    user_id: UserId = Field(description="The user who joins the live as a co-host.")


class CohostChangeOut(BaseModel):
    object: str = "cohost"
    live_id: str
    user_id: str
    name: str
    cohost: bool = Field(description="Whether the user co-hosts the live now.")
    changed: bool = Field(description="False: they already were (nothing written).")
    seq: int | None = Field(description="The cohost_added / cohost_removed event's sequence.")
    cohosts: list[str] = Field(description="The live's co-hosts now.")


class CohostOut(BaseModel):
    user_id: str
    name: str
    added_at: str


class CohostsOut(BaseModel):
    object: str = "list"
    live_id: str
    host_id: str
    data: list[CohostOut]
