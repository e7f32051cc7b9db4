"""The pure quote: pack and custom prices, store fees and bonuses, to the exact minor unit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from giftflow.errors import GiftflowError, InvalidAmount, NoPriceList, UnknownPack
from giftflow.money.policy import Policy, load_profile, parse_policy
from giftflow.wallet.store.service import (
    Quote,
    bonus,
    default_currency,
    find_price_list,
    pack_quotes,
    quote,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LAUNCH_START = datetime(2026, 1, 5, tzinfo=UTC)
LAUNCH_END = datetime(2026, 1, 12, tzinfo=UTC)


def changed(name: str, change: dict[str, Any] | None = None, **lists: dict[str, Any]) -> Policy:
    """A profile with top-level fields replaced and price lists (``p0=``, ``p1=``…) updated."""
    data = json.loads(load_profile(name).model_dump_json())
    data.update(change or {})
    for key, fields in lists.items():
        data["prices"][int(key[1:])].update(fields)
    return parse_policy(json.dumps(data))


def promo() -> Policy:
    """standard with a 10% first-purchase bonus and two campaigns (20% and 5%)."""
    return changed(
        "standard",
        {
            "bonuses": {
                "first_purchase_percent": 10,
                "campaigns": [
                    {
                        "id": "launch-week",
                        "starts_at": LAUNCH_START.isoformat(),
                        "ends_at": LAUNCH_END.isoformat(),
                        "bonus_percent": 20,
                    },
                    {
                        "id": "new-year",
                        "starts_at": "2025-12-31T00:00:00Z",
                        "ends_at": "2026-01-08T00:00:00Z",
                        "bonus_percent": 5,
                    },
                ],
            }
        },
    )


def q(
    policy: Policy,
    coins: int,
    *,
    region: str = "US",
    channel: str = "app",
    currency: str = "USD",
    custom: bool = False,
    first_purchase: bool = False,
    now: datetime = NOW,
) -> Quote:
    return quote(
        policy,
        region=region,
        channel=channel,
        currency=currency,
        coins=coins,
        custom=custom,
        first_purchase=first_purchase,
        now=now,
    )


def refused(error: GiftflowError) -> tuple[int, str]:
    return error.status, error.code


# --- SPEC §10 -----------------------------------------------------------------------------------
def test_example_1_the_70_coin_app_pack_costs_84_cents_under_seed_002() -> None:
    assert q(load_profile("seed-002"), 70) == Quote(
        region="US",
        channel="app",
        currency="USD",
        coins=70,
        bonus_coins=0,
        price_minor=84,
        store_fee_minor=0,  # seed 002's list records no store fee
        pack=True,
        policy_version="seed-002@1",
        bonus_reasons=(),
    )


def test_example_2_833_custom_coins_cost_1000_cents_under_seed_002() -> None:
    got = q(load_profile("seed-002"), 833, custom=True)
    assert (got.price_minor, got.coins, got.pack, got.bonus_coins) == (1000, 833, False, 0)


# --- custom amounts: rounded up, never down -----------------------------------------------------
@pytest.mark.parametrize(
    ("coins", "cents"),
    [(1, 2), (70, 84), (71, 86), (140, 168), (833, 1000), (1_000_000, 1_200_000)],
)
def test_custom_amounts_round_up_to_the_cent(coins: int, cents: int) -> None:
    # 1 coin = 1.2 ¢ → 2; 71 coins = 85.2 ¢ → 86; exact multiples of 70 are not rounded
    assert q(load_profile("standard"), coins, custom=True).price_minor == cents


@given(st.integers(min_value=1, max_value=1_000_000))
def test_a_custom_price_is_the_smallest_that_covers_the_coins(coins: int) -> None:
    price = q(load_profile("standard"), coins, custom=True).price_minor
    assert price * 70 >= coins * 84 > (price - 1) * 70


def test_a_custom_amount_of_a_pack_size_costs_the_same_as_the_pack() -> None:
    policy = load_profile("standard")
    pack, custom = q(policy, 350), q(policy, 350, custom=True)
    assert (pack.price_minor, custom.price_minor) == (420, 420)
    assert (pack.pack, custom.pack) == (True, False)


# --- store fees ---------------------------------------------------------------------------------
def test_the_app_store_fee_is_rounded_down_and_the_web_has_none() -> None:
    policy = load_profile("standard")
    assert q(policy, 70).store_fee_minor == 25  # 30% of 84 = 25.2 → 25
    assert q(policy, 17_500).store_fee_minor == 6300  # 30% of 21,000 exactly
    assert q(policy, 71, custom=True).store_fee_minor == 25  # 30% of 86 = 25.8 → 25
    assert q(policy, 1, custom=True).store_fee_minor == 0  # 30% of 2 = 0.6 → 0
    web = q(policy, 70, channel="web")
    assert (web.price_minor, web.store_fee_minor) == (84, 0)


# --- yen and dinars -----------------------------------------------------------------------------
def jpy(coins: int, *, channel: str = "app", custom: bool = False) -> Quote:
    return q(
        load_profile("standard"), coins, region="JP", currency="JPY", channel=channel, custom=custom
    )


def kwd(coins: int, *, channel: str = "app", custom: bool = False) -> Quote:
    return q(
        load_profile("standard"), coins, region="KW", currency="KWD", channel=channel, custom=custom
    )


def price_and_fee(got: Quote) -> tuple[str, int, int]:
    return got.currency, got.price_minor, got.store_fee_minor


def test_yen_have_no_minor_unit() -> None:
    assert price_and_fee(jpy(70)) == ("JPY", 160, 48)  # ¥160, 30% fee exact
    assert price_and_fee(jpy(17_500)) == ("JPY", 40_000, 12_000)
    # 100 × 160 / 70 = 228.57… → ¥229; 30% of 229 = 68.7 → 68
    assert price_and_fee(jpy(100, custom=True)) == ("JPY", 229, 68)
    assert price_and_fee(jpy(1, custom=True)) == ("JPY", 3, 0)  # ¥2.29 → ¥3; 0.9 → 0
    assert price_and_fee(jpy(833, custom=True)) == ("JPY", 1904, 571)  # exact; 571.2 → 571
    assert price_and_fee(jpy(833, channel="web", custom=True)) == ("JPY", 1666, 0)  # ¥2 a coin
    assert price_and_fee(jpy(350, channel="web")) == ("JPY", 700, 0)


def test_dinars_are_counted_in_fils() -> None:
    assert price_and_fee(kwd(70)) == ("KWD", 260, 78)  # 0.260 KWD, 30% fee exact
    assert price_and_fee(kwd(1400)) == ("KWD", 5200, 1560)
    # 71 × 260 / 70 = 263.71… → 264 fils; 30% of 264 = 79.2 → 79
    assert price_and_fee(kwd(71, custom=True)) == ("KWD", 264, 79)
    assert price_and_fee(kwd(1, custom=True)) == ("KWD", 4, 1)  # 3.71… → 4 fils; 1.2 → 1
    assert price_and_fee(kwd(350, channel="web")) == ("KWD", 1150, 0)
    assert price_and_fee(kwd(1000, channel="web", custom=True)) == ("KWD", 3286, 0)  # 3285.71… ↑


def test_a_region_falls_back_to_the_star_lists_and_defaults_to_its_own_currency() -> None:
    policy = load_profile("standard")
    usd_in_japan = q(policy, 70, region="JP")  # no JP list in USD: the * one
    assert (usd_in_japan.region, usd_in_japan.price_minor) == ("JP", 84)
    assert find_price_list(policy, "JP", "app", "USD").region == "*"
    assert find_price_list(policy, "JP", "app", "JPY").region == "JP"
    assert default_currency(policy, "JP", "app") == "JPY"
    assert default_currency(policy, "KW", "web") == "KWD"
    assert default_currency(policy, "US", "app") == "USD"
    assert default_currency(policy, "*", "web") == "USD"


# --- bonuses ------------------------------------------------------------------------------------
def test_first_purchase_bonus_is_a_percent_rounded_down() -> None:
    policy = promo()
    first = q(policy, 70, first_purchase=True)  # 31 Dec–8 Jan "new-year" runs at NOW: +5%
    assert (first.bonus_coins, first.bonus_reasons) == (
        7 + 3,
        ("first_purchase", "campaign:new-year"),
    )
    assert q(policy, 75, custom=True, first_purchase=True).bonus_coins == 7 + 3  # 7.5 → 7, 3.75 → 3
    later = q(policy, 70, first_purchase=False)
    assert (later.bonus_coins, later.bonus_reasons) == (3, ("campaign:new-year",))
    # the bonus never changes the price
    assert (first.price_minor, later.price_minor) == (84, 84)


def test_campaigns_run_from_their_start_included_to_their_end_excluded() -> None:
    policy = promo()
    at_start = q(policy, 700, now=LAUNCH_START)  # both campaigns run: 20% + 5%
    assert (at_start.bonus_coins, at_start.bonus_reasons) == (
        175,
        ("campaign:launch-week", "campaign:new-year"),
    )
    before = q(policy, 700, now=LAUNCH_START - timedelta(microseconds=1))
    assert before.bonus_reasons == ("campaign:new-year",) and before.bonus_coins == 35
    last = q(policy, 700, now=LAUNCH_END - timedelta(microseconds=1))
    assert (last.bonus_coins, last.bonus_reasons) == (140, ("campaign:launch-week",))
    ended = q(policy, 700, now=LAUNCH_END)
    assert (ended.bonus_coins, ended.bonus_reasons) == (0, ())
    everything = q(policy, 700, now=LAUNCH_START, first_purchase=True)
    assert everything.bonus_coins == 70 + 140 + 35


def test_each_bonus_part_is_rounded_down_on_its_own() -> None:
    policy = promo()
    # 9 coins at 10% = 0.9 → 0, at 20% = 1.8 → 1, at 5% = 0.45 → 0: one coin, one reason
    assert bonus(policy, 9, first_purchase=True, now=LAUNCH_START) == (1, ("campaign:launch-week",))
    assert bonus(policy, 1, first_purchase=True, now=LAUNCH_START) == (0, ())


def test_no_bonus_rules_means_no_bonus() -> None:
    got = q(load_profile("standard"), 17_500, first_purchase=True)
    assert (got.bonus_coins, got.bonus_reasons) == (0, ())


def test_pack_quotes_list_every_pack_with_its_bonus() -> None:
    packs = pack_quotes(
        promo(), region="KW", channel="app", currency="KWD", first_purchase=True, now=NOW
    )
    assert [(p.coins, p.price_minor, p.store_fee_minor, p.bonus_coins) for p in packs] == [
        (70, 260, 78, 7 + 3),
        (350, 1300, 390, 35 + 17),
        (700, 2600, 780, 70 + 35),
        (1400, 5200, 1560, 140 + 70),
        (3500, 13000, 3900, 350 + 175),
        (7000, 26000, 7800, 700 + 350),
        (17500, 65000, 19500, 1750 + 875),
    ]
    assert all(p.pack and p.policy_version == "standard@1" for p in packs)


# --- refusals -----------------------------------------------------------------------------------
def test_a_pack_size_that_is_not_listed_is_refused() -> None:
    with pytest.raises(UnknownPack) as caught:
        q(load_profile("standard"), 71)
    assert refused(caught.value) == (422, "unknown_pack")
    assert caught.value.details["packs"] == [70, 350, 700, 1400, 3500, 7000, 17500]


@pytest.mark.parametrize(
    ("profile", "region", "channel", "currency"),
    [
        ("standard", "US", "app", "EUR"),  # no list in that currency, here or in *
        ("standard", "JP", "web", "KWD"),  # KWD is Kuwait's, not Japan's
        ("seed-002", "JP", "app", "USD"),  # seed 002 lists only the US
        ("seed-002", "US", "web", "USD"),  # … and only in the app
    ],
)
def test_no_price_list(profile: str, region: str, channel: str, currency: str) -> None:
    policy = load_profile(profile)
    for custom in (False, True):
        with pytest.raises(NoPriceList) as caught:
            q(policy, 70, region=region, channel=channel, currency=currency, custom=custom)
        assert refused(caught.value) == (422, "no_price_list")
    with pytest.raises(NoPriceList):
        pack_quotes(
            policy, region=region, channel=channel, currency=currency, first_purchase=False, now=NOW
        )


def test_no_default_currency_without_a_list() -> None:
    with pytest.raises(NoPriceList):
        default_currency(load_profile("seed-002"), "JP", "app")


def test_custom_amounts_stay_within_the_lists_bounds() -> None:
    policy = changed("standard", p0={"custom_min_coins": 100, "custom_max_coins": 5000})
    assert q(policy, 100, custom=True).price_minor == 120
    assert q(policy, 5000, custom=True).price_minor == 6000
    for coins in (99, 5001):
        with pytest.raises(InvalidAmount) as caught:
            q(policy, coins, custom=True)
        assert refused(caught.value) == (422, "invalid_amount")
        assert caught.value.details == {
            "coins": coins,
            "custom_min_coins": 100,
            "custom_max_coins": 5000,
        }
    assert q(policy, 70).price_minor == 84  # a pack is not a custom amount: bounds do not apply
    assert q(policy, 70, channel="web", custom=True).price_minor == 84  # web keeps the defaults
    standard = load_profile("standard")
    assert q(standard, 1_000_000, custom=True).price_minor == 1_200_000
    with pytest.raises(InvalidAmount):
        q(standard, 1_000_001, custom=True)


@pytest.mark.parametrize("coins", [0, -70])
def test_coins_must_be_positive(coins: int) -> None:
    for custom in (False, True):
        with pytest.raises(InvalidAmount):
            q(load_profile("standard"), coins, custom=custom)
