"""PUT/GET /v1/users/{id}: the platform tells giftflow who its users are."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from giftflow.audit import audited
from giftflow.audit.loaders import row_of
from giftflow.auth.deps import get_principal, require_scope
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.fields import Text, UserIdPath
from giftflow.ids import USER_ID_CHARS
from giftflow.users import service
from giftflow.users.schemas import AdminUserOut, UserIn, UserOut, UserPatchIn, UsersPage

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


admin_router = APIRouter(prefix="/v1/admin", tags=["admin: users"])
admin = require_scope("admin")


@admin_router.get("/users", response_model=UsersPage)
def search_users(
    q: Text | None = Query(
        default=None,
        max_length=100,
        description="Users whose id, or display name (any case), starts with this.",
    ),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(
        default=None,
        pattern=f"^{USER_ID_CHARS}$",  # a user id; NUL would be a 500 on PostgreSQL
        description="`next_cursor` of the previous page (a user id).",
    ),
    _: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> UsersPage:
    """Users by id, optionally searched by the start of their id or display name."""
    return service.search(ctx, q or None, limit, cursor)


@admin_router.get("/users/{user_id}", response_model=AdminUserOut)
def admin_user(
    user_id: UserIdPath, _: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> AdminUserOut:
    """A user's profile with their guardian links (either side), every account balance, what
    pending transfers hold, and whether spending is frozen by a chargeback."""
    return service.admin_view(ctx, user_id)


@admin_router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    dependencies=[Depends(audited("user.update", "user:{user_id}", row_of("users", "user_id")))],
)
def update_user(
    user_id: UserIdPath,
    body: UserPatchIn,
    _: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> UserOut:
    """Set `kyc_status`, `frozen` or `age_verified` (omitted fields keep their value); 404 for
    a user the platform never created. Freezing takes effect at once: the user's lives are no
    longer eligible for gifts and they can send none."""
    return service.update(ctx, user_id, body)
