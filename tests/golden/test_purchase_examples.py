"""SPEC §10 examples 1, 2 (the purchase half) and 5, through the HTTP API under their profiles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.wallet.purchases.conftest import open_api
from tests.wallet.purchases.test_purchases import err

__all__ = ["open_api"]


def test_seed_002_example_1_the_70_coin_app_pack(open_api: Any) -> None:
    with open_api("seed-002") as api:
        api.buyer("v1")
        r = api.buy("v1", "b1", pack=70, channel="app")
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["state"] == "succeeded"
        assert body["price"] == {"asset": "USD", "amount": 84, "display": "0.84"}
        assert body["policy_version"].startswith("seed-002@")
        assert api.coins("v1") == {"user:v1:coins": 70}
        # the money: cash at the provider, revenue net of the store fee, the fee recorded
        fee = body["store_fee"]["amount"]
        assert api.balance("platform:cash:sandbox", "USD") == -84
        assert api.balance("platform:revenue:coins", "USD") == 84 - fee
        assert api.balance("platform:fees:store", "USD") == fee
        api.assert_clean()


def test_seed_002_example_2_833_custom_coins_cost_1000_cents(open_api: Any) -> None:
    with open_api("seed-002") as api:
        api.buyer("v2")
        r = api.buy("v2", "b1", coins=833)
        assert r.status_code == 201, r.text
        assert r.json()["price"]["amount"] == 1000 and r.json()["pack"] is False
        assert api.coins("v2") == {"user:v2:coins": 833}
        api.assert_clean()


def test_seed_002_example_5_refund_rules(open_api: Any) -> None:
    with open_api("seed-002") as api:
        api.buyer("r1")
        first = api.buy("r1", "b1", pack=350).json()
        spent = api.buy("r1", "b2", pack=350).json()
        late = api.buy("r1", "b3", pack=350).json()
        assert api.coins("r1") == {"user:r1:coins": 1050}
        # one coin spent: FIFO takes it from the oldest lot, which is then not refundable
        assert api.spend("r1", 1).status == 201
        refund = f"/v1/purchases/{first['id']}/refund"
        r = api.client.post(
            refund, json={"reason": "accident"}, headers=api.user("r1") | {"Idempotency-Key": "f1"}
        )
        assert err(r) == (409, "refund_not_allowed")
        assert r.json()["error"]["details"]["reason"] == "spent"
        # day 13: the untouched second lot is refunded in full
        api.clock.advance(timedelta(days=13))
        r = api.client.post(
            f"/v1/purchases/{spent['id']}/refund",
            json={"reason": "technical issue"},
            headers=api.user("r1") | {"Idempotency-Key": "f2"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "refunded"
        assert api.coins("r1") == {"user:r1:coins": 1050 - 1 - 350}
        assert api.balance("platform:cash:sandbox", "USD") == -2 * 420  # $4.20 went back
        # day 15: the third lot is past the 14-day window
        api.clock.advance(timedelta(days=2))
        r = api.client.post(
            f"/v1/purchases/{late['id']}/refund",
            json={"reason": "late"},
            headers=api.user("r1") | {"Idempotency-Key": "f3"},
        )
        assert err(r) == (409, "refund_not_allowed")
        assert r.json()["error"]["details"]["reason"] == "window_passed"
        # what is left of each lot, oldest first
        purchases = api.client.get("/v1/purchases", headers=api.user("r1")).json()["data"]
        assert {p["id"]: p["remaining_coins"] for p in purchases} == {
            first["id"]: 349,
            spent["id"]: 0,
            late["id"]: 350,
        }
        api.assert_clean()
