"""What a route declares about its admin action: ``Depends(audited(action, target, before))``.

The dependency runs before the route (FastAPI solves a route's ``dependencies`` first). For an
admin caller it stores an ``AuditIntent`` in the request's ASGI scope: the action and target
with the path parameters filled in, the principal, and the resource as the ``before`` loader
read it. The audit middleware finds it there once the response is complete. For anyone else it
does nothing: the route's own ``require_scope`` refuses them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine

from giftflow.auth.deps import get_principal
from giftflow.auth.principal import Principal
from giftflow.context import AppContext, get_context

log = logging.getLogger("giftflow.audit")

BeforeLoader = Callable[[Connection, dict[str, str]], Any]
"""Reads the resource as it is before the action: (connection, path parameters) → JSON-able."""

SCOPE_KEY = "giftflow.audit"
"""Where the intent waits in the request's ASGI scope."""

ADMIN_SCOPE = "admin"


def is_admin(principal: Principal) -> bool:
    """An API key with the admin scope, or an admin console session (which speaks as one)."""
    return principal.kind == "api_key" and ADMIN_SCOPE in principal.scopes


@dataclass(slots=True)
class AuditIntent:
    principal: Principal
    action: str | None = None
    target: str | None = None
    before: Any = None


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, params: dict[str, Any]) -> str:
    """``withdrawal:{withdrawal_id}`` with the request's path parameters; a name the route
    does not have is left as it is."""
    try:
        return template.format_map(_Params({k: str(v) for k, v in params.items()}))
    except (ValueError, IndexError):  # a brace that is not a field: keep the text
        return template


def load_before(engine: Engine, loader: BeforeLoader, params: dict[str, str]) -> Any:
    """Run a route's loader on a reader connection; a loader that fails costs the row its
    ``before``, never the request."""
    try:
        with engine.connect() as conn:
            return loader(conn, params)
    except Exception:
        log.exception("audit: the before-loader of %s failed", params)
        return None


def audited(
    action: str, target: str | None = None, before: BeforeLoader | None = None
) -> Callable[..., Coroutine[Any, Any, None]]:
    """A FastAPI dependency naming an admin action: ``action`` like ``withdrawal.approve``,
    ``target`` a template over the path parameters like ``withdrawal:{withdrawal_id}`` (both
    may name path parameters), and ``before`` a loader of the resource's state before the
    action. Use it as ``dependencies=[Depends(audited(...))]``."""

    async def dependency(
        request: Request,
        principal: Principal = Depends(get_principal),
        ctx: AppContext = Depends(get_context),
    ) -> None:
        if not is_admin(principal):
            return
        params = dict(request.path_params)
        intent = AuditIntent(
            principal,
            action=fill(action, params),
            target=fill(target, params) if target is not None else None,
        )
        if before is not None:
            intent.before = await asyncio.to_thread(load_before, ctx.engine, before, params)
        request.scope[SCOPE_KEY] = intent

    return dependency


def audit_target(request: Request, target: str) -> None:
    """Name the target once the route knows it (a create whose id the body chose): the row
    written for this request carries it. Does nothing when the request is not audited."""
    intent = request.scope.get(SCOPE_KEY)
    if isinstance(intent, AuditIntent):
        intent.target = target
