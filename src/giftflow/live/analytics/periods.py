"""Time grids of analytics (pure): what a range and a bucket size mean, worked out once per request.

Stored rows are UTC minutes (``analytics_gift_minutes``) and UTC hours (``analytics_gifters``).
A request's buckets are minutes and hours in UTC — an
hour in a zone whose offset is a whole number of hours (all but a handful) is the same span as
the UTC hour — and days in the policy's time zone, DST included: a day is 23, 24 or 25 hours.

A stored row belongs to the bucket ``(epoch + offset(epoch)) // unit`` where ``epoch`` is the row's
start in Unix seconds and ``offset`` the zone's UTC offset at that instant (zero for minutes and
hours). The offset is a step function over the range; ``Grid.pieces`` lists its steps, so the
database groups rows with one ``CASE`` on the epoch instead of knowing time zones (SQLite does
not). Bucket keys computed here with the same formula name the same buckets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from giftflow.errors import ValidationFailed

BucketSize = Literal["minute", "hour", "day"]
MAX_BUCKETS = 1500
UNITS: dict[str, int] = {"minute": 60, "hour": 3600, "day": 86400}
DEFAULT_SPANS: dict[str, timedelta] = {"minute": timedelta(hours=1), "hour": timedelta(days=1)}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DAY = date(1970, 1, 1)
# far enough from datetime's limits that aligning and adding a day cannot overflow
FIRST = datetime(1970, 1, 1, tzinfo=UTC)
LAST = datetime(9999, 1, 1, tzinfo=UTC)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SPACED_OFFSET = re.compile(r"(.*[0-9]) ([0-9]{2}:?[0-9]{2})")


def epoch(at: datetime) -> int:
    """Whole Unix seconds (rows are whole minutes and hours, so exact for them)."""
    return (at - EPOCH) // timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Grid:
    """How a row's start maps to its bucket key: ``(epoch + offset) // unit``, where ``offset`` is
    the offset of the first piece whose ``until`` (exclusive, Unix seconds; None: no end) lies
    after the epoch."""

    unit: int
    pieces: tuple[tuple[int | None, int], ...] = ((None, 0),)

    def offset(self, at_epoch: int) -> int:
        for until, offset in self.pieces:
            if until is None or at_epoch < until:
                return offset
        raise AssertionError("the last piece has no end")  # pragma: no cover

    def key(self, at: datetime) -> int:
        e = epoch(at)
        return (e + self.offset(e)) // self.unit

    @property
    def whole_hours(self) -> bool:
        """Whether every offset is a whole number of hours: then UTC hours nest in buckets."""
        return all(offset % 3600 == 0 for _, offset in self.pieces)


@dataclass(frozen=True, slots=True)
class Bucket:
    key: int
    start: datetime  # UTC
    end: datetime  # UTC, exclusive
    day: date | None  # the local day of a day bucket


@dataclass(frozen=True, slots=True)
class Period:
    """A request's range, widened to whole buckets, and its buckets."""

    size: str
    zone: str
    start: datetime
    end: datetime
    grid: Grid
    buckets: tuple[Bucket, ...]

    @property
    def hour_aligned(self) -> bool:
        return self.start.minute == 0 and self.end.minute == 0

    @property
    def first_day(self) -> date:
        return self.start.astimezone(ZoneInfo(self.zone)).date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(microseconds=1)).astimezone(ZoneInfo(self.zone)).date()


def parse_instant(raw: str, name: str, zone: str, *, end: bool) -> datetime:
    """An RFC 3339 time with an offset, or a calendar day (``YYYY-MM-DD``) in the policy's zone:
    its start for ``from``, its end (the next midnight) for ``to`` — so ``to`` of a day is
    inclusive and ``to`` of a time exclusive. A ``+`` left unencoded in the query (a space) is
    read as the ``+`` it was."""
    text = raw.strip()
    try:
        if _DATE.fullmatch(text):
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            at = datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)
        else:
            spaced = _SPACED_OFFSET.fullmatch(text)
            if spaced is not None:
                text = f"{spaced.group(1)}+{spaced.group(2)}"
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                raise ValidationFailed(
                    f"'{name}' needs an offset (Z or ±hh:mm) or must be a plain date.",
                    field=name,
                )
            at = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValidationFailed(
            f"'{name}' is neither an RFC 3339 time nor a date (YYYY-MM-DD).", field=name
        ) from None
    if not FIRST <= at <= LAST:
        raise ValidationFailed(f"'{name}' is outside the years 1970 to 9998.", field=name)
    return at


