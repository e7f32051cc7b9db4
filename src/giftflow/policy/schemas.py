"""Response model of GET /v1/policy: the policy document, with its object type and label."""

from __future__ import annotations

from giftflow.money.policy import Policy


class PolicyOut(Policy):
    object: str = "policy"
    label: str  # "standard@1": what every transaction's policy_version names
