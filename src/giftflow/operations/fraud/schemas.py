"""Request and response models of the fraud flags (``/v1/admin/flags``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from giftflow.http.fields import Text
from giftflow.http.schemas import StrictModel

FlagKindName = Literal[
    "gifting_ring",
    "new_account_burst",
    "refund_after_gifting",
    "shared_payment_fingerprint",
    "withdrawal_after_method_change",
]


class FlagOut(BaseModel):
    id: str
    object: str = "flag"
    kind: FlagKindName
    subject: str = Field(description="The user or users involved, for a list (≤ 200 chars).")
    users: list[str] = Field(description="Every user the evidence names, the main one first.")
    details: dict[str, Any] = Field(
        description="The evidence: users, transaction ids, amounts (integers with display "
        "strings), times and the thresholds of the policy version that raised it."
    )
    state: Literal["open", "resolved"]
    created_at: str
    resolved_at: str | None
    resolved_by: str | None = Field(description="The operator who resolved it (audit actor).")
    resolution: Literal["confirmed", "dismissed"] | None
    note: str | None


class FlagsPage(BaseModel):
    object: str = "list"
    data: list[FlagOut]
    next_cursor: str | None


class ResolveIn(StrictModel):
    resolution: Literal["confirmed", "dismissed"] = Field(
        description="confirmed: the operator saw fraud (and acts through the other admin "
        "endpoints); dismissed: a false alarm. Nothing moves either way."
    )
    note: Text = Field(min_length=1, max_length=1000, description="Why; kept with the flag.")


class ScanOut(BaseModel):
    object: str = "flag_scan"
    created: int = Field(description="New flags raised by this scan.")
