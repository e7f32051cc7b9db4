"""Request and response models of the in-app item catalog, item purchases and owned items."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StrictBool, StrictInt, StringConstraints

from giftflow.http.fields import Text
from giftflow.http.schemas import AmountOut, StrictModel
from giftflow.money.amounts import MAX_AMOUNT

ITEM_ID_CHARS = r"[a-z0-9][a-z0-9-]{0,63}"
ITEM_ID_PATTERN = re.compile(ITEM_ID_CHARS)
MAX_QUANTITY = 100

ItemKind = Literal["effect", "sticker"]
ItemId = Annotated[str, StringConstraints(pattern=f"^{ITEM_ID_CHARS}$")]
Price = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT, description="Coins per item.")]


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("name may not be blank")
    return value


def _image(value: str) -> str:
    if ".." in value.split("/") or "//" in value:
        raise ValueError("image is a plain path: no '..' segment and no '//'")
    return value


Name = Annotated[Text, StringConstraints(min_length=1, max_length=100), AfterValidator(_name)]
Image = Annotated[
    str,
    StringConstraints(max_length=200, pattern=r"^/?[A-Za-z0-9_-][A-Za-z0-9._/-]*$"),
    AfterValidator(_image),
    Field(description="A path the platform's app resolves, e.g. `/items/sparkle-frame.png`."),
]


class ItemIn(StrictModel):
    """A new catalog item; ``id`` is chosen by the operator and never changes."""

    id: ItemId = Field(examples=["sparkle-frame"])
    kind: ItemKind
    name: Name = Field(examples=["Sparkle frame"])
    price: Price = Field(examples=[30])
    image: Image | None = None
    active: StrictBool = True


class ItemUpdateIn(StrictModel):
    """Omitted fields keep their value; ``image: null`` removes the image. The id and kind are
    fixed: a different thing is a different item."""

    name: Name | None = None
    price: Price | None = None
    image: Image | None = None
    active: StrictBool | None = None


class ItemOut(BaseModel):
    id: str
    object: str = "item"
    kind: str
    name: str
    price: AmountOut
    image: str | None
    active: bool
    created_at: str
    updated_at: str


class ItemsOut(BaseModel):
    object: str = "list"
    data: list[ItemOut]


class ItemPurchaseIn(StrictModel):
    quantity: StrictInt = Field(default=1, ge=1, le=MAX_QUANTITY)


class PaidFromOut(BaseModel):
    """Which of the user's coins paid: bonus first, then exchanged, then paid coins (FIFO lots)."""

    bonus: int
    exchanged: int
    paid: int


class ItemPurchaseOut(BaseModel):
    object: str = "item_purchase"
    transaction_id: str
    user_id: str
    item_id: str
    quantity: int
    unit_price: AmountOut
    total: AmountOut
    paid_from: PaidFromOut
    owned_quantity: int = Field(description="How many of this item the user owns now.")
    policy_version: str
    created_at: str


class OwnedItemOut(BaseModel):
    item: ItemOut
    quantity: int
    first_at: str
    last_at: str


class OwnedItemsOut(BaseModel):
    object: str = "list"
    data: list[OwnedItemOut]
