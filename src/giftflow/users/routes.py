"""PUT/GET /v1/users/{id}: the platform tells giftflow who its users are."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from giftflow.auth.deps import get_principal, require_scope
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.db import unit_of_work
from giftflow.errors import NotFound
from giftflow.ledger.repository import aware
from giftflow.ledger.views import rfc3339
from giftflow.users.repository import get_user, upsert_user
from giftflow.users.schemas import UserIn, UserOut

router = APIRouter(prefix="/v1/users", tags=["users"])
USER_ID = Path(pattern=r"^[A-Za-z0-9_.\-]{1,64}$", description="The platform's user id.")
_USER_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def user_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": "user",
        "display_name": row["display_name"],
        "region": row["region"],
        "birth_date": row["birth_date"].isoformat() if row["birth_date"] else None,
        "age_verified": bool(row["age_verified"]),
        "follower_count": int(row["follower_count"]),
        "kyc_status": row["kyc_status"],
        "created_at": rfc3339(aware(row["created_at"])),
        "updated_at": rfc3339(aware(row["updated_at"])),
    }


@router.put("/{user_id}", response_model=UserOut)
def put_user(
    body: UserIn,
    user_id: str = USER_ID,
    _: Principal = Depends(require_scope("platform", "admin")),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """Create or update a user's profile (platform scope). Omitted fields are left as they are."""
    fields = body.model_dump(exclude_unset=True)
    with unit_of_work(ctx.engine) as conn:
        row, created = upsert_user(conn, user_id, fields, ctx.clock.now())
    return JSONResponse(user_view(row), status_code=201 if created else 200)


@router.get("/{user_id}", response_model=UserOut)
def read_user(
    user_id: str = USER_ID,
    principal: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> JSONResponse:
    """A user's profile: platform/admin keys, or the user themself."""
    principal.require_owner_or_scope(user_id, "platform", "admin")
    with ctx.engine.connect() as conn:
        row = get_user(conn, user_id)
    if row is None:
        raise NotFound("No such user.", id=user_id)
    return JSONResponse(user_view(row))
