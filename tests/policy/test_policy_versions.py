"""Policy operations: list the profile's versions with the one in force, view one, validate a
document, publish a version now or scheduled. A scheduled version takes force at its time (the
clock moves) and every transaction keeps the version it was made under."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from tests.api.conftest import Api
from tests.api.test_auth_and_errors import error

CARD = {"number": "4242 4242 4242 4242"}
START = "2026-01-01T00:00:00Z"  # the tests' clock, and standard@1's effective_from


def versions(api: Api) -> list[dict[str, Any]]:
    r = api.client.get("/v1/admin/policies", headers=api.admin())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "list" and body["next_cursor"] is None
    data: list[dict[str, Any]] = body["data"]
    return data


def document(api: Api, label: str = "standard@1") -> dict[str, Any]:
    r = api.client.get(f"/v1/admin/policies/{label}", headers=api.admin())
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()["document"]
    return doc


def next_version(api: Api, version: int = 2, **changes: Any) -> dict[str, Any]:
    """standard@1's document as version ``version``, effective in an hour, with a 70-coin pack
    at 99 cents instead of 84 in the `*`/app/USD list."""
    doc = copy.deepcopy(document(api))
    doc["version"] = version
    doc["effective_from"] = "2026-01-01T01:00:00Z"
    doc["description"] = "dearer small packs"
    for plist in doc["prices"]:
        if (plist["region"], plist["channel"], plist["currency"]) == ("*", "app", "USD"):
            plist["packs"][0] = {"coins": 70, "price_minor": 99}
    doc.update(changes)
    return doc


def publish(api: Api, doc: dict[str, Any]) -> Any:
    return api.client.post("/v1/admin/policies", json={"document": doc}, headers=api.admin())


def validate(api: Api, doc: Any) -> dict[str, Any]:
    r = api.client.post("/v1/admin/policies/validate", json={"document": doc}, headers=api.admin())
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["valid"] == (body["problems"] == [])
    return body


def buy(api: Api, user_id: str, idem: str) -> dict[str, Any]:
    r = api.client.post(
        "/v1/purchases",
        json={"channel": "app", "pack": 70, "card": CARD},
        headers=api.user(user_id) | {"Idempotency-Key": idem},
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def test_before_anything_is_stored_the_shipped_profile_is_the_one_version(api: Api) -> None:
    [only] = versions(api)
    assert only == {
        "object": "policy_version",
        "label": "standard@1",
        "policy_id": "standard",
        "version": 1,
        "effective_from": START,
        "created_at": None,
        "description": only["description"],
        "in_force": True,
        "scheduled": False,
        "stored": False,
    }
    in_force = api.client.get("/v1/policy", headers=api.admin()).json()
    doc = document(api)
    assert doc == {k: v for k, v in in_force.items() if k not in ("object", "label")}
    assert error(api.client.get("/v1/admin/policies/standard@9", headers=api.admin())) == (
        404,
        "not_found",
    )
    assert error(api.client.get("/v1/admin/policies/seed-000@1", headers=api.admin())) == (
        404,
        "not_found",
    )  # another profile's
    r = api.client.get("/v1/admin/policies/standard", headers=api.admin())
    assert error(r) == (422, "validation_error")


def test_validate_lists_every_problem(api: Api) -> None:
    good = next_version(api)
    assert validate(api, good) == {
        "object": "policy_check",
        "valid": True,
        "label": "standard@2",
        "problems": [],
    }
    broken = next_version(api)
    broken["gifts"]["creator_share_percent"] = 150
    broken["refund_window_days"] = -1
    del broken["cashout"]
    check = validate(api, broken)
    assert check["valid"] is False and check["label"] == "standard@2"
    assert len(check["problems"]) == 3
    assert any(p.startswith("gifts.creator_share_percent:") for p in check["problems"])
    assert any(p.startswith("cashout:") for p in check["problems"])
    assert validate(api, next_version(api, id="seed-000"))["problems"] == [
        "id: this server runs the 'standard' profile; a version of 'seed-000' would never be "
        "in force"
    ]
    [taken] = validate(api, next_version(api, version=1))["problems"]
    assert taken.startswith("version: standard@1 already exists")
    both = validate(api, next_version(api, effective_from="2025-12-31T23:00:00Z"))["problems"]
    assert [p.split(":")[0] for p in both] == ["effective_from", "effective_from"]
    api.clock.advance(timedelta(days=1))
    [past] = validate(api, next_version(api, effective_from="2026-01-01T12:00:00Z"))["problems"]
    assert past.startswith("effective_from: is in the past")
    assert validate(api, {})["valid"] is False
    bad: dict[str, Any]
    for bad in ({"document": []}, {"document": "x"}, {}, {"document": {}, "extra": 1}):
        r = api.client.post("/v1/admin/policies/validate", json=bad, headers=api.admin())
        assert error(r) == (422, "validation_error"), bad
    assert [v["label"] for v in versions(api)] == ["standard@1"]  # validating stores nothing


def test_a_scheduled_version_takes_force_at_its_time_and_history_keeps_its_own(
    api: Api,
) -> None:
    api.client.put(
        "/v1/users/v1", json={"region": "US", "birth_date": "1990-01-01"}, headers=api.platform()
    )
    r = publish(api, next_version(api))
    assert r.status_code == 201, r.text
    v2 = r.json()
    assert (v2["label"], v2["effective_from"], v2["created_at"]) == (
        "standard@2",
        "2026-01-01T01:00:00Z",
        START,
    )
    assert (v2["scheduled"], v2["in_force"], v2["stored"]) == (True, False, True)
    assert v2["document"]["prices"][0]["packs"][0] == {"coins": 70, "price_minor": 99}
    listed = versions(api)
    assert [(v["label"], v["in_force"], v["scheduled"], v["stored"]) for v in listed] == [
        ("standard@2", False, True, True),
        ("standard@1", True, False, True),  # the shipped file, stored first: history is whole
    ]

    before = buy(api, "v1", "buy-1")
    grant = api.grant("user:v1:coins", 5, "g-1")
    assert (before["policy_version"], before["price"]["amount"]) == ("standard@1", 84)
    assert grant["policy_version"] == "standard@1"

    api.clock.advance(timedelta(minutes=59))
    assert api.client.get("/v1/policy", headers=api.admin()).json()["label"] == "standard@1"
    api.clock.advance(timedelta(minutes=1))  # 01:00: the version's time
    assert api.client.get("/v1/policy", headers=api.admin()).json()["label"] == "standard@2"
    assert [(v["label"], v["in_force"], v["scheduled"]) for v in versions(api)] == [
        ("standard@2", True, False),
        ("standard@1", False, False),
    ]
    after = buy(api, "v1", "buy-2")
    assert (after["policy_version"], after["price"]["amount"]) == ("standard@2", 99)
    later_grant = api.grant("user:v1:coins", 5, "g-2")
    assert later_grant["policy_version"] == "standard@2"

    # what was made under standard@1 stays so, price and all
    kept = api.client.get(f"/v1/purchases/{before['id']}", headers=api.user("v1")).json()
    assert (kept["policy_version"], kept["price"]["amount"]) == ("standard@1", 84)
    txn = api.client.get(f"/v1/admin/transactions/{grant['id']}", headers=api.admin()).json()
    assert txn["policy_version"] == "standard@1"


def test_versions_are_immutable_and_refusals_move_nothing(api: Api) -> None:
    assert publish(api, next_version(api)).status_code == 201
    again = publish(api, next_version(api, description="changed my mind"))
    assert error(again) == (409, "policy_version_exists")
    assert again.json()["error"]["details"]["label"] == "standard@2"
    assert error(publish(api, next_version(api, version=1))) == (409, "policy_version_exists")
    assert document(api, "standard@2")["description"] == "dearer small packs"

    bad = next_version(api, version=3)
    bad["gifts"]["creator_share_percent"] = 150
    r = publish(api, bad)
    assert error(r) == (422, "invalid_policy")
    assert r.json()["error"]["details"]["problems"][0].startswith("gifts.creator_share_percent")
    for huge in (2**31, 10**30):  # beyond the 32-bit column: validate and publish both say so
        doc = next_version(api, version=huge)
        assert not validate(api, doc)["valid"]
        assert error(publish(api, doc)) == (422, "invalid_policy")
    for far in ("9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00"):  # beyond UTC's years
        r = publish(api, next_version(api, version=3, effective_from=far))
        assert error(r) == (422, "invalid_policy"), r.text
    early = next_version(api, version=3, effective_from="2026-01-01T00:30:00Z")
    [problem] = r2 = publish(api, early).json()["error"]["details"]["problems"]
    assert problem.startswith("effective_from: must be after 2026-01-01T01:00:00Z"), r2
    assert error(publish(api, next_version(api, version=3, id="seed-000"))) == (
        422,
        "invalid_policy",
    )
    assert [v["label"] for v in versions(api)] == ["standard@2", "standard@1"]

    audit = api.client.get(
        "/v1/admin/audit", params={"action": "policy.publish"}, headers=api.admin()
    ).json()["data"]
    assert [(e["target"], e["status_code"]) for e in reversed(audit)] == [
        ("policy:standard@2", 201),
        ("policy:standard@2", 409),
        ("policy:standard@1", 409),
        ("policy:standard@3", 422),
        ("policy:standard@2147483648", 422),  # versions beyond the column
        ("policy:standard@1000000000000000000000000000000", 422),
        ("policy:standard@3", 422),  # the two effective_from beyond UTC's years
        ("policy:standard@3", 422),
        ("policy:standard@3", 422),
        ("policy:seed-000@3", 422),
    ]
    assert audit[-1]["after"]["label"] == "standard@2"


def test_effective_now_means_the_servers_now(api: Api) -> None:
    api.clock.advance(timedelta(days=1))
    now = api.clock.now()
    sent = (now - timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
    r = publish(api, next_version(api, effective_from=sent))
    assert r.status_code == 201, r.text
    assert r.json()["effective_from"] == "2026-01-02T00:00:00Z"  # not two minutes back
    assert r.json()["in_force"] is True and r.json()["scheduled"] is False
    assert api.client.get("/v1/policy", headers=api.admin()).json()["label"] == "standard@2"


def test_only_admins(api: Api) -> None:
    api.create_users("u1")
    doc = next_version(api)
    for method, path, body in (
        ("GET", "/v1/admin/policies", None),
        ("GET", "/v1/admin/policies/standard@1", None),
        ("POST", "/v1/admin/policies/validate", {"document": doc}),
        ("POST", "/v1/admin/policies", {"document": doc}),
    ):
        for headers, expected in (
            (api.user("u1"), (403, "forbidden")),
            (api.platform(), (403, "forbidden")),
            ({}, (401, "unauthenticated")),
        ):
            r = api.client.request(method, path, json=body, headers=headers)
            assert error(r) == expected, (method, path)
    assert [v["label"] for v in versions(api)] == ["standard@1"]