def _floor(at: datetime, size: str, zone: ZoneInfo) -> datetime:
    if size == "minute":
        return at.replace(second=0, microsecond=0)
    if size == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    return local_midnight(at.astimezone(zone).date(), zone)


def _ceil(at: datetime, size: str, zone: ZoneInfo) -> datetime:
    floored = _floor(at, size, zone)
    if floored == at:
        return at
    if size == "day":
        return local_midnight(at.astimezone(zone).date() + timedelta(days=1), zone)
    return floored + timedelta(seconds=UNITS[size])


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local day starts (where midnight is skipped by DST, the first instant)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def offset_pieces(
    zone: ZoneInfo, start: datetime, end: datetime
) -> tuple[tuple[int | None, int], ...]:
    """The zone's UTC offset over [start, end) as steps: sampled every six hours, each change
    pinned to its second by bisection (zones change offset at most a few times a year)."""

    def offset_at(e: int) -> int:
        delta = (EPOCH + timedelta(seconds=e)).astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    step = 6 * 3600
    lo, hi = epoch(start), epoch(end)
    pieces: list[tuple[int | None, int]] = []
    current = offset_at(lo)
    at = lo
    while at < hi:
        nxt = min(at + step, hi)
        if offset_at(nxt) != current:
            a, b = at, nxt  # offset_at(a) == current != offset_at(b)
            while b - a > 1:
                mid = (a + b) // 2
                if offset_at(mid) == current:
                    a = mid
                else:
                    b = mid
            pieces.append((b, current))
            current = offset_at(b)
            at = b
        else:
            at = nxt
    pieces.append((None, current))
    return tuple(pieces)


def default_range(
    size: str, zone_name: str, now: datetime, *, end: datetime | None = None
) -> tuple[datetime, datetime]:
    """What an omitted ``to`` and ``from`` mean: ``to`` the end of the bucket holding now (so the
    current minute, hour or day is included), ``from`` an hour, a day or 30 local days before."""
    zone = ZoneInfo(zone_name)
    if end is None:
        end = _ceil(now + timedelta(microseconds=1), size, zone) if size in UNITS else now
    if size == "day":
        last = (end - timedelta(microseconds=1)).astimezone(zone).date()
        return local_midnight(last - timedelta(days=29), zone), end
    return end - DEFAULT_SPANS.get(size, DEFAULT_SPANS["hour"]), end


def period(size: str, zone_name: str, start: datetime, end: datetime) -> Period:
    """The buckets covering [start, end), widened to whole buckets; more than ``MAX_BUCKETS``
    or an empty range is ``validation_error``."""
    if size not in UNITS:
        raise ValidationFailed("bucket is minute, hour or day.", field="bucket")
    if start >= end:
        raise ValidationFailed("'from' must be before 'to'.", field="from")
    zone = ZoneInfo(zone_name)
    lo, hi = _floor(start, size, zone), _ceil(end, size, zone)
    unit = UNITS[size]
    if size == "day":
        first = lo.astimezone(zone).date()
        count = (hi.astimezone(zone).date() - first).days
    else:
        first = None
        count = int((hi - lo).total_seconds()) // unit
    if count > MAX_BUCKETS:
        raise ValidationFailed(
            f"At most {MAX_BUCKETS} buckets; this range has {count} {size}s.",
            buckets=count,
            maximum=MAX_BUCKETS,
        )
    if first is not None:
        grid = Grid(unit, offset_pieces(zone, lo, hi))
        days = [first + timedelta(days=i) for i in range(count + 1)]
        bounds = [local_midnight(d, zone) for d in days]
        buckets = tuple(
            Bucket((days[i] - EPOCH_DAY).days, bounds[i], bounds[i + 1], days[i])
            for i in range(count)
        )
    else:
        grid = Grid(unit)
        step = timedelta(seconds=unit)
        buckets = tuple(
            Bucket(epoch(lo + i * step) // unit, lo + i * step, lo + (i + 1) * step, None)
            for i in range(count)
        )
    return Period(size, zone_name, lo, hi, grid, buckets)
