"""Fraud signals (being built)."""

from __future__ import annotations

from giftflow.context import AppContext


async def scan_for_fraud(ctx: AppContext) -> int:
    """Run the detectors over what happened since the last scan; returns new flags."""
    return 0
