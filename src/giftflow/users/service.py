"""Users as the platform describes them: only the platform writes profile facts."""

from __future__ import annotations

from typing import Any

from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.db import unit_of_work
from giftflow.errors import NotFound
from giftflow.http.schemas import AmountOut
from giftflow.money.amounts import amount_view
from giftflow.users import repository
from giftflow.users.repository import get_user, upsert_user
from giftflow.users.schemas import (
    AccountBalanceOut,
    AdminUserOut,
    GuardianLinkOut,
    UserIn,
    UserOut,
    UserPatchIn,
    UsersPage,
)


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


# --- the back office ---------------------------------------------------------------------------
def search(ctx: AppContext, q: str | None, limit: int, after_id: str | None) -> UsersPage:
    with ctx.engine.connect() as conn:
        rows = repository.search_users(conn, q, limit=limit + 1, after_id=after_id)
    more = len(rows) > limit
    rows = rows[:limit]
    return UsersPage(
        data=[UserOut.from_row(r) for r in rows], next_cursor=rows[-1]["id"] if more else None
    )


def _link(row: dict[str, Any], user_id: str) -> GuardianLinkOut:
    return GuardianLinkOut(
        id=str(row["id"]),
        role="guardian" if row["guardian_id"] == user_id else "ward",
        guardian_id=row["guardian_id"],
        ward_id=row["ward_id"],
        purchases_enabled=bool(row["purchases_enabled"]),
        daily_cap_coins=row["daily_cap_coins"],
        created_at=rfc3339(row["created_at"]),
        updated_at=rfc3339(row["updated_at"]),
    )


def admin_view(ctx: AppContext, user_id: str) -> AdminUserOut:
    """The profile with guardian links, every account balance, holds and the spending freeze."""
    with ctx.engine.connect() as conn:
        row = get_user(conn, user_id)
        if row is None:
            raise NotFound("No such user.", id=user_id)
        links = repository.links_of(conn, user_id)
        accounts, held = repository.money_of(conn, user_id)
        freeze = repository.spending_freeze(conn, user_id)
    return AdminUserOut(
        **UserOut.from_row(row).model_dump(),
        guardian_links=[_link(r, user_id) for r in links],
        balances=[
            AccountBalanceOut(path=path, **amount_view(asset, amount))
            for path, asset, amount in accounts
        ],
        held=[AmountOut(**amount_view(asset, amount)) for asset, amount in sorted(held.items())],
        spending_frozen=freeze,
    )


def update(ctx: AppContext, user_id: str, body: UserPatchIn) -> UserOut:
    """An operator's change of KYC status, freeze or age verification, through the same path
    as the platform's ``PUT /v1/users/{id}`` (a frozen creator's lives lose eligibility at
    once: eligibility is read from the profile); an unknown user is 404, never created."""
    read_user(ctx, user_id)
    user, _ = put_user(ctx, user_id, UserIn.model_validate(body.model_dump(exclude_unset=True)))
    return user
