"""Which policy is in force: the stored version effective now, else the shipped profile."""

from __future__ import annotations

from giftflow.context import AppContext
from giftflow.policy.schemas import PolicyOut


def policy_document(ctx: AppContext) -> PolicyOut:
    policy = ctx.policies.in_force(ctx.clock.now())
    return PolicyOut(label=policy.version_label, **policy.model_dump())
