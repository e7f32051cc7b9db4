"""JSON shapes of leaderboard lines and ranks."""

from __future__ import annotations

from typing import Any

from giftflow.clock import rfc3339
from giftflow.live.leaderboards.repository import Entry


def person(who: str, name: str | None) -> dict[str, str]:
    return {"id": who, "name": name or who}


def line_view(rank: int, entry: Entry, *, role: str = "user") -> dict[str, Any]:
    """One line: ``role`` is ``user`` (a supporter) or ``creator`` (the global boards)."""
    out: dict[str, Any] = {
        "rank": rank,
        role: person(entry.id, entry.name),
        "coins": entry.coins,
    }
    if entry.gifts is not None:
        out["gifts"] = entry.gifts
    out["reached_at"] = rfc3339(entry.reached_at)
    return out
