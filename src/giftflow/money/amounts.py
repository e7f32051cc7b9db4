"""Integer amounts in an asset's minor unit: display formatting and exact input parsing.

Amounts are Python ``int`` end to end. ``Decimal`` appears only here, to read a human-written
amount ("416.50") and refuse one with more precision than the asset has.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from giftflow.errors import InvalidAmount
from giftflow.money.assets import Asset, get_asset

# The largest amount of any asset, in its minor unit, that one posting may move and that one
# balance row may hold (either sign): 10^14 coins, hundredths of a diamond, cents, yen or fils.
# It is far below BIGINT (2^63) so no sum the ledger forms overflows, and every total an API
# shows (a wallet's few accounts, a platform account's 16 shards) stays below 2^53, the largest
# integer a JSON client reading numbers as doubles gets exactly.
MAX_AMOUNT = 10**14


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


def amount_view(asset_code: str, amount: int) -> dict[str, Any]:
    """The JSON shape of an amount: integer minor units, the asset, and a display string."""
    unit = get_asset(asset_code)
    return {"asset": asset_code, "amount": amount, "display": format_amount(amount, unit)}
