"""The time grids of analytics (pure): ranges, buckets and the zone's offset steps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from giftflow.errors import ValidationFailed
from giftflow.live.analytics.periods import (
    MAX_BUCKETS,
    epoch,
    offset_pieces,
    parse_instant,
    period,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


def test_new_york_changes_offset_twice_in_2026() -> None:
    pieces = offset_pieces(ZoneInfo("America/New_York"), utc(2026, 1, 1), utc(2027, 1, 1))
    assert pieces == (
        (epoch(utc(2026, 3, 8, 7)), -5 * 3600),  # 02:00 EST becomes 03:00 EDT
        (epoch(utc(2026, 11, 1, 6)), -4 * 3600),  # 02:00 EDT becomes 01:00 EST
        (None, -5 * 3600),
    )


def test_a_day_key_is_the_local_date_of_any_instant_in_it() -> None:
    p = period("day", "America/New_York", utc(2026, 3, 1), utc(2026, 11, 30))
    for b in p.buckets:
        for at in (b.start, b.end - timedelta(seconds=1), b.start + (b.end - b.start) / 2):
            assert p.grid.key(at) == b.key
            assert at.astimezone(ZoneInfo("America/New_York")).date() == b.day
    lengths = {b.day: (b.end - b.start) for b in p.buckets}
    assert lengths[date(2026, 3, 8)] == timedelta(hours=23)
    assert lengths[date(2026, 11, 1)] == timedelta(hours=25)
    assert p.grid.whole_hours


def test_ranges_widen_to_whole_buckets() -> None:
    p = period("hour", "UTC", utc(2026, 1, 1, 9, 30), utc(2026, 1, 1, 11, 0, 1))
    assert (p.start, p.end, len(p.buckets)) == (utc(2026, 1, 1, 9), utc(2026, 1, 1, 12), 3)
    p = period("minute", "UTC", utc(2026, 1, 1, 9, 30, 5), utc(2026, 1, 1, 9, 31))
    assert (p.start, p.end, len(p.buckets)) == (utc(2026, 1, 1, 9, 30), utc(2026, 1, 1, 9, 31), 1)
    assert not p.hour_aligned


def test_half_hour_zones_are_flagged() -> None:
    p = period("day", "Asia/Kolkata", utc(2026, 1, 1), utc(2026, 1, 3))
    assert not p.grid.whole_hours and not p.hour_aligned
    assert p.buckets[0].start == utc(2025, 12, 31, 18, 30)


def test_too_many_buckets_and_empty_ranges() -> None:
    start = utc(2026, 1, 1)
    assert len(period("minute", "UTC", start, start + timedelta(minutes=MAX_BUCKETS)).buckets) == (
        MAX_BUCKETS
    )
    with pytest.raises(ValidationFailed):
        period("minute", "UTC", start, start + timedelta(minutes=MAX_BUCKETS, seconds=1))
    with pytest.raises(ValidationFailed):
        period("hour", "UTC", start, start)
    with pytest.raises(ValidationFailed):
        period("week", "UTC", start, start + timedelta(days=7))


def test_parsing_times_and_days() -> None:
    ny = "America/New_York"
    assert parse_instant("2026-01-01T10:00:00Z", "from", ny, end=False) == utc(2026, 1, 1, 10)
    assert parse_instant("2026-01-01T10:00:00 01:00", "from", ny, end=False) == utc(2026, 1, 1, 9)
    assert parse_instant("2026-01-01", "from", ny, end=False) == utc(2026, 1, 1, 5)
    assert parse_instant("2026-01-01", "to", ny, end=True) == utc(2026, 1, 2, 5)
    for bad in ("2026-01-01T10:00:00", "soon", "2026-02-30", "1969-12-31T00:00:00Z", ""):
        with pytest.raises(ValidationFailed):
            parse_instant(bad, "from", ny, end=False)
