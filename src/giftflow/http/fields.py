"""Field types shared by request models."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, AwareDatetime, StringConstraints

from giftflow.clock import in_utc
from giftflow.ids import USER_ID_CHARS


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it at the edge rather than fail in the database
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]

# A time in a request body: RFC 3339 with an offset, held in UTC; one whose UTC time is outside
# the years 1 to 9999 is a 422 (converting it would overflow).
Instant = Annotated[AwareDatetime, AfterValidator(in_utc)]

# A user id in a route's path (``/v1/users/{user_id}``): the platform's id pattern. Use it as a
# type (``user_id: UserIdPath``): FastAPI copies Annotated metadata per parameter, whereas a
# shared ``Path()`` default object is given each parameter's name as its alias, so one route
# naming it ``creator_id`` would break every route naming it ``user_id``.
UserIdPath = Annotated[
    str, Path(pattern=f"^{USER_ID_CHARS}$", description="The platform's user id.")
]
# An object id in a route's path (``/v1/withdrawals/{withdrawal_id}``): a decimal 64-bit id;
# anything else is a 422 before the route runs.
ObjectIdPath = Annotated[
    str, Path(pattern=r"^[0-9]{1,18}$", description="The object's id (decimal digits).")
]
Short = Annotated[Text, StringConstraints(max_length=200)]
