"""The chart of accounts on its own: which path holds which asset, owners, mechanisms, limits."""

from __future__ import annotations

import pytest

from giftflow.errors import AccountReserved, CoinsNotTransferable, InvalidAccount
from giftflow.ledger.accounts import (
    CHART,
    check_account,
    check_coin_movement,
    check_not_mechanism,
    classify,
)
from giftflow.ledger.model import Posting
from giftflow.money.amounts import MAX_AMOUNT
from giftflow.money.assets import get_asset

ALLOWED = [
    ("user:42:coins", "COIN", "user"),
    ("user:42:coins:bonus", "COIN", "user"),
    ("user:42:coins:exchanged", "COIN", "user"),
    ("creator:7:diamonds", "DIAMOND", "creator"),
    ("creator:7:diamonds:pending", "DIAMOND", "creator"),
    ("platform:coins:issued", "COIN", "issuance"),
    ("platform:diamonds:issued", "DIAMOND", "issuance"),
    ("platform:cash:stripe", "JPY", "cash"),
    ("platform:receivable:42", "COIN", "receivable"),
    ("platform:revenue:gifts", "COIN", "revenue"),
    ("platform:revenue:coins", "KWD", "revenue"),
    ("platform:fees:cashout", "DIAMOND", "fees"),
    ("platform:holding:pending", "USD", "holding"),
    ("payouts:in_flight", "DIAMOND", "payouts"),
    ("platform:equity:grants", "DIAMOND", "equity"),
    ("external:world", "EUR", "external"),
]
REFUSED = [
    ("user:42:coins", "USD"),
    ("user:42:coins", "DIAMOND"),
    ("user:42:wallet", "COIN"),
    ("user:42:coins:gold", "COIN"),
    ("creator:7:diamonds", "COIN"),
    ("platform:coins:issued", "DIAMOND"),
    ("platform:cash:stripe", "COIN"),
    ("platform:revenue:gifts", "USD"),
    ("platform:revenue:tips", "COIN"),
    ("platform:fees:store", "COIN"),
    ("payouts:in_flight", "COIN"),
    ("platform:equity:anything", "COIN"),
    ("user:bad id:coins", "COIN"),
]


@pytest.mark.parametrize(("path", "asset", "klass"), ALLOWED)
def test_paths_hold_their_assets(path: str, asset: str, klass: str) -> None:
    unit = get_asset(asset)
    assert check_account(path, unit.code, unit.kind).account_class.name == klass


@pytest.mark.parametrize(("path", "asset"), REFUSED)
def test_everything_else_is_an_invalid_account(path: str, asset: str) -> None:
    unit = get_asset(asset)
    with pytest.raises(InvalidAccount):
        check_account(path, unit.code, unit.kind)
    with pytest.raises(InvalidAccount):
        Posting("platform:equity:grants", path, asset, 1).validate()


def test_owners_are_the_user_ids_in_user_and_creator_paths() -> None:
    assert classify("user:a.b-c_1:coins:bonus").owner_id == "a.b-c_1"
    assert classify("creator:7:diamonds").owner_id == "7"
    assert classify("platform:receivable:7").owner_id is None


def test_only_holding_and_issuance_are_mechanisms() -> None:
    assert {c.name for c in CHART if c.mechanism} == {"holding", "issuance"}
    with pytest.raises(AccountReserved):
        check_not_mechanism("platform:holding:pending")
    check_not_mechanism("platform:equity:grants")


def test_coins_move_within_one_user_but_never_between_two() -> None:
    check_coin_movement("user:a:coins", "user:a:coins:bonus", "COIN")
    check_coin_movement("user:a:coins", "platform:revenue:gifts", "COIN")
    with pytest.raises(CoinsNotTransferable):
        check_coin_movement("user:a:coins", "user:b:coins", "COIN")
    with pytest.raises(CoinsNotTransferable):
        Posting("user:a:coins:bonus", "user:b:coins", "COIN", 1).validate()


def test_the_amount_limit_keeps_every_shown_total_exact_in_json() -> None:
    # a platform account summed over 16 shards, or a user's three coin accounts
    assert 16 * MAX_AMOUNT < 2**53
    assert 3 * MAX_AMOUNT < 2**53
    assert MAX_AMOUNT * 100 < 2**63  # a transaction's 100 postings into one row
