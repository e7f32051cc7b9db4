"""Guardian links: created by the platform, governed by the guardian."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from giftflow.auth.deps import require_scope, require_user
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.ids import parse_id
from giftflow.wallet.guardians import service
from giftflow.wallet.guardians.schemas import LinkIn, LinkOut, LinkRulesIn, LinksOut

router = APIRouter(prefix="/v1/guardians", tags=["guardians"])


@router.post("/links", response_model=LinkOut, status_code=201)
def create_link(
    body: LinkIn,
    response: Response,
    _: Principal = Depends(require_scope("platform")),
    ctx: AppContext = Depends(get_context),
) -> LinkOut:
    """Link a guardian to a minor or to a user who opted in (platform scope); 200 if it exists."""
    link, created = service.create(ctx, body)
    response.status_code = 201 if created else 200
    return link


@router.put("/links/{link_id}", response_model=LinkOut)
def update_link(
    link_id: str,
    body: LinkRulesIn,
    principal: Principal = Depends(require_user),
    ctx: AppContext = Depends(get_context),
) -> LinkOut:
    """The guardian turns the ward's purchases off or on, or sets a lower daily cap."""
    return service.update(ctx, parse_id(link_id), principal.require_user(), body)


@router.get("/links", response_model=LinksOut)
def my_links(
    principal: Principal = Depends(require_user), ctx: AppContext = Depends(get_context)
) -> LinksOut:
    """Links where the caller is the guardian or the ward."""
    return LinksOut(data=service.links_of(ctx, principal.require_user()))
