"""GET /v1/admin/purchases: every user's purchases, newest first, filtered by state and buyer,
each exactly as GET /v1/purchases/{id} shows it (what is left of its lot included)."""

from __future__ import annotations

from typing import Any

from tests.api.test_auth_and_errors import error
from tests.wallet.purchases.conftest import OpenApi, WalletApi

DECLINED = {"number": "4000 0000 0000 0002"}


def listed(api: WalletApi, **params: Any) -> dict[str, Any]:
    r = api.client.get("/v1/admin/purchases", params=params, headers=api.admin())
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["object"] == "list"
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [p["id"] for p in body["data"]]


def test_every_purchase_as_its_owner_sees_it(open_api: OpenApi) -> None:
    with open_api() as api:
        api.buyer("v1")
        api.buyer("v2")
        first = api.buy("v1", "b1", pack=70).json()
        second = api.buy("v2", "b2", pack=350).json()
        declined = api.buy("v1", "b3", pack=70, card=DECLINED)
        assert error(declined) == (402, "payment_declined")
        failed_id = declined.json()["error"]["details"]["purchase"]
        api.spend("v1", 30)  # what is left of v1's lot: 40
        refund = api.client.post(
            f"/v1/purchases/{second['id']}/refund",
            json={"reason": "by accident"},
            headers=api.user("v2") | {"Idempotency-Key": "rf"},
        )
        assert refund.status_code == 200, refund.text

        everything = listed(api)
        assert ids(everything) == [failed_id, second["id"], first["id"]]
        assert everything["next_cursor"] is None
        for shown in everything["data"]:
            owner = api.client.get(
                f"/v1/purchases/{shown['id']}", headers=api.user(shown["user_id"])
            ).json()
            assert shown == owner
        by_id = {p["id"]: p for p in everything["data"]}
        assert by_id[first["id"]]["remaining_coins"] == 40
        assert by_id[second["id"]]["state"] == "refunded"
        assert by_id[failed_id]["state"] == "failed"

        assert ids(listed(api, user_id="v1")) == [failed_id, first["id"]]
        assert ids(listed(api, state="refunded")) == [second["id"]]
        assert ids(listed(api, state="succeeded", user_id="v1")) == [first["id"]]
        assert ids(listed(api, user_id="nobody")) == []
        page = listed(api, limit=2)
        assert ids(page) == [failed_id, second["id"]] and page["next_cursor"] == second["id"]
        rest = listed(api, limit=2, cursor=page["next_cursor"])
        assert ids(rest) == [first["id"]] and rest["next_cursor"] is None


def test_bad_filters_and_credentials(open_api: OpenApi) -> None:
    with open_api() as api:
        api.buyer("v1")
        for params in (
            {"state": "lost-ish"},
            {"user_id": "bad id"},
            {"limit": 0},
            {"limit": 201},
            {"cursor": "abc"},
        ):
            r = api.client.get("/v1/admin/purchases", params=params, headers=api.admin())
            assert error(r) == (422, "validation_error"), params
        for headers, expected in (
            (api.user("v1"), (403, "forbidden")),
            (api.platform(), (403, "forbidden")),
            ({}, (401, "unauthenticated")),
        ):
            r = api.client.get("/v1/admin/purchases", headers=headers)
            assert error(r) == expected
