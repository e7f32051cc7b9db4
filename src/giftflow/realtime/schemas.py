"""The stream's messages as documented shapes (the first message, and GET without a stream)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

# the largest seq a client may name (OpenAPI bounds must stay below 2**53)
MAX_SEQ = 2**53


class WelcomeOut(BaseModel):
    """The first message of every stream; also the answer to a GET that asks for no stream."""

    type: Literal["welcome"] = "welcome"
    room_id: str = Field(description="The room (the live's id).")
    seq: int = Field(description="The room's last event sequence number now.")
    recovered: bool = Field(
        description="True when the events after `after` are replayed next; false when there "
        "was no `after` or it is older than the retained history: reload `state`."
    )
    state: dict[str, Any] | None = Field(
        description="The room's state as of `seq` (viewers, totals...), from the live feature."
    )
