"""PUT/GET /v1/users/{id}: the platform tells giftflow who its users are."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from giftflow.auth.deps import get_principal, require_scope
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.fields import UserIdPath
from giftflow.users import service
from giftflow.users.schemas import UserIn, UserOut

router = APIRouter(prefix="/v1/users", tags=["users"])


@router.put("/{user_id}", response_model=UserOut, responses={201: {"model": UserOut}})
def put_user(
    body: UserIn,
    response: Response,
    user_id: UserIdPath,
    _: Principal = Depends(require_scope("platform")),
    ctx: AppContext = Depends(get_context),
) -> UserOut:
    """Create (201) or update (200) a user's profile: platform scope only, since it sets KYC
    status and age. Omitted fields are left as they are."""
    user, created = service.put_user(ctx, user_id, body)
    response.status_code = 201 if created else 200
    return user


@router.get("/{user_id}", response_model=UserOut)
def read_user(
    user_id: UserIdPath,
    principal: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> UserOut:
    """A user's profile: platform/admin keys, or the user themself."""
    principal.require_owner_or_scope(user_id, "platform", "admin")
    return service.read_user(ctx, user_id)


admin_router = APIRouter(prefix="/v1/admin", tags=["users"])
