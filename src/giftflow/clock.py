"""The one clock: every 'now' in giftflow comes from here, so tests move time instead of waiting."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol


def age_on(birth: date, today: date) -> int:
    """Whole years from ``birth`` to ``today`` (a birthday counts from its day)."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to (thread-safe: the writer reads it from its thread)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when


def rfc3339(value: datetime) -> str:
    """An aware time as RFC 3339 in UTC (``2026-01-01T00:00:00Z``), as every response shows it."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def in_utc(value: datetime) -> datetime:
    """An aware time from a request, converted to UTC; ``ValueError`` (a 422 in a request model)
    for a naive one and for one whose UTC time falls outside the years 1 to 9999 (e.g.
    ``9999-12-31T23:00:00-05:00``), which Python cannot represent and the database cannot store."""
    if value.tzinfo is None:
        raise ValueError("the time needs an offset (RFC 3339, e.g. 2026-01-01T00:00:00Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time in UTC falls outside the years 1 to 9999") from None
