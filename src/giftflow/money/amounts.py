"""Integer amounts in an asset's minor unit: display formatting and exact input parsing.

Amounts are Python ``int`` end to end. ``Decimal`` appears only here, to read a human-written
amount ("416.50") and refuse one with more precision than the asset has.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from giftflow.errors import InvalidAmount
from giftflow.money.assets import Asset


def format_amount(amount: int, asset: Asset) -> str:
    """``41650`` DIAMOND → ``"416.50"``; ``84`` USD → ``"0.84"``; ``70`` COIN → ``"70"``."""
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**asset.scale)
    return f"{sign}{whole}.{frac:0{asset.scale}d}" if asset.scale else f"{sign}{whole}"


def parse_amount(text: str, asset: Asset) -> int:
    """``"416.50"`` DIAMOND → ``41650``. Refuses more decimals than the asset's scale."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise InvalidAmount(f"{text!r} is not a number.", amount=str(text)) from None
    if not value.is_finite():
        raise InvalidAmount(f"{text!r} is not a finite amount.", amount=text)
    scaled = value.scaleb(asset.scale)
    if scaled != scaled.to_integral_value():
        raise InvalidAmount(
            f"{asset.code} has {asset.scale} decimal places; {text!r} has more.", amount=text
        )
    return int(scaled)
