"""Reconcile from the API and on a schedule (being built)."""

from __future__ import annotations

from giftflow.context import AppContext


async def reconcile_if_due(ctx: AppContext) -> None:
    """Run the daily reconcile when the last one is a day old (or there is none)."""
