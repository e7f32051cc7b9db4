"""Policy models: ``GET /v1/policy`` (the document in force) and the operators' versions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from giftflow.http.schemas import StrictModel
from giftflow.money.policy import Policy


class PolicyOut(Policy):
    object: str = "policy"
    label: str  # "standard@1": what every transaction's policy_version names


class PolicyVersionOut(BaseModel):
    object: str = "policy_version"
    label: str = Field(description="`standard@2`: what transactions made under it record.")
    policy_id: str
    version: int
    effective_from: str
    created_at: str | None = Field(description="When it was stored; null for a shipped file.")
    description: str
    in_force: bool = Field(description="The version transactions are made under now.")
    scheduled: bool = Field(description="Takes force later (`effective_from` in the future).")
    stored: bool = Field(
        description="Stored in the database; false: the shipped profile file, in force "
        "because no version of the profile was stored yet."
    )


class PolicyVersionDocumentOut(PolicyVersionOut):
    document: dict[str, Any]


class PolicyVersionsPage(BaseModel):
    object: str = "list"
    data: list[PolicyVersionOut]
    next_cursor: str | None = None


class PolicyDocumentIn(StrictModel):
    document: dict[str, Any] = Field(
        description="A whole policy document (the JSON form of a profile's TOML): `id` (the "
        "server's profile), the next `version`, `effective_from` now or later, and every rule."
    )


class PolicyCheckOut(BaseModel):
    object: str = "policy_check"
    valid: bool
    label: str | None = Field(description="The version's label, when the document has one.")
    problems: list[str] = Field(description="`field.path: what is wrong`, one per problem.")
