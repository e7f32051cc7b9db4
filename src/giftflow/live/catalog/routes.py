"""The gift catalog: operators keep it, viewers' apps read what they may send now.

Admin (``admin`` API key): ``POST /v1/admin/gifts``, ``PUT /v1/admin/gifts/{id}``,
``GET /v1/admin/gifts``, ``DELETE /v1/admin/gifts/{id}`` (deactivates). Anyone authenticated:
``GET /v1/gifts`` (what the caller may send now) and ``GET /v1/gifts/{id}`` (one gift, sendable
or not).

The two viewer reads are conditional: each answer carries a strong ``ETag`` (a hash of the exact
body bytes) and ``Cache-Control: private, no-cache``; a request whose ``If-None-Match`` names it
(in a list, weak ``W/`` form, or ``*``) gets ``304`` with no body. The body holds everything the
answer depends on (the region, each listed gift's fields), so the tag changes whenever the
answer does: an operator's change, a window opening or closing, another region.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from giftflow.audit import audited
from giftflow.audit.loaders import row_of
from giftflow.auth.deps import get_principal, require_scope
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.errors import Forbidden
from giftflow.live.catalog import service
from giftflow.live.catalog.schemas import (
    REGION_CHARS,
    CatalogOut,
    GiftIn,
    GiftOut,
    GiftsOut,
    GiftUpdateIn,
    GiftViewOut,
)

router = APIRouter(prefix="/v1", tags=["gifts"])
admin = require_scope("admin")
GIFT = row_of("gifts", "gift_id")  # the audit log's "before"

CACHE_CONTROL = "private, no-cache"
REGION = Query(
    default=None,
    pattern=f"^{REGION_CHARS}$",
    description="API keys only: the viewer's region (ISO 3166-1 alpha-2). Without it, only the "
    "gifts offered everywhere. A user's region comes from their profile: a user token passing "
    "one is refused (403).",
)
IF_NONE_MATCH = Header(
    default=None,
    alias="If-None-Match",
    description="The `ETag` of an earlier answer (or a list of them, or `*`): `304` if unchanged.",
)
CONDITIONAL: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "ETag": {
                "description": "A strong tag of this exact body (changes when the answer does).",
                "required": True,
                "schema": {"type": "string"},
            },
            "Cache-Control": {
                "description": "`private, no-cache`: keep it, but revalidate before reuse.",
                "required": True,
                "schema": {"type": "string"},
            },
        }
    },
    304: {"description": "Not modified: `If-None-Match` names the current `ETag` (no body)."},
}
_TAG = re.compile(r'(?:W/)?("[^"]*")')


# --- conditional answers -----------------------------------------------------------------------
def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag``: weak comparison (RFC 9110 §13.1.2), so
    ``W/"x"`` matches ``"x"``; ``*`` matches any current answer."""
    if if_none_match is None:
        return False
    if any(part.strip() == "*" for part in if_none_match.split(",")):
        return True
    return etag in _TAG.findall(if_none_match)


def conditional(model: BaseModel, if_none_match: str | None) -> Response:
    """The JSON answer with its ``ETag``, or ``304`` (no body, same tag) if the caller has it."""
    response = JSONResponse(model.model_dump(mode="json"))
    etag = '"' + hashlib.sha256(response.body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Authorization"}
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return response


def _viewer(principal: Principal, region: str | None) -> dict[str, str | None]:
    """Whose region: a user's own (their profile), or the one an API key passes."""
    if principal.kind == "user":
        if region is not None:
            raise Forbidden("A user's region comes from their profile; only API keys pass one.")
        return {"user_id": principal.require_user(), "region": None}
    return {"user_id": None, "region": region}


# --- viewers -----------------------------------------------------------------------------------
@router.get("/gifts", response_model=CatalogOut, responses=CONDITIONAL)
def list_gifts(
    region: str | None = REGION,
    if_none_match: str | None = IF_NONE_MATCH,
    principal: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """The gifts the caller may send now: active, inside their window (server time), offered in
    the caller's region; by `sort`, then price. Conditional: send the `ETag` back in
    `If-None-Match` to get `304` while nothing changed."""
    return conditional(service.catalog(ctx, **_viewer(principal, region)), if_none_match)


@router.get("/gifts/{gift_id}", response_model=GiftViewOut, responses=CONDITIONAL)
def get_gift(
    gift_id: str,
    region: str | None = REGION,
    if_none_match: str | None = IF_NONE_MATCH,
    principal: Principal = Depends(get_principal),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """One gift, even one the caller cannot send now: `available`, and if not, why
    (`unavailable_reason`: `inactive`, `not_yet`, `ended` or `region`)."""
    viewer = _viewer(principal, region)
    return conditional(service.gift(ctx, service.check_gift_id(gift_id), **viewer), if_none_match)


# --- operators ---------------------------------------------------------------------------------
@router.post(
    "/admin/gifts",
    status_code=201,
    response_model=GiftOut,
    tags=["admin: gifts"],
    dependencies=[Depends(audited("gift.create"))],
)
def create_gift(
    body: GiftIn, _: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> GiftOut:
    """Add a gift to the catalog. An id already taken: 422 `validation_error` with
    `details.reason = "exists"` (change that gift with PUT instead)."""
    return service.create(ctx, body)


@router.put(
    "/admin/gifts/{gift_id}",
    response_model=GiftOut,
    tags=["admin: gifts"],
    dependencies=[Depends(audited("gift.update", "gift:{gift_id}", GIFT))],
)
def update_gift(
    gift_id: str,
    body: GiftUpdateIn,
    _: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> GiftOut:
    """Change any of a gift's fields but its id; omitted fields keep their value, `null`
    removes an image, a window edge or the region list. The window is checked as it will be
    stored: `available_from` before `available_until` (422 otherwise)."""
    return service.update(ctx, service.check_gift_id(gift_id), body)


@router.get("/admin/gifts", response_model=GiftsOut, tags=["admin: gifts"])
def list_all_gifts(
    _: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> GiftsOut:
    """Every gift, inactive ones and closed windows included, in catalog order."""
    return GiftsOut(data=service.all_gifts(ctx))


@router.delete(
    "/admin/gifts/{gift_id}",
    response_model=GiftOut,
    tags=["admin: gifts"],
    dependencies=[Depends(audited("gift.deactivate", "gift:{gift_id}", GIFT))],
)
def deactivate_gift(
    gift_id: str, _: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> GiftOut:
    """Withdraw a gift: it is deactivated, never deleted (gift transactions and room events
    name it); `{"active": true}` by PUT brings it back. Answers the gift."""
    return service.deactivate(ctx, service.check_gift_id(gift_id))
