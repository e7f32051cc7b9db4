"""Request and response models of the gift catalog.

Three views of one gift, each adding to the last: ``CatalogGiftOut`` (what a viewer's app shows
in the gift panel, ``GET /v1/gifts``), ``GiftViewOut`` (one gift and whether the caller may send
it now, ``GET /v1/gifts/{id}``) and ``GiftOut`` (everything an operator keeps, the admin routes).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

from giftflow.http import fields
from giftflow.http.fields import Text
from giftflow.http.schemas import AmountOut, StrictModel
from giftflow.money.amounts import MAX_AMOUNT

GIFT_ID_CHARS = r"[a-z0-9][a-z0-9\-]{0,63}"
GIFT_ID_PATTERN = re.compile(GIFT_ID_CHARS)
REGION_CHARS = r"[A-Z]{2}"
MAX_REGIONS = 100  # 100 codes fit the column (400 characters with the commas)
MIN_SORT, MAX_SORT = -(2**31), 2**31 - 1  # the column is a 32-bit integer

GiftId = Annotated[str, StringConstraints(pattern=f"^{GIFT_ID_CHARS}$")]
Price = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT, description="Coins per gift.")]
Tier = Annotated[
    StrictInt, Field(ge=1, le=5, description="Animation tier: 1 (small) to 5 (full screen).")
]
Sort = Annotated[
    StrictInt,
    Field(ge=MIN_SORT, le=MAX_SORT, description="Position in the catalog: lower first."),
]
Region = Annotated[str, StringConstraints(pattern=f"^{REGION_CHARS}$")]
Regions = Annotated[
    list[Region],
    Field(
        max_length=MAX_REGIONS,
        description="ISO 3166-1 alpha-2 codes where the gift is offered; `[]` or null: everywhere.",
        examples=[["JP", "KR"]],
    ),
]
Instant = Annotated[
    fields.Instant, Field(description="RFC 3339 with an offset (stored and shown in UTC).")
]


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("name may not be blank")
    return value


# a path on this server (``/static/gifts/rose.svg``) or an https URL (a CDN); no spaces, quotes,
# '..' segments or '//' in the path: apps put it straight into an <img> or an animation loader
_PATH = r"/[A-Za-z0-9_-][A-Za-z0-9._~/-]*"
_HTTPS = (
    r"https://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/%-]*)?"
)
_QUERY = r"(?:\?[A-Za-z0-9._~%=&-]*)?"


def _image(value: str) -> str:
    path = value.removeprefix("https://").partition("/")[2] if value.startswith("https:") else value
    if ".." in path.split("/") or "//" in path:
        raise ValueError("image is a plain path or URL: no '..' segment and no '//' in the path")
    return value


Image = Annotated[
    str,
    StringConstraints(max_length=200, pattern=f"^(?:{_PATH}|{_HTTPS}){_QUERY}$"),
    AfterValidator(_image),
    Field(
        description="A path on this server or an https URL.",
        examples=["/static/gifts/rose.svg", "https://cdn.example.com/gifts/rose.webp"],
    ),
]
Name = Annotated[Text, StringConstraints(min_length=1, max_length=100), AfterValidator(_name)]


def check_window(start: datetime | None, end: datetime | None) -> None:
    """A limited edition's window is ``[available_from, available_until)``: from before until."""
    if start is not None and end is not None and start >= end:
        raise ValueError("available_from must be before available_until")


class GiftIn(StrictModel):
    """A new gift; ``id`` is chosen by the operator and never changes."""

    id: GiftId = Field(examples=["lucky-cat"])
    name: Name = Field(examples=["Lucky Cat"])
    price: Price = Field(examples=[99])
    image: Image | None = None
    tier: Tier = 1
    streakable: StrictBool = Field(
        default=False, description="Whether repeated sends count as one combo (a streak)."
    )
    available_from: Instant | None = None
    available_until: Instant | None = None
    regions: Regions | None = None
    sort: Sort = 0
    active: StrictBool = True

    @model_validator(mode="after")
    def _window(self) -> GiftIn:
        check_window(self.available_from, self.available_until)
        return self


class GiftUpdateIn(StrictModel):
    """Omitted fields keep their value. ``null`` removes an image, a window edge or the region
    list (offered everywhere); the other fields cannot be null. The id is fixed."""

    name: Name | None = None
    price: Price | None = None
    image: Image | None = None
    tier: Tier | None = None
    streakable: StrictBool | None = None
    available_from: Instant | None = None
    available_until: Instant | None = None
    regions: Regions | None = None
    sort: Sort | None = None
    active: StrictBool | None = None


class CatalogGiftOut(BaseModel):
    """A gift as a viewer's app shows it."""

    id: str
    object: str = "gift"
    name: str
    price: AmountOut
    image: str | None
    tier: int
    streakable: bool
    available_from: str | None = Field(description="Included; null: no start.")
    available_until: str | None = Field(description="Excluded; null: no end.")
    regions: list[str] | None = Field(description="Where it is offered; null: everywhere.")


class CatalogOut(BaseModel):
    object: str = "list"
    region: str | None = Field(
        description="The region the list is for (null: none known; only gifts offered "
        "everywhere are listed)."
    )
    data: list[CatalogGiftOut]


class GiftViewOut(CatalogGiftOut):
    """One gift, and whether the caller may send it here and now."""

    available: bool
    unavailable_reason: str | None = Field(
        description="`inactive`, `not_yet`, `ended` or `region`; null when available.",
        examples=[None, "ended"],
    )


class GiftOut(CatalogGiftOut):
    """A gift as an operator keeps it."""

    sort: int
    active: bool
    created_at: str
    updated_at: str


class GiftsOut(BaseModel):
    object: str = "list"
    data: list[GiftOut]
