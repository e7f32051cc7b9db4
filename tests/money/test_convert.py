"""Exact conversions: what is converted plus what remains is always what there was."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from giftflow.errors import InvalidAmount
from giftflow.money import convert

positive = st.integers(min_value=1, max_value=10_000)


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10_000))
def test_fee_plus_net_is_gross(gross: int, bps: int) -> None:
    fee, net = convert.apply_fee(gross, bps)
    assert fee + net == gross
    assert fee * 10_000 <= gross * bps < (fee + 1) * 10_000  # rounded down, by less than 1 unit


@given(st.integers(min_value=0, max_value=10**12), positive, positive)
def test_cashout_debits_only_whole_minor_units(hundredths: int, fiat: int, per: int) -> None:
    c = convert.cashout(hundredths, fiat, per)
    assert c.debited + c.remainder == hundredths
    assert c.gross_minor * per == c.debited * fiat  # exactly the rate, no rounding
    assert convert.cashout(c.remainder, fiat, per).gross_minor == 0  # nothing convertible left


@given(st.integers(min_value=0, max_value=10**12), positive, positive)
def test_exchange_in_whole_multiples(hundredths: int, ratio_h: int, ratio_c: int) -> None:
    e = convert.exchange_diamonds(hundredths, ratio_h, ratio_c)
    assert e.debited + e.remainder == hundredths
    assert e.remainder < ratio_h and e.debited % ratio_h == 0
    assert e.coins * ratio_h == e.debited * ratio_c


@given(st.integers(min_value=0, max_value=10**9), positive, positive)
def test_custom_price_rounds_up_by_less_than_one_unit(coins: int, price: int, per: int) -> None:
    p = convert.price_custom_amount(coins, price, per)
    assert (p - 1) * per < coins * price <= p * per


def test_gift_share_is_exact_in_hundredths() -> None:
    assert convert.gift_diamonds(1, 50) == 50  # a Rose: 0.50 diamond
    assert convert.gift_diamonds(34_999, 50) == 1_749_950


@pytest.mark.parametrize(
    "call",
    [
        lambda: convert.gift_diamonds(-1, 50),
        lambda: convert.gift_diamonds(1, 101),
        lambda: convert.apply_fee(100, 10_001),
        lambda: convert.cashout(100, 0, 200),
        lambda: convert.exchange_diamonds(100, 0, 5),
    ],
)
def test_bad_inputs_are_refused(call: object) -> None:
    with pytest.raises(InvalidAmount):
        call()  # type: ignore[operator]
