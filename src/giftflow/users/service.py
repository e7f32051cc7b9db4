"""Users as the platform describes them: only the platform writes profile facts."""

from __future__ import annotations

from giftflow.context import AppContext
from giftflow.db import unit_of_work
from giftflow.errors import NotFound
from giftflow.users.repository import get_user, upsert_user
from giftflow.users.schemas import UserIn, UserOut


def put_user(ctx: AppContext, user_id: str, body: UserIn) -> tuple[UserOut, bool]:
    """Create or update; omitted fields keep their value. Returns the profile and 'created'."""
    fields = body.model_dump(exclude_unset=True)
    with unit_of_work(ctx.engine) as conn:
        row, created = upsert_user(conn, user_id, fields, ctx.clock.now())
    return UserOut.from_row(row), created


def read_user(ctx: AppContext, user_id: str) -> UserOut:
    with ctx.engine.connect() as conn:
        row = get_user(conn, user_id)
    if row is None:
        raise NotFound("No such user.", id=user_id)
    return UserOut.from_row(row)
