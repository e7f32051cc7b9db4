"""User profile models. Only the platform sets these; no user endpoint can (no mass assignment)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

KycStatus = Literal["none", "pending", "verified", "rejected"]


class UserIn(BaseModel):
    """Fields left out keep their current value (or the default for a new user)."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", examples=["US"])
    birth_date: date | None = None
    age_verified: StrictBool | None = None
    follower_count: StrictInt | None = Field(default=None, ge=0)
    kyc_status: KycStatus | None = None


class UserOut(BaseModel):
    id: str
    object: str = "user"
    display_name: str | None
    region: str | None
    birth_date: date | None
    age_verified: bool
    follower_count: int
    kyc_status: KycStatus
    created_at: str
    updated_at: str
