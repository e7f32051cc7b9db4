"""Fraud flags for operators (scope ``admin``, or an admin console session).

``GET /v1/admin/flags?state=&kind=`` (newest first, ``limit``/``cursor``),
``GET /v1/admin/flags/{id}``, ``POST /v1/admin/flags/{id}/resolve`` (confirmed or dismissed,
with a note; a resolved flag is 409 ``flag_already_resolved``) and ``POST /v1/admin/flags/scan``
(run the detectors now). A flag is a signal for review: nothing here moves money or freezes
anyone. See docs/fraud.md.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Query

from giftflow.audit import audited
from giftflow.auth.deps import require_scope
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context
from giftflow.http.fields import ObjectIdPath
from giftflow.http.ids import parse_cursor, parse_id
from giftflow.operations.fraud import service
from giftflow.operations.fraud.schemas import (
    FlagKindName,
    FlagOut,
    FlagsPage,
    ResolveIn,
    ScanOut,
)

router = APIRouter(prefix="/v1/admin", tags=["admin: fraud flags"])
admin = require_scope("admin")
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such flag."}}


@router.get("/flags", response_model=FlagsPage)
def list_flags(
    state: str | None = Query(default=None, pattern="^(open|resolved)$"),
    kind: FlagKindName | None = Query(default=None, description="Only this kind of signal."),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=18),
    _admin: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> FlagsPage:
    """Fraud flags, newest first; ``state=open`` is the review queue."""
    return service.page(ctx, state=state, kind=kind, limit=limit, before=parse_cursor(cursor))


@router.post(
    "/flags/scan",
    response_model=ScanOut,
    dependencies=[Depends(audited("flag.scan", "flags"))],
)
async def scan_now(
    _admin: Principal = Depends(admin), ctx: AppContext = Depends(get_context)
) -> ScanOut:
    """Run the detectors now over what happened since the last scan (the maintenance loop
    also runs them every few minutes); answers how many new flags were raised. Safe to
    repeat: a signal already flagged is not flagged again."""
    return ScanOut(created=await service.scan_for_fraud(ctx))


@router.get("/flags/{flag_id}", response_model=FlagOut, responses=NOT_FOUND)
def get_flag(
    flag_id: ObjectIdPath,
    _admin: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> FlagOut:
    """One flag with its evidence."""
    return service.get_one(ctx, parse_id(flag_id))


@router.post(
    "/flags/{flag_id}/resolve",
    response_model=FlagOut,
    responses={
        **NOT_FOUND,
        409: {"description": "flag_already_resolved: the flag was resolved before."},
    },
    dependencies=[Depends(audited("flag.resolve", "flag:{flag_id}", before=service.flag_before))],
)
async def resolve_flag(
    flag_id: ObjectIdPath,
    body: ResolveIn,
    principal: Principal = Depends(admin),
    ctx: AppContext = Depends(get_context),
) -> FlagOut:
    """Close a flag as ``confirmed`` or ``dismissed`` with a note; who resolved it is recorded.
    Resolving moves nothing: act on a confirmed flag through the users, withdrawals and
    disputes endpoints."""
    return await asyncio.to_thread(service.resolve, ctx, parse_id(flag_id), body, principal.actor)
