"""Guardian links: the platform links a guardian to a minor (or to a user who opts in); the
guardian may then turn the ward's purchases off or set a daily cap lower than the policy's.
Purchases check these rules (``wallet.purchases.service.check_buyer``)."""

from __future__ import annotations

from typing import Any

from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.db import unit_of_work
from giftflow.errors import NotFound, UserNotFound, ValidationFailed
from giftflow.wallet.guardians import repository
from giftflow.wallet.guardians.schemas import LinkIn, LinkOut, LinkRulesIn
from giftflow.wallet.purchases.repository import profile


def link_out(row: dict[str, Any]) -> LinkOut:
    return LinkOut(
        id=str(row["id"]),
        guardian_id=row["guardian_id"],
        ward_id=row["ward_id"],
        purchases_enabled=bool(row["purchases_enabled"]),
        daily_cap_coins=row["daily_cap_coins"],
        created_at=rfc3339(row["created_at"]),
        updated_at=rfc3339(row["updated_at"]),
    )


def create(ctx: AppContext, body: LinkIn) -> tuple[LinkOut, bool]:
    """Create the link (or return the existing one); both users must exist."""
    if body.guardian_id == body.ward_id:
        raise ValidationFailed("A user cannot be their own guardian.")
    with unit_of_work(ctx.engine) as conn:
        missing = [u for u in (body.guardian_id, body.ward_id) if profile(conn, u) is None]
        if missing:
            raise UserNotFound(f"No user {missing[0]!r}.", users=missing)
        existing = repository.find_link(conn, body.guardian_id, body.ward_id)
        if existing is not None:
            return link_out(existing), False
        link_id = repository.create_link(conn, body.guardian_id, body.ward_id, ctx.clock.now())
        row = repository.get_link(conn, link_id)
    assert row is not None
    return link_out(row), True


def update(ctx: AppContext, link_id: int, guardian_id: str, body: LinkRulesIn) -> LinkOut:
    """Only the link's guardian may change its rules; anyone else gets 404 (no leak)."""
    fields = body.model_dump(exclude_unset=True)
    if fields.get("purchases_enabled", True) is None:
        raise ValidationFailed("purchases_enabled cannot be null.")
    with unit_of_work(ctx.engine) as conn:
        row = repository.get_link(conn, link_id)
        if row is None or row["guardian_id"] != guardian_id:
            raise NotFound("No such guardian link.", id=str(link_id))
        repository.update_link(conn, link_id, fields, ctx.clock.now())
        row = repository.get_link(conn, link_id)
    assert row is not None
    return link_out(row)


def links_of(ctx: AppContext, user_id: str) -> list[LinkOut]:
    """Links where the user is the guardian or the ward."""
    with ctx.engine.connect() as conn:
        rows = repository.links_of_user(conn, user_id)
    return [link_out(r) for r in rows]
