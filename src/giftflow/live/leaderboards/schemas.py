"""Response models of leaderboards."""

from __future__ import annotations

from pydantic import BaseModel, Field

RANKED = "Coins descending; equal coins: who reached the score first."


class PersonOut(BaseModel):
    id: str
    name: str


class SupporterLineOut(BaseModel):
    rank: int
    user: PersonOut
    coins: int = Field(description="Coins gifted (exactly the coins spent on gifts).")
    gifts: int | None = Field(default=None, description="Live boards: gifts sent (counts).")
    reached_at: str = Field(description="When the score was reached (the tie-break).")


class CreatorLineOut(BaseModel):
    rank: int
    creator: PersonOut
    coins: int = Field(description="Coins gifted to the creator.")
    reached_at: str


class LiveBoardOut(BaseModel):
    object: str = "leaderboard"
    board: str = "live"
    live_id: str
    data: list[SupporterLineOut] = Field(description=RANKED)


class CreatorBoardOut(BaseModel):
    object: str = "leaderboard"
    board: str = "creator"
    creator_id: str
    period: str
    period_start: str = Field(description="The period's first day in the policy's time zone.")
    time_zone: str
    data: list[SupporterLineOut] = Field(description=RANKED)


class CreatorsBoardOut(BaseModel):
    object: str = "leaderboard"
    board: str = "creators"
    period: str
    period_start: str
    time_zone: str
    data: list[CreatorLineOut] = Field(description=RANKED)


class LiveRankOut(BaseModel):
    object: str = "leaderboard_rank"
    board: str = "live"
    live_id: str
    user: PersonOut
    rank: int | None = Field(description="1 + the supporters strictly ahead; null: no score.")
    coins: int
    gifts: int
    reached_at: str | None


class CreatorRankOut(BaseModel):
    object: str = "leaderboard_rank"
    board: str = "creator"
    creator_id: str
    period: str
    period_start: str
    time_zone: str
    user: PersonOut
    rank: int | None = Field(description="1 + the supporters strictly ahead; null: no score.")
    coins: int
    reached_at: str | None
