"""How a wallet is composed from balance rows and pending holds (pure, no database)."""

from __future__ import annotations

from giftflow.wallet.service import compose


def test_available_held_and_total_per_asset() -> None:
    wallet = compose(
        "c1",
        [
            ("creator:c1:diamonds", "DIAMOND", 41650),
            ("creator:c1:diamonds:pending", "DIAMOND", 350),
            ("user:c1:coins", "COIN", 70),
            ("user:c1:coins:bonus", "COIN", 5),
        ],
        {"DIAMOND": 20000},
    )
    totals = {t.asset: (t.available.amount, t.held.amount, t.total.amount) for t in wallet.totals}
    assert totals == {"COIN": (75, 0, 75), "DIAMOND": (42000, 20000, 62000)}
    diamonds = next(t for t in wallet.totals if t.asset == "DIAMOND")
    assert (diamonds.available.display, diamonds.total.display) == ("420.00", "620.00")
    assert [b.account for b in wallet.balances] == [
        "creator:c1:diamonds",
        "creator:c1:diamonds:pending",
        "user:c1:coins",
        "user:c1:coins:bonus",
    ]


def test_coin_and_diamond_are_always_shown_and_held_only_assets_appear() -> None:
    wallet = compose("v", [], {"USD": 208})
    totals = {t.asset: (t.available.amount, t.held.amount) for t in wallet.totals}
    assert totals == {"COIN": (0, 0), "DIAMOND": (0, 0), "USD": (0, 208)}
