"""Spending caps as pure checks: which rules apply, their windows, and the first one passed.

Caps are policy rules per region and per payment provider (``Policy.caps``), plus a guardian's
daily cap for a linked account. A day is the policy's calendar day in its time zone; a week is
the ISO week (Monday to Sunday) in that time zone. A check receives what is already counted in
each window and what would be added, and raises ``CapExceeded`` naming the rule and when its
window resets (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from giftflow.clock import rfc3339
from giftflow.errors import CapExceeded
from giftflow.money.policy import Policy


@dataclass(frozen=True, slots=True)
class CapRule:
    name: str  # "region:US daily", "provider:stripe weekly", "guardian daily"
    period: str  # "day" or "week"
    limit: int  # coins


@dataclass(frozen=True, slots=True)
class Windows:
    """The calendar day and ISO week containing ``now`` in the policy's zone."""

    day: date
    week_start: date
    day_resets_at: datetime
    week_resets_at: datetime

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)


def windows(now: datetime, zone: str) -> Windows:
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    day = local.date()
    week_start = day - timedelta(days=day.weekday())

    def midnight(d: date) -> datetime:
        return datetime.combine(d, time(0), tzinfo=tz)

    return Windows(
        day=day,
        week_start=week_start,
        day_resets_at=midnight(day + timedelta(days=1)),
        week_resets_at=midnight(week_start + timedelta(days=7)),
    )


def purchase_rules(policy: Policy, region: str, provider: str) -> list[CapRule]:
    """The policy's caps on buying coins for a user in ``region`` paying with ``provider``."""
    out: list[CapRule] = []
    for cap in policy.caps:
        applies = (cap.scope == "region" and cap.key in (region, "*")) or (
            cap.scope == "provider" and cap.key == provider
        )
        if applies:
            out += _rules(f"{cap.scope}:{cap.key}", cap.daily_coins, cap.weekly_coins)
    return out


def spending_rules(policy: Policy, region: str) -> list[CapRule]:
    """The policy's caps on spending coins (gifts, items) for a user in ``region``."""
    out: list[CapRule] = []
    for cap in policy.caps:
        if cap.scope == "region" and cap.key in (region, "*"):
            out += _rules(f"region:{cap.key}", cap.daily_coins, cap.weekly_coins)
    return out


def _rules(name: str, daily: int | None, weekly: int | None) -> list[CapRule]:
    out = []
    if daily is not None:
        out.append(CapRule(f"{name} daily", "day", daily))
    if weekly is not None:
        out.append(CapRule(f"{name} weekly", "week", weekly))
    return out


def check(rules: list[CapRule], w: Windows, *, today: int, this_week: int, adding: int) -> None:
    """Raise ``CapExceeded`` for the first rule ``adding`` would pass."""
    for rule in rules:
        used = today if rule.period == "day" else this_week
        if used + adding > rule.limit:
            resets = w.day_resets_at if rule.period == "day" else w.week_resets_at
            raise CapExceeded(
                f"This would pass the {rule.name} cap of {rule.limit} coins "
                f"({used} already counted in this window).",
                rule=rule.name,
                limit=rule.limit,
                used=used,
                requested=adding,
                resets_at=rfc3339(resets),
            )
