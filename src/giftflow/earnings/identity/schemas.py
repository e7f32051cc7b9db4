"""Identity and second-factor models."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from giftflow.http.schemas import StrictModel

# A 6-digit TOTP code or a recovery code (``abcd-efgh-jkmn``); spaces and hyphens are ignored.
SecondFactorCode = Annotated[
    str,
    StringConstraints(min_length=6, max_length=32, pattern=r"^[A-Za-z0-9 \-]+$"),
    Field(
        description="The 6-digit code of the authenticator app, or one unused recovery code.",
        examples=["492039", "abcd-efgh-jkmn"],
    ),
]
SecondFactorState = Literal["none", "pending", "active"]
KycStatus = Literal["unverified", "pending", "verified", "rejected"]


class EnrolIn(StrictModel):
    """Replacing a confirmed factor needs a current code (or a recovery code) of it."""

    code: SecondFactorCode | None = None


class CodeIn(StrictModel):
    code: SecondFactorCode


class EnrolmentOut(BaseModel):
    object: str = "totp_enrolment"
    state: SecondFactorState = "pending"
    otpauth_uri: str = Field(description="Scan it, or type `secret` into the authenticator app.")
    secret: str = Field(description="The base32 secret: shown now only, stored encrypted.")
    qr_svg: str = Field(description="The otpauth URI as a QR code (SVG to put inline in HTML).")
    qr_data_uri: str = Field(
        description="The same QR code as a `data:image/svg+xml` URI, for an `<img src>`."
    )
    issuer: str
    account_name: str
    digits: int
    period_seconds: int


class SecondFactorOut(BaseModel):
    object: str = "second_factor"
    state: SecondFactorState
    confirmed_at: str | None
    recovery_codes_left: int
    locked_until: str | None = Field(description="Withdrawals are refused until then.")


class ConfirmedOut(SecondFactorOut):
    recovery_codes: list[str] = Field(
        description="Ten single-use recovery codes, shown this once: store them offline."
    )


class VerifiedOut(BaseModel):
    object: str = "second_factor_verification"
    verified: bool = True
    method: Literal["totp", "recovery_code"]
    recovery_codes_left: int


class IdentityOut(BaseModel):
    object: str = "creator_identity"
    user_id: str
    kyc_status: KycStatus
    kyc_required: bool = Field(description="Whether the policy in force requires it to withdraw.")
    second_factor: SecondFactorOut
