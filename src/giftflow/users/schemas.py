"""User profile models. Only the platform sets these; no user endpoint can (no mass assignment)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from giftflow.clock import rfc3339
from giftflow.http.fields import Text
from giftflow.money.amounts import MAX_AMOUNT

KycStatus = Literal["unverified", "pending", "verified", "rejected"]


class UserIn(BaseModel):
    """Fields left out keep their current value (or the default for a new user)."""

    model_config = ConfigDict(extra="forbid")

    display_name: Text | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", examples=["US"])
    birth_date: date | None = None
    age_verified: StrictBool | None = None
    follower_count: StrictInt | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    kyc_status: KycStatus | None = None
    frozen: StrictBool | None = Field(
        default=None, description="A frozen account can neither send nor receive gifts."
    )

    @model_validator(mode="after")
    def _no_null_for_required_facts(self) -> UserIn:
        for name in ("age_verified", "follower_count", "kyc_status", "frozen"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class UserOut(BaseModel):
    id: str
    object: str = "user"
    display_name: str | None
    region: str | None
    birth_date: date | None
    age_verified: bool
    follower_count: int
    kyc_status: KycStatus
    frozen: bool
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> UserOut:
        return cls(
            id=row["id"],
            display_name=row["display_name"],
            region=row["region"],
            birth_date=row["birth_date"],
            age_verified=bool(row["age_verified"]),
            follower_count=int(row["follower_count"]),
            kyc_status=row["kyc_status"],
            frozen=bool(row["frozen"]),
            created_at=rfc3339(row["created_at"]),
            updated_at=rfc3339(row["updated_at"]),
        )
