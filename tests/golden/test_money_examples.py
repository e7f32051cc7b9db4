"""SPEC §10 worked examples at the money/policy level, with the numbers written out."""

from __future__ import annotations

from giftflow.money.amounts import format_amount
from giftflow.money.assets import DIAMOND
from giftflow.money.policy import load_profile


def test_example_1_seed_002_pack_price() -> None:
    assert load_profile("seed-002").price_coins("US", "app", "USD", 70) == 84


def test_example_2_seed_002_custom_amount_gift_and_cashout() -> None:
    policy = load_profile("seed-002")
    assert policy.price_coins("US", "app", "USD", 833) == 1000  # 833 × 84/70 = 999.6 → $10.00
    diamonds = policy.gift_diamonds(833)
    assert format_amount(diamonds, DIAMOND) == "416.50"
    paid = policy.cash_out(diamonds)
    assert paid.fiat_minor == 208  # $2.08
    assert format_amount(paid.remainder, DIAMOND) == "0.50"


def test_example_3_seed_000_cashout_fee() -> None:
    policy = load_profile("seed-000")
    small = policy.cash_out(100_00)  # 100 diamonds
    assert (small.gross_minor, small.fee_minor, small.fiat_minor) == (50, 25, 25)
    large = policy.cash_out(10_000_00)  # 10,000 diamonds
    assert (large.gross_minor, large.fiat_minor) == (5000, 2500)  # worth $50, pays $25


def test_example_6_gift_prices_in_diamonds() -> None:
    policy = load_profile("seed-002")
    assert format_amount(policy.gift_diamonds(5), DIAMOND) == "2.50"  # Panda


def test_example_8_standard_exchange() -> None:
    policy = load_profile("standard")
    twelve = policy.exchange_diamonds(12_00)
    assert (twelve.coins, twelve.remainder) == (5, 0)
    thirteen = policy.exchange_diamonds(13_00)
    assert (thirteen.coins, thirteen.debited, thirteen.remainder) == (5, 12_00, 1_00)
