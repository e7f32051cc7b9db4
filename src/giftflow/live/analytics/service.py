"""Creator and live analytics, composed from the incrementally maintained tables.

Every figure comes from rows the gift batch keeps (``analytics_gift_minutes``,
``analytics_gifters``, a live's ``live_supporters``), from the lives' own counters (``lives``,
``live_viewers``, kept by joins and leaves) and from the platform's follower reports
(``follower_series``): a request never reads postings or room events, so its cost depends on the
range's buckets, not on how many gifts there were. All reads of one response run in one snapshot.

Time: minute and hour buckets are UTC (an hour is the same span in every zone whose offset is a
whole number of hours); day buckets are the policy's local days (``periods``). Unique gifters
are kept per UTC hour, so they are exact for hour buckets, for day buckets in whole-hour zones and
for any range on whole hours; minute buckets show none.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.errors import NotFound
from giftflow.live.analytics import repository
from giftflow.live.analytics.periods import (
    Period,
    default_range,
    local_midnight,
    parse_instant,
    period,
)
from giftflow.live.analytics.repository import CREATOR, LIVE, TopGift, ViewerFigures
from giftflow.live.analytics.schemas import (
    BucketOut,
    CreatorAnalyticsOut,
    FollowerGrowthOut,
    FollowerPointOut,
    FollowersOut,
    LiveAnalyticsOut,
    LiveTotalsOut,
    MinuteOut,
    TopGiftOut,
    TotalsOut,
    ViewersOut,
)

TOP_GIFTS = 10
MAX_MINUTES = 1500
HOUR = timedelta(hours=1)


async def tick(ctx: AppContext) -> None:
    """Called by the engagement loop every 250 ms. Analytics have no timed work: every bucket
    is written by the gift's own batch, and nothing is rolled up later."""
    return


def _top(rows: list[TopGift]) -> list[TopGiftOut]:
    return [TopGiftOut(gift_id=r.gift_id, name=r.name, count=r.count, coins=r.coins) for r in rows]


def _viewers(v: ViewerFigures) -> ViewersOut:
    return ViewersOut(
        lives=v.lives,
        viewer_count=v.viewer_count,
        peak_viewers=v.peak_viewers,
        unique_viewers=v.unique_viewers,
        watch_seconds=v.watch_seconds,
        open_watch_seconds=v.open_watch_seconds,
    )


def _minute(row: tuple[datetime, int, int, int]) -> MinuteOut:
    return MinuteOut(minute=rfc3339(row[0]), gifts=row[1], coins=row[2], diamonds=row[3])


def _floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(at: datetime) -> datetime:
    floored = _floor_hour(at)
    return floored if floored == at else floored + HOUR


# --- GET /v1/creators/{id}/analytics -----------------------------------------------------------
def creator_analytics(
    ctx: AppContext, creator_id: str, raw_from: str | None, raw_to: str | None, bucket: str
) -> CreatorAnalyticsOut:
    """The creator's buckets over the range (defaults: ``to`` the end of the current bucket,
    ``from`` an hour, a day or 30 days before it), widened to whole buckets; at most
    ``MAX_BUCKETS`` of them."""
    now = ctx.clock.now()
    zone = ctx.policies.in_force(now).timezone
    end = parse_instant(raw_to, "to", zone, end=True) if raw_to else None
    if raw_from:
        start = parse_instant(raw_from, "from", zone, end=False)
        end = end or default_range(bucket, zone, now)[1]
    else:
        start, end = default_range(bucket, zone, now, end=end)
    p = period(bucket, zone, start, end)
    hours = (_floor_hour(p.start), _ceil_hour(p.end))
    with repository.snapshot(ctx.engine) as conn:
        if not repository.user_exists(conn, creator_id):
            raise NotFound("No such user.", id=creator_id)
        sums = repository.bucket_sums(conn, CREATOR, creator_id, p.grid, p.start, p.end)
        per_bucket = (
            repository.bucket_gifters(conn, CREATOR, creator_id, p.grid, p.start, p.end)
            if p.size != "minute"
            else None
        )
        unique = repository.gifters_between(conn, CREATOR, creator_id, *hours)
        days = (  # the local days the range touches, as instants (the policy's zone now)
            local_midnight(p.first_day, ZoneInfo(zone)),
            local_midnight(p.last_day + timedelta(days=1), ZoneInfo(zone)),
        )
        top = repository.top_gifts(conn, CREATOR, creator_id, *days, TOP_GIFTS)
        viewers = repository.viewer_figures(
            conn, now, creator_id=creator_id, start=p.start, end=p.end
        )
        before = repository.follower_at(conn, creator_id, p.start)
        first = (
            repository.first_follower_report(conn, creator_id, p.start) if before is None else None
        )
        points = repository.follower_points(conn, creator_id, p.grid, p.start, p.end)
    followers, carried = _followers(p, before, first, points)
    buckets: list[BucketOut] = []
    for b, count in zip(p.buckets, carried, strict=True):
        gifts, coins, diamonds = sums.get(b.key, (0, 0, 0))
        buckets.append(
            BucketOut(
                start=rfc3339(b.start),
                end=rfc3339(b.end),
                date=b.day.isoformat() if b.day is not None else None,
                gifts=gifts,
                coins=coins,
                diamonds=diamonds,
                unique_gifters=per_bucket.get(b.key, 0) if per_bucket is not None else None,
                followers=count,
            )
        )
    exact = p.hour_aligned and (p.size != "day" or p.grid.whole_hours)
    return CreatorAnalyticsOut(
        creator_id=creator_id,
        bucket=p.size,
        timezone=zone,
        from_=rfc3339(p.start),
        to=rfc3339(p.end),
        generated_at=rfc3339(now),
        buckets=buckets,
        totals=TotalsOut(
            gifts=sum(b.gifts for b in buckets),
            coins=sum(b.coins for b in buckets),
            diamonds=sum(b.diamonds for b in buckets),
            unique_gifters=unique,
            unique_gifters_exact=exact,
        ),
        top_gifts=_top(top),
        top_gifts_from=p.first_day.isoformat(),
        top_gifts_to=p.last_day.isoformat(),
        viewers=_viewers(viewers),
        followers=followers,
    )


