"""Guardian link models."""

from __future__ import annotations

from pydantic import BaseModel, Field, StrictBool, StrictInt

from giftflow.http.schemas import StrictModel
from giftflow.ids import UserId
from giftflow.money.amounts import MAX_AMOUNT


class LinkIn(StrictModel):
    guardian_id: UserId
    ward_id: UserId


class LinkRulesIn(StrictModel):
    """Omitted fields keep their value; ``daily_cap_coins: null`` removes the cap."""

    purchases_enabled: StrictBool | None = None
    daily_cap_coins: StrictInt | None = Field(default=None, gt=0, le=MAX_AMOUNT)


class LinkOut(BaseModel):
    id: str
    object: str = "guardian_link"
    guardian_id: str
    ward_id: str
    purchases_enabled: bool
    daily_cap_coins: int | None
    created_at: str
    updated_at: str


class LinksOut(BaseModel):
    object: str = "list"
    data: list[LinkOut]
