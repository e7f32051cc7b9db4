"""Response and request model pieces every feature shares."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A request body: unknown fields are refused (422)."""

    model_config = ConfigDict(extra="forbid")


class AmountOut(BaseModel):
    asset: str
    amount: int
    display: str
