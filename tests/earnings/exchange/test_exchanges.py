"""Diamonds → coins: whole multiples of the policy ratio into ``user:{id}:coins:exchanged``, the
remainder kept, only available diamonds, refused when the policy or the region does not offer
it; the coins are spendable on gifts."""

from __future__ import annotations

from giftflow.money.policy import ExchangeRules
from tests.earnings.balances.conftest import (
    OpenLive,
    earnings,
    err,
    exchange,
    grant_diamonds,
    kinds,
    open_live,
    store_version,
)

__all__ = ["open_live"]


def test_an_exchange_posts_both_sides_in_one_transaction(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        api.creator("c1")
        grant_diamonds(api, "c1", 30_00, "g")
        r = exchange(api, "c1", 25_00, "x1")
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["requested"]["amount"] == 25_00
        assert (body["exchanged"]["amount"], body["kept"]["amount"]) == (24_00, 1_00)
        assert body["coins"] == {"asset": "COIN", "amount": 10, "display": "10"}
        assert body["rate"] == {
            "diamonds": {"asset": "DIAMOND", "amount": 1200, "display": "12.00"},
            "coins": {"asset": "COIN", "amount": 5, "display": "5"},
        }
        assert body["diamonds_available"]["amount"] == 6_00
        assert body["exchanged_coins"]["amount"] == 10
        assert body["policy_version"] == "standard@1"
        txn = api.client.get(
            f"/v1/admin/transactions/{body['transaction_id']}", headers=api.admin()
        ).json()
        assert txn["kind"] == "exchange"
        assert [
            (p["source"], p["destination"], p["asset"], p["amount"]) for p in txn["postings"]
        ] == [
            ("creator:c1:diamonds", "platform:diamonds:issued", "DIAMOND", 24_00),
            ("platform:coins:issued", "user:c1:coins:exchanged", "COIN", 10),
        ]
        assert api.balance("user:c1:coins:exchanged", "COIN") == 10
        assert api.balance("user:c1:coins", "COIN") == 0
        wallet = api.client.get("/v1/wallet", headers=api.user("c1")).json()
        assert wallet["coins"]["exchanged"]["amount"] == 10
        lifetime = earnings(api, "c1")["lifetime"]
        assert (lifetime["exchanged"]["amount"], lifetime["exchanged_coins"]["amount"]) == (
            2400,
            10,
        )
        api.assert_clean()


def test_exchanged_coins_are_spendable(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        api.creator("c1")
        api.creator("c2")
        grant_diamonds(api, "c1", 12_00, "g")
        assert exchange(api, "c1", 12_00, "x").status_code == 201
        live = api.start("c2")
        r = api.gift("c1", live, "panda", 1, idem="p")
        assert r.status_code == 201, r.text
        assert r.json()["balance"]["amount"] == 0
        assert api.balance("user:c1:coins:exchanged", "COIN") == 0
        assert api.diamonds("c2") == (0, 250)  # standard holds the creator's new diamonds
        api.assert_clean()


def test_only_available_diamonds_are_exchanged(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        api.creator("c1")
        api.viewer("v1", coins=100)
        live = api.start("c1")
        assert api.gift("v1", live, "rose", 30).status_code == 201  # 15.00 diamonds, held
        r = exchange(api, "c1", 12_00, "x")
        assert err(r) == (409, "insufficient_funds")
        assert r.json()["error"]["details"]["account"] == "creator:c1:diamonds"
        assert api.diamonds("c1") == (0, 15_00)
        assert kinds(api, "exchange") == 0


def test_fewer_diamonds_than_one_unit_is_a_validation_error(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        api.creator("c1")
        grant_diamonds(api, "c1", 20_00, "g")
        r = exchange(api, "c1", 11_99, "x")
        assert err(r) == (422, "validation_error")
        assert r.json()["error"]["details"] == {"diamonds": 11_99, "minimum": 12_00}
        # a 422 is never the key's outcome: the same key with a valid body goes through
        assert exchange(api, "c1", 12_00, "x").status_code == 201
        for n, body in enumerate(
            [
                {"diamonds": 0},
                {"diamonds": 12.0},
                {"diamonds": "1200"},
                {},
                {"diamonds": 1200, "coins": 5},
            ]
        ):
            r = api.client.post(
                "/v1/exchanges", json=body, headers=api.user("c1") | {"Idempotency-Key": f"b{n}"}
            )
            assert err(r) == (422, "validation_error"), body


def test_an_exchange_is_idempotent_by_key(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        api.creator("c1")
        grant_diamonds(api, "c1", 40_00, "g")
        first = exchange(api, "c1", 24_00, "x")
        again = exchange(api, "c1", 24_00, "x")
        assert again.status_code == 201 and again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert err(exchange(api, "c1", 12_00, "x")) == (409, "idempotency_key_reused")
        assert api.diamonds("c1") == (16_00, 0)
        assert kinds(api, "exchange") == 1


def test_disabled_by_the_policy(open_live: OpenLive, database_url: str) -> None:
    rules = ExchangeRules(enabled=False, diamond_hundredths=1200, coins=5)
    store_version(database_url, "standard", exchange=rules)
    with open_live("standard") as api:
        api.creator("c1")
        grant_diamonds(api, "c1", 12_00, "g")
        r = exchange(api, "c1", 12_00, "x")
        assert err(r) == (409, "exchange_unavailable")
        assert r.json()["error"]["details"]["reason"] == "disabled"
        again = exchange(api, "c1", 12_00, "x")  # a business refusal: stored and replayed
        assert err(again) == (409, "exchange_unavailable")
        assert again.headers["Idempotent-Replayed"] == "true"
        assert api.diamonds("c1") == (12_00, 0)
        assert kinds(api, "exchange") == 0


def test_offered_only_in_the_policy_regions(open_live: OpenLive, database_url: str) -> None:
    rules = ExchangeRules(enabled=True, regions=["JP", "KR"], diamond_hundredths=1200, coins=5)
    store_version(database_url, "standard", exchange=rules)
    with open_live("standard") as api:
        api.creator("us")  # region US
        api.creator("jp", region="JP")
        api.creator("nowhere", region=None)
        for user in ("us", "jp", "nowhere"):
            grant_diamonds(api, user, 12_00, f"g-{user}")
        for user in ("us", "nowhere"):
            r = exchange(api, user, 12_00, "x")
            assert err(r) == (409, "exchange_unavailable"), user
            assert r.json()["error"]["details"]["reason"] == "region"
        assert exchange(api, "jp", 12_00, "x").status_code == 201
        assert api.balance("user:jp:coins:exchanged", "COIN") == 5
        # the region is read when the exchange is applied: moving there opens it
        api.set_user("us", region="KR")
        assert exchange(api, "us", 12_00, "y").status_code == 201
        api.assert_clean()


def test_who_may_exchange(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        api.creator("c1")
        grant_diamonds(api, "c1", 12_00, "g")
        for headers in (api.admin("k"), api.platform() | {"Idempotency-Key": "k"}):
            r = api.client.post("/v1/exchanges", json={"diamonds": 1200}, headers=headers)
            assert err(r) == (403, "forbidden")
        r = api.client.post("/v1/exchanges", json={"diamonds": 1200}, headers=api.user("c1"))
        assert err(r) == (400, "idempotency_key_required")
        # a token for a user the platform never created
        assert err(exchange(api, "ghost", 12_00, "x")) == (422, "user_not_found")
        assert api.diamonds("c1") == (12_00, 0)
