"""JSON shape of a live, shared by the endpoints and the room stream's ``welcome`` state."""

from __future__ import annotations

from typing import Any

from giftflow.clock import rfc3339
from giftflow.live.rooms.model import LiveRow
from giftflow.money.amounts import amount_view


def live_view(
    live: LiveRow,
    *,
    ineligible: str | None,
    last_seq: int,
    unique_viewers: int,
    watch_seconds: int,
) -> dict[str, Any]:
    return {
        "id": str(live.id),
        "object": "live",
        "creator_id": live.creator_id,
        "title": live.title,
        "state": live.state.value,
        "eligible": ineligible is None,
        "ineligible_reason": ineligible,
        "policy_version": live.policy_version,
        "started_at": rfc3339(live.started_at),
        "ended_at": rfc3339(live.ended_at) if live.ended_at else None,
        "viewer_count": live.viewer_count,
        "peak_viewers": live.peak_viewers,
        "unique_viewers": unique_viewers,
        "watch_seconds": watch_seconds,
        "gifts_count": live.gifts_count,
        "coins": amount_view("COIN", live.coins_total),
        "diamonds": amount_view("DIAMOND", live.diamonds_total),
        "last_seq": last_seq,
        "events_url": f"/v1/lives/{live.id}/events",
    }