def _followers(
    p: Period,
    before: int | None,
    first: tuple[datetime, int] | None,
    points: list[tuple[int, datetime, int]],
) -> tuple[FollowersOut, list[int | None]]:
    """The follower series over the period: each bucket's count at its end (carried forward
    from the last report), the last report of each bucket, and the growth over the range."""
    last_of = {key: count for key, _, count in points}
    carried: list[int | None] = []
    current = before
    for b in p.buckets:
        current = last_of.get(b.key, current)
        carried.append(current)
    base = before
    if base is None and first is not None and first[0] < p.end:
        base = first[1]
    end = current
    change = end - base if end is not None and base is not None else None
    out = FollowersOut(
        start=before,
        end=end,
        change=change,
        points=[FollowerPointOut(at=rfc3339(at), follower_count=n) for _, at, n in points],
    )
    return out, carried


# --- GET /v1/lives/{id}/analytics --------------------------------------------------------------
def live_analytics(ctx: AppContext, live_id: int, viewer: str | None) -> LiveAnalyticsOut:
    """A live's analytics; ``viewer``: the calling user (None for a platform or admin key),
    who must be the live's creator — anyone else gets 404, as for a live that does not exist."""
    now = ctx.clock.now()
    scope_id = str(live_id)
    with repository.snapshot(ctx.engine) as conn:
        live = repository.live(conn, live_id)
        if live is None or (viewer is not None and viewer != live.creator_id):
            raise NotFound("No such live.", id=scope_id)
        newest = repository.minute_rows(conn, LIVE, scope_id, MAX_MINUTES + 1)
        peak = repository.peak_minute(conn, LIVE, scope_id)
        gifts, coins, diamonds, active = repository.scope_totals(conn, LIVE, scope_id)
        unique = repository.live_gifters(conn, live_id)
        top = repository.top_gifts(conn, LIVE, scope_id, None, None, TOP_GIFTS)
        viewers = repository.viewer_figures(conn, now, live_id=live_id)
        until = live.ended_at or now
        start = repository.follower_at(conn, live.creator_id, live.started_at)
        end = repository.follower_at(conn, live.creator_id, until)
        if start is None:
            first = repository.first_follower_report(conn, live.creator_id, live.started_at)
            start_base = first[1] if first is not None and first[0] <= until else None
        else:
            start_base = start
    truncated = len(newest) > MAX_MINUTES
    minutes = [_minute(r) for r in reversed(newest[:MAX_MINUTES])]
    return LiveAnalyticsOut(
        live_id=scope_id,
        creator_id=live.creator_id,
        state=live.state,
        started_at=rfc3339(live.started_at),
        ended_at=rfc3339(live.ended_at) if live.ended_at is not None else None,
        generated_at=rfc3339(now),
        minutes=minutes,
        minutes_truncated=truncated,
        peak_minute=_minute(peak) if peak is not None else None,
        totals=LiveTotalsOut(
            gifts=gifts,
            coins=coins,
            diamonds=diamonds,
            unique_gifters=unique,
            active_minutes=active,
        ),
        top_gifts=_top(top),
        viewers=_viewers(viewers),
        followers=FollowerGrowthOut(
            start=start,
            end=end,
            change=end - start_base if end is not None and start_base is not None else None,
        ),
    )
