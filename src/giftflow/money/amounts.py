"""Formatting integer minor units for display."""

from __future__ import annotations

from giftflow.money.assets import Asset


def format_amount(amount: int, asset: Asset) -> str:
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**asset.scale)
    return f"{sign}{whole}.{frac:0{asset.scale}d}" if asset.scale else f"{sign}{whole}"
