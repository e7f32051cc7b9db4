"""Small request helpers for the item tests: create items, buy them, grant coins."""

from __future__ import annotations

from typing import Any

from .conftest import WalletApi


def err(r: Any) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def new_item(api: WalletApi, item_id: str, price: int, **fields: Any) -> dict[str, Any]:
    body = {"id": item_id, "kind": "effect", "name": item_id.replace("-", " "), "price": price}
    r = api.client.post("/v1/admin/items", json=body | fields, headers=api.admin())
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def edit_item(api: WalletApi, item_id: str, **fields: Any) -> Any:
    return api.client.put(f"/v1/admin/items/{item_id}", json=fields, headers=api.admin())


def purchase(api: WalletApi, user_id: str, item_id: str, idem: str | None, **body: Any) -> Any:
    headers = api.user(user_id) | ({"Idempotency-Key": idem} if idem else {})
    return api.client.post(f"/v1/items/{item_id}/purchase", json=body, headers=headers)


def give(api: WalletApi, account: str, coins: int, idem: str) -> None:
    """An operator's promotion: ``platform:equity:promotions → account`` (COIN)."""
    posting = {
        "source": "platform:equity:promotions",
        "destination": account,
        "asset": "COIN",
        "amount": coins,
    }
    r = api.client.post(
        "/v1/admin/transfers", json={"postings": [posting]}, headers=api.admin(idem)
    )
    assert r.status_code == 201, r.text


def owned(api: WalletApi, user_id: str) -> dict[str, int]:
    r = api.client.get("/v1/items/owned", headers=api.user(user_id))
    assert r.status_code == 200, r.text
    return {o["item"]["id"]: o["quantity"] for o in r.json()["data"]}


def remaining(api: WalletApi, user_id: str) -> dict[str, int | None]:
    """What is left of each of the user's purchase lots."""
    data = api.client.get("/v1/purchases", headers=api.user(user_id)).json()["data"]
    return {p["id"]: p["remaining_coins"] for p in data}
