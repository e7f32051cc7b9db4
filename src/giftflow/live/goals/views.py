"""JSON shapes of a goal: the endpoints' and the room events'. Progress is shown capped at the
target (a goal is "3000 / 3000" once reached); the exact sum is kept and shown as ``total``."""

from __future__ import annotations

from typing import Any

from giftflow.clock import rfc3339
from giftflow.live.goals.repository import GoalRow


def shown(goal: GoalRow) -> int:
    return min(goal.progress, goal.target)


def goal_view(goal: GoalRow) -> dict[str, Any]:
    return {
        "id": str(goal.id),
        "object": "goal",
        "live_id": str(goal.live_id),
        "kind": goal.kind,
        "gift_id": goal.gift_id,
        "title": goal.title,
        "target": goal.target,
        "progress": shown(goal),
        "total": goal.progress,
        "completed": goal.completed,
        "completed_at": rfc3339(goal.completed_at) if goal.completed_at else None,
        "created_at": rfc3339(goal.created_at),
    }


def created_event(goal: GoalRow) -> dict[str, Any]:
    return {
        "goal_id": str(goal.id),
        "kind": goal.kind,
        "gift_id": goal.gift_id,
        "title": goal.title,
        "target": goal.target,
        "progress": shown(goal),
    }


def progress_event(goal: GoalRow) -> dict[str, Any]:
    return {
        "goal_id": str(goal.id),
        "kind": goal.kind,
        "gift_id": goal.gift_id,
        "progress": shown(goal),
        "target": goal.target,
    }


def completed_event(goal: GoalRow, sender: dict[str, str], transaction_id: int) -> dict[str, Any]:
    return {
        "goal_id": str(goal.id),
        "kind": goal.kind,
        "gift_id": goal.gift_id,
        "title": goal.title,
        "progress": shown(goal),
        "target": goal.target,
        "sender": sender,
        "transaction_id": str(transaction_id),
    }
