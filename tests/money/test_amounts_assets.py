"""Assets, display strings and parsing: integers in, integers out, no float anywhere."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from giftflow.errors import InvalidAmount, UnknownAsset
from giftflow.money.amounts import format_amount, parse_amount
from giftflow.money.assets import COIN, DIAMOND, get_asset


@pytest.mark.parametrize(
    ("amount", "code", "shown"),
    [
        (41650, "DIAMOND", "416.50"),
        (50, "DIAMOND", "0.50"),
        (84, "USD", "0.84"),
        (70, "COIN", "70"),
        (500, "JPY", "500"),
        (1234, "KWD", "1.234"),
        (-125, "USD", "-1.25"),
        (0, "DIAMOND", "0.00"),
    ],
)
def test_format(amount: int, code: str, shown: str) -> None:
    assert format_amount(amount, get_asset(code)) == shown


def test_scales_are_constants_of_the_asset() -> None:
    assert (COIN.scale, DIAMOND.scale) == (0, 2)
    assert (get_asset("USD").scale, get_asset("JPY").scale, get_asset("KWD").scale) == (2, 0, 3)
    with pytest.raises(UnknownAsset):
        get_asset("XYZ")


@pytest.mark.parametrize(
    ("text", "code", "value"),
    [
        ("416.50", "DIAMOND", 41650),
        ("0.5", "DIAMOND", 50),
        ("4.20", "USD", 420),
        ("70", "COIN", 70),
    ],
)
def test_parse(text: str, code: str, value: int) -> None:
    assert parse_amount(text, get_asset(code)) == value


@pytest.mark.parametrize(
    ("text", "code"),
    [("0.005", "USD"), ("1.5", "COIN"), ("abc", "USD"), ("NaN", "USD"), ("inf", "DIAMOND")],
)
def test_parse_refuses_what_the_asset_cannot_hold(text: str, code: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(text, get_asset(code))


@given(
    st.integers(min_value=-(10**15), max_value=10**15),
    st.sampled_from(["COIN", "DIAMOND", "USD", "KWD"]),
)
def test_format_then_parse_round_trips(amount: int, code: str) -> None:
    asset = get_asset(code)
    assert parse_amount(format_amount(amount, asset), asset) == amount
