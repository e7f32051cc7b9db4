"""Exact conversions between assets. Each divides exactly or leaves the remainder with its owner.

- gift: ``coins × share_percent`` hundredths of a diamond (exact at whole percents);
- cash-out: only the largest amount of diamonds that converts to whole fiat minor units is
  debited, the rest stays with the creator;
- fees: basis points, rounded down in the payer's favour, so ``gross == fee + net``;
- exchange: whole multiples of the ratio only;
- custom coin amounts: priced at the channel's exact unit rate, rounded *up* to the minor unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from giftflow.errors import InvalidAmount


def _non_negative(name: str, value: int) -> None:
    if type(value) is not int or value < 0:
        raise InvalidAmount(f"{name} must be a non-negative integer.", **{name: value})


@dataclass(frozen=True, slots=True)
class Cashout:
    fiat_minor: int  # what the creator is paid (after any fee)
    gross_minor: int  # what the debited diamonds are worth
    fee_minor: int
    debited: int  # hundredths of a diamond taken from the balance
    remainder: int  # hundredths left in the balance


@dataclass(frozen=True, slots=True)
class Exchange:
    coins: int
    debited: int  # hundredths of a diamond
    remainder: int


def gift_diamonds(coins: int, share_percent: int) -> int:
    """Hundredths of a diamond a creator earns for ``coins`` at a whole-percent share."""
    _non_negative("coins", coins)
    if type(share_percent) is not int or not 0 <= share_percent <= 100:
        raise InvalidAmount("share_percent is a whole percent from 0 to 100.")
    return coins * share_percent


def apply_fee(gross: int, fee_bps: int) -> tuple[int, int]:
    """(fee, net) with the fee rounded down: the payer keeps any fraction."""
    _non_negative("gross", gross)
    if type(fee_bps) is not int or not 0 <= fee_bps <= 10_000:
        raise InvalidAmount("fee_bps is 0 to 10,000 basis points.")
    fee = gross * fee_bps // 10_000
    return fee, gross - fee


def cashout(hundredths: int, fiat_minor: int, per_hundredths: int, fee_bps: int = 0) -> Cashout:
    """Convert diamonds at ``fiat_minor`` per ``per_hundredths`` hundredths of a diamond."""
    _non_negative("hundredths", hundredths)
    if fiat_minor <= 0 or per_hundredths <= 0:
        raise InvalidAmount("A cash-out rate needs positive terms.")
    # The smallest block of diamonds that is worth a whole number of minor units.
    from math import gcd

    g = gcd(fiat_minor, per_hundredths)
    block, block_value = per_hundredths // g, fiat_minor // g
    blocks = hundredths // block
    gross = blocks * block_value
    fee, net = apply_fee(gross, fee_bps)
    debited = blocks * block
    return Cashout(net, gross, fee, debited, hundredths - debited)


def exchange_diamonds(hundredths: int, ratio_hundredths: int, ratio_coins: int) -> Exchange:
    """Diamonds → coins in whole multiples of ``ratio_hundredths → ratio_coins``."""
    _non_negative("hundredths", hundredths)
    if ratio_hundredths <= 0 or ratio_coins <= 0:
        raise InvalidAmount("An exchange ratio needs positive terms.")
    multiples = hundredths // ratio_hundredths
    debited = multiples * ratio_hundredths
    return Exchange(multiples * ratio_coins, debited, hundredths - debited)


def price_custom_amount(coins: int, price_minor: int, per_coins: int) -> int:
    """Price of ``coins`` at ``price_minor`` per ``per_coins``, rounded up to the minor unit."""
    _non_negative("coins", coins)
    if price_minor <= 0 or per_coins <= 0:
        raise InvalidAmount("A unit rate needs positive terms.")
    return -(-coins * price_minor // per_coins)
