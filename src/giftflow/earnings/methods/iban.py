"""IBAN checks (ISO 13616), pure: the country's length and the mod-97 check digits.

``normalise`` drops spaces (and the other whitespace people paste), upper-cases, then checks the
shape (two letters, two digits, up to 30 letters or digits), the length registered for the
country, and that the number read as ``BBAN + country + check digits`` (letters as 10..35) leaves
1 when divided by 97. The BBAN's own national format is not checked: the bank refuses what the
check digits let through.
"""

from __future__ import annotations

import re

# Lengths from the SWIFT IBAN registry (countries with a registered IBAN format).
LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}")
_WHITESPACE = re.compile(r"\s+")


class InvalidIban(ValueError):
    """Why a string is not an IBAN (the message says it; pydantic shows it as a 422)."""


def mod97(iban: str) -> int:
    """The remainder of the IBAN, rearranged and read as a number, modulo 97 (1 if valid)."""
    rearranged = iban[4:] + iban[:4]
    remainder = 0
    for char in rearranged:
        digits = str(int(char, 36))  # "0".."9" → 0..9, "A".."Z" → 10..35
        for d in digits:
            remainder = (remainder * 10 + int(d)) % 97
    return remainder


def normalise(value: str) -> str:
    """The IBAN in electronic form (``DE89370400440532013000``), or ``InvalidIban``."""
    iban = _WHITESPACE.sub("", value).upper()
    if not _SHAPE.fullmatch(iban):
        raise InvalidIban(
            "not an IBAN: two letters, two check digits, then up to 30 letters or digits"
        )
    country = iban[:2]
    expected = LENGTHS.get(country)
    if expected is None:
        raise InvalidIban(f"no IBAN format is registered for country {country}")
    if len(iban) != expected:
        raise InvalidIban(f"an IBAN of {country} has {expected} characters, not {len(iban)}")
    if mod97(iban) != 1:
        raise InvalidIban("the check digits do not match (a typo?)")
    return iban


def is_valid(value: str) -> bool:
    try:
        normalise(value)
    except InvalidIban:
        return False
    return True


def grouped(iban: str) -> str:
    """The print form: groups of four (``DE89 3704 0044 0532 0130 00``)."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def mask(iban: str) -> str:
    """Country and check digits and the last four characters; the rest starred, in the print
    form (``DE89 **** **** **** **30 00``)."""
    hidden = iban[:4] + "*" * (len(iban) - 8) + iban[-4:]
    return grouped(hidden)
