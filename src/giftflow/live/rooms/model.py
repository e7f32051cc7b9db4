"""A live as the writer's batch sees it, and who may receive gifts (one rule, stated once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from giftflow.clock import age_on
from giftflow.money.policy import Policy


class LiveState(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


@dataclass(slots=True)
class LiveRow:
    id: int
    creator_id: str
    title: str | None
    state: LiveState
    policy_version: str
    started_at: datetime
    ended_at: datetime | None
    gifts_count: int
    coins_total: int
    diamonds_total: int
    viewer_count: int
    peak_viewers: int
    subscribers_only: bool = False  # only the creator's subscribers may join and gift


@dataclass(frozen=True, slots=True)
class UserFacts:
    """What the platform told giftflow about a user, as gifting needs it."""

    id: str
    display_name: str | None
    region: str | None
    birth_date: date | None
    follower_count: int
    frozen: bool

    @property
    def name(self) -> str:
        return self.display_name or self.id


def age_problem(facts: UserFacts, minimum: int, today: date) -> str | None:
    """``age_unknown`` / ``under_age`` when ``minimum`` applies and is not met."""
    if not minimum:
        return None
    if facts.birth_date is None:
        return "age_unknown"
    if age_on(facts.birth_date, today) < minimum:
        return "under_age"
    return None


def ineligibility(creator: UserFacts | None, policy: Policy, today: date) -> str | None:
    """Why ``creator`` may not receive gifts under ``policy`` (None: they may): ``frozen``,
    ``followers`` (fewer than ``followers_to_receive``), ``age_unknown`` / ``under_age``
    (``minimum_to_receive``), ``user_not_found``. Checked when a live starts and again with
    every gift, under the policy in force and the follower count the platform last reported."""
    if creator is None:
        return "user_not_found"
    if creator.frozen:
        return "frozen"
    if creator.follower_count < policy.gifts.followers_to_receive:
        return "followers"
    return age_problem(creator, policy.age.minimum_to_receive, today)
