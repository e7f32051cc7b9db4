"""User profile models. Only the platform sets these; no user endpoint can (no mass assignment)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from giftflow.clock import rfc3339
from giftflow.http.fields import Text
from giftflow.http.schemas import AmountOut, StrictModel
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


class UserPatchIn(StrictModel):
    """What an operator may change: fields left out keep their value (``null`` is refused)."""

    kyc_status: KycStatus | None = None
    frozen: StrictBool | None = Field(
        default=None,
        description="Frozen: the user's lives are not eligible, and they can send no gifts.",
    )
    age_verified: StrictBool | None = None

    @model_validator(mode="after")
    def _no_null(self) -> UserPatchIn:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class GuardianLinkOut(BaseModel):
    id: str
    object: str = "guardian_link"
    role: Literal["guardian", "ward"] = Field(description="The user's side of the link.")
    guardian_id: str
    ward_id: str
    purchases_enabled: bool
    daily_cap_coins: int | None
    created_at: str
    updated_at: str


class AccountBalanceOut(AmountOut):
    path: str


class AdminUserOut(UserOut):
    guardian_links: list[GuardianLinkOut]
    balances: list[AccountBalanceOut] = Field(
        description="Every account of the user (shards summed), by path."
    )
    held: list[AmountOut] = Field(
        description="Per asset, what pending transfers reserve (e.g. a withdrawal in flight)."
    )
    spending_frozen: str | None = Field(
        description="Why the wallet may not spend (a chargeback open or owed), else null."
    )


class UsersPage(BaseModel):
    object: str = "list"
    data: list[UserOut]
    next_cursor: str | None
