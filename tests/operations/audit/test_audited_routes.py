"""Each admin route that changes something declares its action, target and state before:
withdrawals, purchases and disputes, items, gifts, clawbacks (transfers: test_audit_log.py)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.test_auth_and_errors import error
from tests.earnings.withdrawals.conftest import OpenW

CARD = {"number": "4242 4242 4242 4242"}


def entries(api: Any, **params: Any) -> list[dict[str, Any]]:
    r = api.client.get("/v1/admin/audit", params=params, headers=api.admin())
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def buyer(api: Api, user_id: str) -> None:
    r = api.client.put(
        f"/v1/users/{user_id}",
        json={"region": "US", "birth_date": "1990-01-01"},
        headers=api.platform(),
    )
    assert r.status_code == 201, r.text


def buy(api: Api, user_id: str, idem: str) -> dict[str, Any]:
    r = api.client.post(
        "/v1/purchases",
        json={"channel": "app", "coins": 70, "card": CARD},
        headers=api.user(user_id) | {"Idempotency-Key": idem},
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def test_withdrawal_decisions(open_w: OpenW) -> None:
    with open_w("standard") as w:
        c = w.ready("c1", 500_00)
        first = w.withdraw(c, "w1", amount_minor=100).json()["id"]
        second = w.withdraw(c, "w2", amount_minor=100).json()["id"]
        # the creator's requests (with their codes) are not admin acts; the grant was
        assert [e["action"] for e in entries(w)] == ["transfer.create"]

        approve = [w.admin_post(first, "approve", {"note": "ok"}, idem="ap-1") for _ in range(2)]
        assert [r.status_code for r in approve] == [200, 200]
        reject = w.admin_post(second, "reject", {"reason": "duplicate request"})
        assert reject.status_code == 200, reject.text
        retry = w.client.post(f"/v1/admin/withdrawals/{second}/retry", headers=w.admin())
        assert err(retry) == (409, "invalid_transition")

        replay, approved = entries(w, target=f"withdrawal:{first}")
        assert approved["action"] == replay["action"] == "withdrawal.approve"
        assert approved["before"]["state"] == "requested" and approved["before"]["id"] == int(first)
        assert approved["after"]["state"] == "approved" and approved["request"] == {"note": "ok"}
        assert replay["before"]["state"] != "requested"  # the first one already acted
        assert replay["after"] == approved["after"]
        retried, rejected = entries(w, target=f"withdrawal:{second}")
        assert (rejected["action"], rejected["status_code"]) == ("withdrawal.reject", 200)
        assert rejected["before"]["state"] == "requested"
        assert rejected["after"]["state"] == "rejected"
        assert (retried["action"], retried["status_code"]) == ("withdrawal.retry", 409)
        assert retried["before"]["state"] == "rejected"


def err(r: Any) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def test_refunds_by_an_admin_and_disputes(api: Api) -> None:
    buyer(api, "v1")
    mine, theirs, disputed = (buy(api, "v1", f"buy-{n}") for n in range(3))
    r = api.client.post(
        f"/v1/purchases/{mine['id']}/refund",
        json={"reason": "by accident"},
        headers=api.user("v1") | {"Idempotency-Key": "rf-1"},
    )
    assert r.status_code == 200, r.text
    assert entries(api) == []  # the buyer's own refund is not an admin's act
    r = api.client.post(
        f"/v1/purchases/{theirs['id']}/refund",
        json={"reason": "support ticket 12"},
        headers=api.admin("rf-2"),
    )
    assert r.status_code == 200, r.text
    [refund] = entries(api)
    assert (refund["action"], refund["target"]) == ("purchase.refund", f"purchase:{theirs['id']}")
    assert refund["before"]["state"] == "succeeded" and refund["after"]["state"] == "refunded"

    for action in ("open", "lost"):
        r = api.client.post(
            f"/v1/admin/purchases/{disputed['id']}/dispute",
            json={"action": action},
            headers=api.admin(f"d-{action}"),
        )
        assert r.status_code == 200, r.text
    lost, opened = entries(api, action="purchase.dispute")
    assert opened["before"]["state"] == "succeeded" and lost["before"]["state"] == "disputed"
    assert opened["target"] == f"purchase:{disputed['id']}"
    [case] = api.client.get("/v1/admin/disputes", headers=api.admin()).json()["data"]
    r = api.client.post(
        f"/v1/admin/disputes/{case['id']}/settle",
        json={"note": "written off"},
        headers=api.admin("settle-1"),
    )
    assert r.status_code == 200, r.text
    [settle] = entries(api, action="dispute.settle")
    assert settle["target"] == f"dispute:{case['id']}"
    assert settle["before"]["state"] == "lost" and settle["request"] == {"note": "written off"}


def test_items_and_gifts(api: Api) -> None:
    item = {"id": "sparkle", "kind": "effect", "name": "Sparkle", "price": 5}
    assert api.client.post("/v1/admin/items", json=item, headers=api.admin()).status_code == 201
    r = api.client.put("/v1/admin/items/sparkle", json={"price": 7}, headers=api.admin())
    assert r.status_code == 200, r.text
    r = api.client.put("/v1/admin/items/nothing", json={"price": 7}, headers=api.admin())
    assert error(r) == (404, "not_found")
    missing, update, create = entries(api, action="item.*")
    assert (create["target"], create["before"]) == ("item:sparkle", None)
    assert update["before"]["price_coins"] == 5 and update["after"]["price"]["amount"] == 7
    assert (missing["target"], missing["status_code"], missing["before"]) == (
        "item:nothing",
        404,
        None,
    )

    gift = {"id": "comet", "name": "Comet", "price": 10}
    assert api.client.post("/v1/admin/gifts", json=gift, headers=api.admin()).status_code == 201
    r = api.client.put("/v1/admin/gifts/comet", json={"price": 12}, headers=api.admin())
    assert r.status_code == 200, r.text
    assert api.client.delete("/v1/admin/gifts/comet", headers=api.admin()).status_code == 200
    deactivate, change, added = entries(api, target="gift:comet")
    assert [added["action"], change["action"], deactivate["action"]] == [
        "gift.create",
        "gift.update",
        "gift.deactivate",
    ]
    assert change["before"]["price_coins"] == 10 and change["request"] == {"price": 12}
    assert deactivate["before"]["active"] is True and deactivate["after"]["active"] is False
    assert deactivate["method"] == "DELETE" and deactivate["request"] is None


def test_clawbacks_show_the_balances_before(api: Api) -> None:
    api.create_users("c1")
    api.grant("creator:c1:diamonds", 300, "g-1", asset="DIAMOND")
    r = api.client.post(
        "/v1/admin/creators/c1/clawbacks",
        json={"diamonds": 100, "reason": "dispute"},
        headers=api.admin("cb-1"),
    )
    assert error(r) == (409, "insufficient_funds")  # nothing is in hold
    [row] = entries(api, action="creator.clawback")
    assert row["target"] == "user:c1" and row["status_code"] == 409
    assert row["before"]["owner"] == "c1"
    assert {"path": "creator:c1:diamonds", "asset": "DIAMOND", "amount": 300} in [
        {k: b[k] for k in ("path", "asset", "amount")} for b in row["before"]["balances"]
    ]
