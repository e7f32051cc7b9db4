"""SPEC §10 examples 2 (the gift half), 6 and 7, through the HTTP API under their profiles."""

from __future__ import annotations

import pytest

from giftflow.money.amounts import format_amount
from giftflow.money.assets import DIAMOND
from tests.live.conftest import OpenLive, err, open_live

__all__ = ["open_live"]


def test_seed_002_example_2_833_coins_gifted_become_416_50_diamonds(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c2")
        api.viewer("v2")
        bought = api.buy("v2", 833, "b1")
        assert bought["price"]["amount"] == 1000  # $10.00
        assert api.coins("v2") == 833
        live = api.start("c2")
        # 833 Roses, at most gifts.max_count (100) in one send
        counts = [100] * 8 + [33]
        for n, count in enumerate(counts):
            r = api.gift("v2", live, "rose", count, idem=f"roses-{n}")
            assert r.status_code == 201, r.text
        assert sum(counts) == 833
        assert api.coins("v2") == 0
        available, held = api.diamonds("c2")
        assert (available, held) == (41650, 0)  # seed-002 holds nothing
        assert format_amount(available, DIAMOND) == "416.50"
        view = api.live(live)
        assert view["diamonds"] == {"asset": "DIAMOND", "amount": 41650, "display": "416.50"}
        assert view["coins"]["amount"] == 833 and view["gifts_count"] == 833
        api.assert_clean()


PRICES = {"rose": 1, "panda": 5, "fireworks": 999, "ferris-wheel": 3000, "drama-queen": 5000}


@pytest.mark.parametrize("profile", ["seed-001", "seed-002"])
def test_example_6_gift_prices_and_diamonds(open_live: OpenLive, profile: str) -> None:
    with open_live(profile) as api:
        api.creator("c6")
        api.viewer("v6", coins=5 + 5000 + 34999)
        catalog = api.client.get("/v1/gifts", headers=api.user("v6")).json()
        prices = {g["id"]: g["price"]["amount"] for g in catalog["data"]}
        assert prices == {**PRICES, "universe": 34999}
        assert {g["price"]["asset"] for g in catalog["data"]} == {"COIN"}
        live = api.start("c6")
        expected = [("panda", 5, 250, "2.50"), ("drama-queen", 5000, 250000, "2500.00")]
        expected.append(("universe", 34999, 1749950, "17499.50"))
        left = 5 + 5000 + 34999
        for gift, coins, hundredths, shown in expected:
            r = api.gift("v6", live, gift)
            assert r.status_code == 201, r.text
            body = r.json()
            assert body["coins"]["amount"] == coins
            assert body["diamonds"] == {"asset": "DIAMOND", "amount": hundredths, "display": shown}
            left -= coins
            assert body["balance"]["amount"] == left == api.coins("v6")
        assert left == 0
        assert api.diamonds("c6") == (250 + 250000 + 1749950, 0)
        api.assert_clean()


def test_seed_001_example_7_999_followers_cannot_receive(open_live: OpenLive) -> None:
    with open_live("seed-001") as api:
        api.creator("c7", followers=999)
        api.viewer("v7", coins=10)
        r = api.client.post("/v1/lives", json={}, headers=api.user("c7"))
        assert err(r) == (409, "creator_not_eligible")
        details = r.json()["error"]["details"]
        assert details["reason"] == "followers" and details["followers_needed"] == 1000
        assert api.client.get("/v1/lives", headers=api.platform()).json()["data"] == []
        # at 1,000 they can
        api.set_user("c7", follower_count=1000)
        live = api.start("c7")
        r = api.gift("v7", live, idem="at-1000")
        assert r.status_code == 201, r.text
        assert api.diamonds("c7") == (50, 0)
        # back to 999 during the live: the next gift is refused, nothing moves
        api.set_user("c7", follower_count=999)
        view = api.live(live)
        assert (view["eligible"], view["ineligible_reason"]) == (False, "followers")
        r = api.gift("v7", live, idem="at-999")
        assert err(r) == (409, "creator_not_eligible")
        assert r.json()["error"]["details"]["reason"] == "followers"
        assert api.coins("v7") == 9 and api.diamonds("c7") == (50, 0)
        assert api.live(live)["last_seq"] == view["last_seq"]
        api.set_user("c7", follower_count=1000)
        assert api.gift("v7", live, idem="again-1000").status_code == 201
        assert api.diamonds("c7") == (100, 0)
        api.assert_clean()
