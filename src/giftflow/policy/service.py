"""Which policy is in force: the stored version effective now, else the shipped profile."""

from __future__ import annotations

from typing import Any

from giftflow.context import AppContext
from giftflow.money.repository import policy_in_force


def policy_document(ctx: AppContext) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        policy = policy_in_force(conn, ctx.settings.policy_profile, ctx.clock.now())
    return {"object": "policy", "label": policy.version_label, **policy.model_dump(mode="json")}
