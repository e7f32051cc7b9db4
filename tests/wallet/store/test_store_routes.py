"""GET /v1/coin-packs and /v1/coin-packs/quote over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from giftflow.db import make_engine, unit_of_work
from giftflow.schema import purchases
from tests.api.conftest import Api
from tests.api.test_auth_and_errors import error

from .conftest import LAUNCH_END, LAUNCH_START, PROMO_FROM

PACKS = "/v1/coin-packs"
QUOTE = "/v1/coin-packs/quote"


def regional_users(api: Api) -> None:
    for user_id, region in (("us", "US"), ("jp", "JP"), ("kw", "KW")):
        r = api.client.put(f"/v1/users/{user_id}", json={"region": region}, headers=api.platform())
        assert r.status_code == 201, r.text
    api.create_users("nowhere")  # no region: the * lists


def get(api: Api, path: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = api.client.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def first_pack(body: dict[str, Any]) -> tuple[Any, ...]:
    pack = body["packs"][0]
    return (
        pack["coins"],
        pack["price"]["asset"],
        pack["price"]["amount"],
        pack["price"]["display"],
        pack["store_fee"]["amount"],
        pack["store_fee"]["display"],
    )


def add_purchase(database_url: str, user_id: str, state: str) -> None:
    """A purchases row as the purchases feature would leave it (only its state matters here)."""
    engine = make_engine(database_url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            now = PROMO_FROM
            conn.execute(
                purchases.insert().values(
                    user_id=user_id,
                    channel="app",
                    provider="sandbox",
                    region="US",
                    currency="USD",
                    pack_coins=70,
                    coins=70,
                    price_minor=84,
                    policy_version="standard@2",
                    state=state,
                    created_at=now,
                    updated_at=now,
                    succeeded_at=now if state != "pending" else None,
                )
            )
    finally:
        engine.dispose()


def usd(amount: int, display: str) -> dict[str, Any]:
    return {"asset": "USD", "amount": amount, "display": display}


# --- who sees which list ------------------------------------------------------------------------
def test_a_us_user_sees_the_usd_packs(api: Api) -> None:
    regional_users(api)
    body = get(api, PACKS, api.user("us"), channel="app")
    assert body == {
        "object": "coin_packs",
        "region": "US",
        "price_list_region": "*",
        "channel": "app",
        "currency": "USD",
        "policy_version": "standard@1",
        "first_purchase": True,
        "packs": [
            {
                "coins": coins,
                "price": usd(cents, display),
                "bonus_coins": 0,
                "bonus_reasons": [],
                "store_fee": usd(fee, fee_display),
            }
            for coins, cents, display, fee, fee_display in [
                (70, 84, "0.84", 25, "0.25"),
                (350, 420, "4.20", 126, "1.26"),
                (700, 840, "8.40", 252, "2.52"),
                (1400, 1680, "16.80", 504, "5.04"),
                (3500, 4200, "42.00", 1260, "12.60"),
                (7000, 8400, "84.00", 2520, "25.20"),
                (17500, 21000, "210.00", 6300, "63.00"),
            ]
        ],
        "custom": {
            "unit_price": usd(84, "0.84"),
            "unit_coins": 70,
            "min_coins": 1,
            "max_coins": 1_000_000,
            "rounding": "up",
        },
    }
    web = get(api, PACKS, api.user("us"), channel="web")
    assert first_pack(web) == (70, "USD", 84, "0.84", 0, "0.00")


def test_a_jp_user_sees_yen_and_a_kw_user_dinars(api: Api) -> None:
    regional_users(api)
    jp = get(api, PACKS, api.user("jp"), channel="app")
    assert (jp["region"], jp["price_list_region"], jp["currency"]) == ("JP", "JP", "JPY")
    assert first_pack(jp) == (70, "JPY", 160, "160", 48, "48")
    assert jp["packs"][-1]["price"] == {"asset": "JPY", "amount": 40000, "display": "40000"}
    assert jp["custom"]["unit_price"] == {"asset": "JPY", "amount": 160, "display": "160"}
    assert first_pack(get(api, PACKS, api.user("jp"), channel="web")) == (
        70,
        "JPY",
        140,
        "140",
        0,
        "0",
    )
    kw = get(api, PACKS, api.user("kw"), channel="app")
    assert (kw["region"], kw["currency"]) == ("KW", "KWD")
    assert first_pack(kw) == (70, "KWD", 260, "0.260", 78, "0.078")
    assert kw["packs"][1]["price"]["display"] == "1.300"
    kw_web = get(api, PACKS, api.user("kw"), channel="web")
    assert first_pack(kw_web) == (70, "KWD", 230, "0.230", 0, "0.000")


def test_a_user_without_a_region_sees_the_star_lists_and_may_pick_a_currency(api: Api) -> None:
    regional_users(api)
    nowhere = get(api, PACKS, api.user("nowhere"), channel="app")
    assert (nowhere["region"], nowhere["price_list_region"], nowhere["currency"]) == (
        "*",
        "*",
        "USD",
    )
    usd_in_japan = get(api, PACKS, api.user("jp"), channel="app", currency="USD")
    assert (usd_in_japan["region"], usd_in_japan["price_list_region"]) == ("JP", "*")
    assert first_pack(usd_in_japan) == (70, "USD", 84, "0.84", 25, "0.25")
    mine = get(api, PACKS, api.user("kw"), channel="app", user_id="kw")  # naming oneself is fine
    assert mine["currency"] == "KWD"


def test_a_platform_key_picks_region_and_currency(api: Api) -> None:
    regional_users(api)
    key = api.platform()
    kw = get(api, PACKS, key, channel="web", region="KW")
    assert (kw["region"], kw["currency"], kw["first_purchase"]) == ("KW", "KWD", False)
    assert first_pack(kw) == (70, "KWD", 230, "0.230", 0, "0.000")
    usd = get(api, PACKS, key, channel="app", region="JP", currency="USD")
    assert (usd["price_list_region"], usd["currency"]) == ("*", "USD")
    anywhere = get(api, PACKS, key, channel="app")
    assert (anywhere["region"], anywhere["currency"], anywhere["first_purchase"]) == (
        "*",
        "USD",
        False,
    )
    for_jp = get(api, PACKS, key, channel="app", user_id="jp")  # the user's region and status
    assert (for_jp["region"], for_jp["currency"], for_jp["first_purchase"]) == ("JP", "JPY", True)
    moved = get(api, PACKS, key, channel="app", user_id="jp", region="KW")
    assert (moved["region"], moved["currency"], moved["first_purchase"]) == ("KW", "KWD", True)
    assert get(api, PACKS, api.admin(), channel="app", region="JP")["currency"] == "JPY"


# --- bonuses ------------------------------------------------------------------------------------
def bonuses(body: dict[str, Any]) -> list[tuple[int, list[str]]]:
    return [(p["bonus_coins"], p["bonus_reasons"]) for p in body["packs"][:2]]


def test_first_purchase_bonus_only_until_a_purchase_goes_through(
    promo_api: Api, database_url: str
) -> None:
    api = promo_api
    regional_users(api)
    before = get(api, PACKS, api.user("us"), channel="app")  # 1 January: version 1, no bonus
    assert before["policy_version"] == "standard@1"
    assert bonuses(before) == [(0, []), (0, [])]

    api.clock.set(PROMO_FROM)
    first = get(api, PACKS, api.user("us"), channel="app")
    assert (first["policy_version"], first["first_purchase"]) == ("standard@2", True)
    assert bonuses(first) == [(7, ["first_purchase"]), (35, ["first_purchase"])]
    platform = get(api, PACKS, api.platform(), channel="app", region="US")  # nobody's first
    assert (platform["first_purchase"], bonuses(platform)) == (False, [(0, []), (0, [])])
    for_us = get(api, PACKS, api.platform(), channel="app", user_id="us")
    assert bonuses(for_us) == bonuses(first)

    for state in ("pending", "failed", "canceled"):  # no money arrived: still the first
        add_purchase(database_url, "us", state)
        assert get(api, PACKS, api.user("us"), channel="app")["first_purchase"] is True
    add_purchase(database_url, "us", "succeeded")
    after = get(api, PACKS, api.user("us"), channel="app")
    assert (after["first_purchase"], bonuses(after)) == (False, [(0, []), (0, [])])
    quote = get(api, QUOTE, api.user("us"), channel="app", coins=75)
    assert (quote["first_purchase"], quote["bonus_coins"]) == (False, 0)

    for user_id, state in (("jp", "refunded"), ("kw", "disputed"), ("nowhere", "lost")):
        add_purchase(database_url, user_id, state)
        assert get(api, PACKS, api.user(user_id), channel="app")["first_purchase"] is False
    api.create_users("winner")
    add_purchase(database_url, "winner", "won")
    assert get(api, PACKS, api.user("winner"), channel="web")["first_purchase"] is False


def test_campaign_bonus_from_start_to_end_excluded(promo_api: Api) -> None:
    api = promo_api
    regional_users(api)
    api.clock.set(LAUNCH_START)
    both = get(api, PACKS, api.user("kw"), channel="app")
    assert bonuses(both) == [
        (7 + 14, ["first_purchase", "campaign:launch-week"]),
        (35 + 70, ["first_purchase", "campaign:launch-week"]),
    ]
    assert first_pack(both) == (70, "KWD", 260, "0.260", 78, "0.078")  # bonus never changes price
    campaign_only = get(api, PACKS, api.platform(), channel="app", region="KW")
    assert bonuses(campaign_only) == [
        (14, ["campaign:launch-week"]),
        (70, ["campaign:launch-week"]),
    ]
    quote = get(api, QUOTE, api.user("kw"), channel="app", coins=9)  # 0.9 → 0, 1.8 → 1
    assert (quote["bonus_coins"], quote["bonus_reasons"]) == (1, ["campaign:launch-week"])

    api.clock.set(LAUNCH_END - timedelta(microseconds=1))
    assert bonuses(get(api, PACKS, api.user("kw"), channel="app"))[0] == (
        21,
        ["first_purchase", "campaign:launch-week"],
    )
    api.clock.set(LAUNCH_END)
    assert bonuses(get(api, PACKS, api.user("kw"), channel="app"))[0] == (7, ["first_purchase"])


# --- quotes -------------------------------------------------------------------------------------
def test_custom_amount_quotes(api: Api) -> None:
    regional_users(api)
    us = get(api, QUOTE, api.user("us"), channel="app", coins=71)
    assert us == {
        "object": "coin_quote",
        "region": "US",
        "channel": "app",
        "currency": "USD",
        "policy_version": "standard@1",
        "first_purchase": True,
        "coins": 71,
        "pack": False,
        "price": {"asset": "USD", "amount": 86, "display": "0.86"},  # 85.2 ¢ rounded up
        "store_fee": {"asset": "USD", "amount": 25, "display": "0.25"},  # 25.8 ¢ rounded down
        "bonus_coins": 0,
        "bonus_reasons": [],
    }
    one = get(api, QUOTE, api.user("us"), channel="web", coins=1)
    assert (one["price"]["amount"], one["store_fee"]["amount"]) == (2, 0)
    assert get(api, QUOTE, api.user("us"), channel="app", coins=833)["price"]["amount"] == 1000
    kw = get(api, QUOTE, api.user("kw"), channel="app", coins=71)
    assert (kw["price"], kw["store_fee"]["display"]) == (
        {"asset": "KWD", "amount": 264, "display": "0.264"},
        "0.079",
    )
    jp = get(api, QUOTE, api.user("jp"), channel="web", coins=833)
    assert jp["price"] == {"asset": "JPY", "amount": 1666, "display": "1666"}
    jp_app = get(api, QUOTE, api.platform(), channel="app", region="JP", coins=100)
    assert (jp_app["price"]["amount"], jp_app["store_fee"]["amount"]) == (229, 68)
    biggest = get(api, QUOTE, api.user("us"), channel="app", coins=1_000_000)
    assert biggest["price"]["display"] == "12000.00"


# --- refusals -----------------------------------------------------------------------------------
def test_refusals(api: Api) -> None:
    regional_users(api)
    us = api.user("us")
    c = api.client
    assert error(c.get(PACKS, params={"channel": "tv"}, headers=us)) == (422, "validation_error")
    assert error(c.get(PACKS, headers=us)) == (422, "validation_error")  # channel is required
    bad_currency = c.get(PACKS, params={"channel": "app", "currency": "usd"}, headers=us)
    assert error(bad_currency) == (422, "validation_error")
    no_list = c.get(PACKS, params={"channel": "app", "currency": "EUR"}, headers=us)
    assert error(no_list) == (422, "no_price_list")
    assert no_list.json()["error"]["details"] == {
        "region": "US",
        "channel": "app",
        "currency": "EUR",
    }
    japan_in_dinars = {"channel": "app", "region": "JP", "currency": "KWD"}
    no_list = c.get(PACKS, params=japan_in_dinars, headers=api.platform())
    assert error(no_list) == (422, "no_price_list")
    no_list = c.get(QUOTE, params={**japan_in_dinars, "coins": 70}, headers=api.platform())
    assert error(no_list) == (422, "no_price_list")

    too_many = c.get(QUOTE, params={"channel": "app", "coins": 1_000_001}, headers=us)
    assert error(too_many) == (422, "invalid_amount")
    assert too_many.json()["error"]["details"]["custom_max_coins"] == 1_000_000
    for coins in ("0", "-5", "1.5", "many"):
        r = c.get(QUOTE, params={"channel": "app", "coins": coins}, headers=us)
        assert error(r) == (422, "validation_error")

    others = c.get(PACKS, params={"channel": "app", "user_id": "jp"}, headers=us)
    assert error(others) == (404, "not_found")  # another user's store: as if it did not exist
    others = c.get(QUOTE, params={"channel": "app", "user_id": "jp", "coins": 5}, headers=us)
    assert error(others) == (404, "not_found")
    chosen = c.get(PACKS, params={"channel": "app", "region": "JP"}, headers=us)
    assert error(chosen) == (403, "forbidden")  # a user's region is the platform's to set
    unknown = c.get(PACKS, params={"channel": "app", "user_id": "ghost"}, headers=api.platform())
    assert error(unknown) == (404, "not_found")
    never_created = c.get(PACKS, params={"channel": "app"}, headers=api.user("ghost"))
    assert error(never_created) == (404, "not_found")
    assert error(c.get(PACKS, params={"channel": "app"})) == (401, "unauthenticated")
