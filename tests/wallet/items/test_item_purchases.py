"""Buying items with coins: bonus first, then paid lots FIFO; refusals move nothing; caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection

from giftflow.db import make_engine, unit_of_work
from giftflow.money.policy import SpendingCap, load_profile
from giftflow.money.repository import store_policy
from giftflow.wallet.items.commands import PurchaseItem
from giftflow.wallet.items.repository import OwnedDelta, OwnedWrites
from giftflow.wallet.purchases.batch import SpendCaps

from .conftest import WalletApi
from .helpers import edit_item, err, give, new_item, owned, purchase, remaining

DISPUTED_CARD = {"number": "4000 0000 0000 0259"}


def transaction(api: WalletApi, txn_id: str) -> dict[str, Any]:
    r = api.client.get(f"/v1/admin/transactions/{txn_id}", headers=api.admin())
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_bonus_coins_are_spent_first_then_the_oldest_lot(open_api: Any) -> None:
    with open_api("standard") as api:
        api.buyer("u")
        first = api.buy("u", "b1", pack=70).json()
        second = api.buy("u", "b2", pack=70).json()
        assert first["bonus_coins"]["amount"] == 0  # standard: no first-purchase bonus
        give(api, "user:u:coins:bonus", 10, "g1")
        new_item(api, "sparkle-frame", 25)
        assert api.coins("u") == {"user:u:coins": 140, "user:u:coins:bonus": 10}

        r = purchase(api, "u", "sparkle-frame", "p1")
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["paid_from"] == {"bonus": 10, "exchanged": 0, "paid": 15}
        assert body["unit_price"] == {"asset": "COIN", "amount": 25, "display": "25"}
        assert body["total"]["amount"] == 25 and body["quantity"] == 1
        assert (body["owned_quantity"], body["item_id"], body["user_id"]) == (
            1,
            "sparkle-frame",
            "u",
        )
        assert body["policy_version"] == "standard@1"
        assert api.coins("u") == {"user:u:coins": 125}
        assert api.balance("platform:revenue:items", "COIN") == 25
        assert remaining(api, "u") == {first["id"]: 55, second["id"]: 70}

        txn = transaction(api, body["transaction_id"])
        assert (txn["kind"], txn["policy_version"]) == ("item_purchase", "standard@1")
        assert txn["metadata"] == {"item": "sparkle-frame", "quantity": "1"}
        assert sorted((p["source"], p["destination"], p["amount"]) for p in txn["postings"]) == [
            ("user:u:coins", "platform:revenue:items", 15),
            ("user:u:coins:bonus", "platform:revenue:items", 10),
        ]

        # three more: 75 paid coins, the first lot's last 55 and then 20 of the second
        r = purchase(api, "u", "sparkle-frame", "p2", quantity=3)
        assert r.status_code == 201, r.text
        assert r.json()["paid_from"] == {"bonus": 0, "exchanged": 0, "paid": 75}
        assert r.json()["owned_quantity"] == 4
        assert api.coins("u") == {"user:u:coins": 50}
        assert remaining(api, "u") == {first["id"]: 0, second["id"]: 50}
        assert api.balance("platform:revenue:items", "COIN") == 100
        assert owned(api, "u") == {"sparkle-frame": 4}
        listed = api.client.get("/v1/items/owned", headers=api.user("u")).json()["data"]
        assert listed[0]["item"]["name"] == "sparkle frame"
        assert listed[0]["first_at"] == listed[0]["last_at"] == "2026-01-01T00:00:00Z"
        api.assert_clean()


def test_exchanged_coins_come_after_bonus_and_before_paid(open_api: Any) -> None:
    with open_api("standard") as api:
        api.buyer("x")
        lot = api.buy("x", "b", pack=70).json()
        give(api, "user:x:coins:bonus", 3, "g1")
        give(api, "user:x:coins:exchanged", 4, "g2")
        new_item(api, "star", 5, kind="sticker")
        r = purchase(api, "x", "star", "p", quantity=2)
        assert r.status_code == 201, r.text
        assert r.json()["paid_from"] == {"bonus": 3, "exchanged": 4, "paid": 3}
        assert api.coins("x") == {"user:x:coins": 67}
        assert remaining(api, "x") == {lot["id"]: 67}
        api.assert_clean()


def test_a_price_change_applies_to_the_next_purchase(open_api: Any) -> None:
    with open_api("standard") as api:
        api.buyer("u")
        api.buy("u", "b", pack=70)
        new_item(api, "sparkle-frame", 10)
        assert purchase(api, "u", "sparkle-frame", "1").json()["total"]["amount"] == 10
        assert edit_item(api, "sparkle-frame", price=20).status_code == 200
        r = purchase(api, "u", "sparkle-frame", "2", quantity=2)
        assert (r.json()["unit_price"]["amount"], r.json()["total"]["amount"]) == (20, 40)
        assert api.coins("u") == {"user:u:coins": 20}
        assert api.balance("platform:revenue:items", "COIN") == 50
        api.assert_clean()


def test_the_same_key_is_one_purchase(open_api: Any) -> None:
    with open_api("standard") as api:
        api.buyer("u")
        api.buy("u", "b", pack=70)
        new_item(api, "sparkle-frame", 10)
        new_item(api, "other", 10)
        one = purchase(api, "u", "sparkle-frame", "same")
        two = purchase(api, "u", "sparkle-frame", "same", quantity=1)  # the default, spelt out
        assert one.status_code == two.status_code == 201
        assert two.json() == one.json()
        assert two.headers["Idempotent-Replayed"] == "true"
        # no body at all is quantity 1 as well
        bare = api.client.post(
            "/v1/items/sparkle-frame/purchase", headers=api.user("u") | {"Idempotency-Key": "same"}
        )
        assert bare.json() == one.json()
        assert err(purchase(api, "u", "sparkle-frame", "same", quantity=2)) == (
            409,
            "idempotency_key_reused",
        )
        assert err(purchase(api, "u", "other", "same")) == (409, "idempotency_key_reused")
        assert err(purchase(api, "u", "sparkle-frame", None)) == (400, "idempotency_key_required")
        assert api.coins("u") == {"user:u:coins": 60}
        assert owned(api, "u") == {"sparkle-frame": 1}
        assert api.balance("platform:revenue:items", "COIN") == 10
        api.assert_clean()


def test_refusals_move_nothing(open_api: Any) -> None:
    with open_api("standard") as api:
        api.buyer("u")
        lot = api.buy("u", "b", pack=70).json()
        new_item(api, "retired", 5, active=False)
        new_item(api, "dear", 50)
        r = purchase(api, "u", "retired", "1")
        assert err(r) == (409, "item_unavailable")
        assert r.json()["error"]["details"] == {"id": "retired"}
        assert err(purchase(api, "u", "no-such-item", "2")) == (404, "not_found")
        assert err(purchase(api, "u", "Not_An_Id", "3")) == (404, "not_found")
        r = purchase(api, "u", "dear", "4", quantity=2)
        assert err(r) == (409, "insufficient_funds")
        assert (
            r.json()["error"]["details"]["available"],
            r.json()["error"]["details"]["required"],
        ) == (
            70,
            100,
        )
        for quantity in (0, 101, -1, "1", 1.5, None):
            r = purchase(api, "u", "dear", "5", quantity=quantity)
            assert err(r) == (422, "validation_error"), quantity
        r = api.client.post(
            "/v1/items/dear/purchase",
            json={"quantity": 1, "extra": True},
            headers=api.user("u") | {"Idempotency-Key": "6"},
        )
        assert err(r) == (422, "validation_error")
        # an API key is not a buyer; a token for a user the platform never created is refused
        r = api.client.post("/v1/items/dear/purchase", json={}, headers=api.admin("7"))
        assert err(r) == (403, "forbidden")
        assert err(purchase(api, "ghost", "dear", "8")) == (422, "user_not_found")
        r = api.client.get("/v1/items/owned", headers=api.platform())
        assert err(r) == (403, "forbidden")
        # a refusal is the key's outcome: replayed, even once the item is back on sale
        assert edit_item(api, "retired", active=True).status_code == 200
        assert err(purchase(api, "u", "retired", "1")) == (409, "item_unavailable")
        assert purchase(api, "u", "retired", "9").status_code == 201

        assert api.coins("u") == {"user:u:coins": 65}
        assert api.balance("platform:revenue:items", "COIN") == 5
        assert owned(api, "u") == {"retired": 1}
        assert remaining(api, "u") == {lot["id"]: 65}
        # owned items stay listed when the item is taken off sale again
        assert edit_item(api, "retired", active=False).status_code == 200
        assert owned(api, "u") == {"retired": 1}
        api.assert_clean()


def test_a_frozen_wallet_cannot_buy_items(open_api: Any) -> None:
    with open_api("standard") as api:
        api.buyer("cb")
        bought = api.buy("cb", "b", pack=70, card=DISPUTED_CARD).json()
        assert bought["state"] == "succeeded"
        new_item(api, "sparkle-frame", 10)
        r = api.client.post(
            f"/v1/admin/purchases/{bought['id']}/dispute",
            json={"action": "open"},
            headers=api.admin("d1"),
        )
        assert r.status_code == 200 and r.json()["outcome"] == "charged_back", r.text
        give(api, "user:cb:coins:bonus", 50, "g")  # coins it could spend, were it not frozen
        r = purchase(api, "cb", "sparkle-frame", "p")
        assert err(r) == (409, "account_frozen")
        assert api.coins("cb") == {"user:cb:coins:bonus": 50}
        assert api.balance("platform:revenue:items", "COIN") == 0
        assert owned(api, "cb") == {}
        api.assert_clean()


def store_capped_policy(database_url: str) -> None:
    policy = load_profile("standard").model_copy(
        update={
            "version": 2,
            "effective_from": datetime(2025, 12, 31, tzinfo=UTC),
            "caps": [SpendingCap(scope="region", key="US", daily_coins=100)],
        }
    )
    engine = make_engine(database_url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            store_policy(conn, policy, datetime(2025, 12, 31, tzinfo=UTC))
    finally:
        engine.dispose()


def test_a_daily_spending_cap(open_api: Any, database_url: str) -> None:
    store_capped_policy(database_url)
    with open_api("standard") as api:
        api.buyer("c", region="US")
        api.buyer("gb", region="GB")
        give(api, "user:c:coins:bonus", 500, "g1")
        give(api, "user:gb:coins:bonus", 500, "g2")
        new_item(api, "sixty", 60)
        first = purchase(api, "c", "sixty", "1")
        assert first.status_code == 201, first.text
        assert first.json()["policy_version"] == "standard@2"
        r = purchase(api, "c", "sixty", "2")
        assert err(r) == (409, "cap_exceeded")
        details = r.json()["error"]["details"]
        assert details["rule"] == "region:US daily"
        assert (details["limit"], details["used"], details["requested"]) == (100, 60, 60)
        assert details["resets_at"] == "2026-01-02T00:00:00Z"
        assert api.coins("c") == {"user:c:coins:bonus": 440}
        # the US rule does not cap a buyer in another region
        assert purchase(api, "gb", "sixty", "3", quantity=3).status_code == 201
        # a day later the window is fresh; one purchase over the cap is still refused whole
        api.clock.advance(timedelta(days=1))
        assert purchase(api, "c", "sixty", "4").status_code == 201
        assert err(purchase(api, "c", "sixty", "5")) == (409, "cap_exceeded")
        api.clock.advance(timedelta(days=1))
        assert err(purchase(api, "c", "sixty", "6", quantity=2)) == (409, "cap_exceeded")
        assert api.coins("c") == {"user:c:coins:bonus": 380}
        assert owned(api, "c") == {"sixty": 2}
        assert api.balance("platform:revenue:items", "COIN") == 120 + 180
        api.assert_clean()


def test_many_purchases_in_one_batch_add_up(open_api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Purchases that share a batch see each other: owned counts run, the last one runs dry,
    and the batch writes the owned row once."""
    flushed: list[list[OwnedDelta]] = []
    original = OwnedWrites.flush

    def spy(self: OwnedWrites, conn: Connection, rows: list[OwnedDelta]) -> None:
        flushed.append(list(rows))
        original(self, conn, rows)

    monkeypatch.setattr(OwnedWrites, "flush", spy)
    with open_api("standard") as api:
        api.buyer("u")
        api.buy("u", "b", pack=70)
        new_item(api, "star", 10)
        new_item(api, "retired", 1, active=False)
        writer = api.client.app.state.giftflow.writer
        caps = SpendCaps([], "UTC")

        def buy(item_id: str, quantity: int = 1) -> PurchaseItem:
            return PurchaseItem(
                user_id="u",
                item_id=item_id,
                quantity=quantity,
                policy_version="standard@1",
                caps=caps,
            )

        with writer._cond:  # queued together, so they share one batch
            futures = [
                writer.submit_future(buy("star")),
                writer.submit_future(buy("star", 2)),
                writer.submit_future(buy("retired")),
                writer.submit_future(buy("star", 3)),
                writer.submit_future(buy("star", 2)),  # 20 more than the 10 left
                writer.submit_future(buy("star")),
            ]
        outcomes = [f.result(30) for f in futures]
        assert [o.status for o in outcomes] == [201, 201, 409, 201, 409, 201]
        assert [o.body["owned_quantity"] for o in outcomes if o.ok] == [1, 3, 6, 7]
        assert outcomes[4].body["error"]["code"] == "insufficient_funds"
        assert [[d.quantity for d in rows] for rows in flushed] == [[1, 2, 3, 1]]
        assert api.coins("u") == {}
        assert owned(api, "u") == {"star": 7}
        assert api.balance("platform:revenue:items", "COIN") == 70
        api.assert_clean()
