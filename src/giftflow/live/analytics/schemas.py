"""Response models of analytics. Amounts are integers in their minor unit: coins are whole
coins, diamonds hundredths of a diamond (as in the ledger)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class BucketOut(BaseModel):
    start: str = Field(description="The bucket's first instant (UTC).")
    end: str = Field(description="The next bucket's first instant (UTC).")
    date: str | None = Field(
        description="Day buckets: the calendar day (YYYY-MM-DD) in the policy's time zone."
    )
    gifts: int = Field(description="Gifts sent (a send of `count` gifts counts `count`).")
    coins: int
    diamonds: int = Field(description="Hundredths of a diamond credited to the creator.")
    unique_gifters: int | None = Field(
        description="Distinct senders (hour and day buckets; null for minute buckets)."
    )
    followers: int | None = Field(
        description="The follower count at the bucket's end, as last reported by the platform "
        "(null before the first report)."
    )


class TopGiftOut(BaseModel):
    gift_id: str
    name: str | None = Field(description="The catalog's name (null if the gift was deleted).")
    count: int
    coins: int


class ViewersOut(BaseModel):
    lives: int = Field(description="Lives counted (on air at some point in the range).")
    viewer_count: int = Field(description="Watching now.")
    peak_viewers: int = Field(description="The highest peak of a single live.")
    unique_viewers: int = Field(description="Distinct users who joined.")
    watch_seconds: int = Field(description="Watch time of sessions that have ended.")
    open_watch_seconds: int = Field(description="Sessions still running, up to now.")


class FollowerPointOut(BaseModel):
    at: str
    follower_count: int


class FollowersOut(BaseModel):
    start: int | None = Field(
        description="The count at the range's start: the last report at or before it."
    )
    end: int | None = Field(description="The count at the range's end: the last report in it.")
    change: int | None = Field(
        description="end − start (or end − the first report of the range when none precedes "
        "it); null without any report."
    )
    points: list[FollowerPointOut] = Field(
        description="The last report of each bucket that has one, by time."
    )


class TotalsOut(BaseModel):
    gifts: int
    coins: int
    diamonds: int
    unique_gifters: int = Field(description="Distinct senders over the UTC hours of the range.")
    unique_gifters_exact: bool = Field(
        description="False when the range (minute buckets) or the zone's offset (day buckets) "
        "does not fall on whole UTC hours: then gifters of a straddling hour may be counted in "
        "the neighbouring bucket or range."
    )


class CreatorAnalyticsOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    object: Literal["creator_analytics"] = "creator_analytics"
    creator_id: str
    bucket: str
    timezone: str = Field(description="The policy's time zone: day buckets are its days.")
    from_: str = Field(alias="from", description="The range's start, widened to a bucket's.")
    to: str = Field(description="The range's end (exclusive), widened to a bucket's.")
    generated_at: str
    buckets: list[BucketOut]
    totals: TotalsOut
    top_gifts: list[TopGiftOut] = Field(
        description="By coins, over the policy's local days the range touches."
    )
    top_gifts_from: str = Field(description="First local day of top_gifts (YYYY-MM-DD).")
    top_gifts_to: str = Field(description="Last local day of top_gifts (YYYY-MM-DD).")
    viewers: ViewersOut = Field(description="The creator's own lives on air in the range.")
    followers: FollowersOut


class MinuteOut(BaseModel):
    minute: str
    gifts: int
    coins: int
    diamonds: int


class LiveTotalsOut(BaseModel):
    gifts: int
    coins: int
    diamonds: int = Field(description="Diamonds earned in this live, every recipient.")
    unique_gifters: int
    active_minutes: int = Field(description="Minutes with at least one gift.")


class FollowerGrowthOut(BaseModel):
    start: int | None
    end: int | None
    change: int | None


class LiveAnalyticsOut(BaseModel):
    object: Literal["live_analytics"] = "live_analytics"
    live_id: str
    creator_id: str
    state: str
    started_at: str
    ended_at: str | None
    generated_at: str
    minutes: list[MinuteOut] = Field(
        description="Velocity: gifts, coins and diamonds per UTC minute, minutes with gifts "
        "only, oldest first (the newest 1,500 when there are more)."
    )
    minutes_truncated: bool
    peak_minute: MinuteOut | None = Field(description="The minute with the most coins.")
    totals: LiveTotalsOut
    top_gifts: list[TopGiftOut]
    viewers: ViewersOut
    followers: FollowerGrowthOut = Field(
        description="The creator's follower reports from the live's start to its end (or now)."
    )
