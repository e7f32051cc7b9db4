"""Assets and their scales: COIN (whole), DIAMOND (hundredths) and ISO 4217 fiat currencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from giftflow.errors import UnknownAsset


@dataclass(frozen=True, slots=True)
class Asset:
    code: str
    scale: int  # decimal digits of the minor unit
    kind: Literal["coin", "diamond", "fiat"]


COIN = Asset("COIN", 0, "coin")
DIAMOND = Asset("DIAMOND", 2, "diamond")

_FIAT_SCALES = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "BHD": 3,
    "JOD": 3,
    "OMR": 3,
    "TND": 3,
    "CLP": 0,
    "ISK": 0,
    "VND": 0,
    "IDR": 2,
    "INR": 2,
    "BRL": 2,
    "MXN": 2,
    "CAD": 2,
    "AUD": 2,
    "CHF": 2,
    "CNY": 2,
}

ASSETS: dict[str, Asset] = {
    COIN.code: COIN,
    DIAMOND.code: DIAMOND,
    **{code: Asset(code, scale, "fiat") for code, scale in _FIAT_SCALES.items()},
}


def get_asset(code: str) -> Asset:
    try:
        return ASSETS[code]
    except KeyError:
        raise UnknownAsset(f"Unknown asset {code!r}.", asset=code) from None
