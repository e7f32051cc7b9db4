"""The audit log of admin actions: who, what, when, before and after (append-only table).

A route declares what it does with ``Depends(audited(action, target, before))``; the audit
middleware writes one row per admin request that changes something, with the response as
``after``. Requests that declare nothing are still written (action = method and route).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

BeforeLoader = Callable[[Connection, dict[str, str]], Any]
"""Reads the resource as it is before the action: (connection, path parameters) → JSON-able."""


def audited(action: str, target: str | None = None, before: BeforeLoader | None = None) -> Any:
    """A FastAPI dependency naming an admin action: ``action`` like ``withdrawal.approve``,
    ``target`` a template over the path parameters like ``withdrawal:{withdrawal_id}``, and
    ``before`` a loader of the resource's state before the action (placeholder until the
    audit log lands: names the action and does nothing else)."""

    async def dependency() -> None:
        return None

    return dependency


def install_audit(app: Any) -> None:
    """Install the middleware that writes the audit log (placeholder until it lands)."""
