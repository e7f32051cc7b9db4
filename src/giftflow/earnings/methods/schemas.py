"""Payout method models: a PayPal e-mail or a bank account (IBAN), with the second factor's code
in the body of every change."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from giftflow.earnings.identity.schemas import SecondFactorCode
from giftflow.earnings.methods import iban
from giftflow.http.fields import Text
from giftflow.http.schemas import StrictModel

MethodKind = Literal["paypal", "bank"]

# A practical address check (no quoted local parts, no IP literals): what PayPal accepts.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"({_LOCAL})@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")


def normalise_email(value: str) -> str:
    """The address with its domain lower-cased, or ``ValueError``."""
    value = value.strip()
    found = _EMAIL.fullmatch(value)
    if found is None or len(value) > 254 or len(found.group(1)) > 64:
        raise ValueError("not an e-mail address")
    return f"{found.group(1)}@{found.group(2).lower()}"


def _iban(value: str) -> str:
    return iban.normalise(value)


Email = Annotated[
    str,
    StringConstraints(max_length=254),
    AfterValidator(normalise_email),
    Field(examples=["payouts@example.com"]),
]
Iban = Annotated[
    str,
    StringConstraints(max_length=64),
    AfterValidator(_iban),
    Field(description="Spaces and case are ignored.", examples=["DE89 3704 0044 0532 0130 00"]),
]


def _holder(value: str) -> str:
    """Runs of whitespace become one space; control characters are refused."""
    name = " ".join(value.split())
    if not name:
        raise ValueError("the account holder's name is empty")
    if not name.isprintable():
        raise ValueError("the account holder's name has control characters")
    return name


HolderName = Annotated[
    Text, StringConstraints(max_length=140), AfterValidator(_holder), Field(examples=["Alice Ng"])
]
TOTP_FIELD = Field(description="A current code of the caller's second factor (or a recovery code).")


class PaypalIn(StrictModel):
    kind: Literal["paypal"]
    email: Email
    totp: SecondFactorCode = TOTP_FIELD


class BankIn(StrictModel):
    kind: Literal["bank"]
    iban: Iban
    holder_name: HolderName
    totp: SecondFactorCode = TOTP_FIELD


MethodIn = Annotated[PaypalIn | BankIn, Field(discriminator="kind")]


class FactorIn(StrictModel):
    totp: SecondFactorCode = TOTP_FIELD


class MethodOut(BaseModel):
    id: str
    object: str = "payout_method"
    kind: MethodKind
    masked: str = Field(examples=["p***@example.com", "DE89 **** **** **** **30 00"])
    usable_from: str = Field(description="The end of the cooling-off period.")
    usable: bool
    created_at: str
    updated_at: str


class MethodsOut(BaseModel):
    object: str = "list"
    data: list[MethodOut]


class RemovedOut(BaseModel):
    id: str
    object: str = "payout_method"
    removed: bool = True
