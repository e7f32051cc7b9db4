"""The flags API: list, filter, page, read, resolve (once), who may call it, the gauge."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY

from tests.operations.fraud.conftest import FraudApi, OpenFraud, err, rules

# one gift request more than the limit from a new account is a burst: two sends
BURSTS = {"max_coins": 1000, "max_gifts": 1}


def three_bursts(api: FraudApi) -> list[str]:
    """Three new accounts each sending two gifts: three flags, oldest first (their users)."""
    api.creator("star")
    live = api.start("star")
    users = ["b1", "b2", "b3"]
    for user in users:
        api.viewer(user, coins=10)
        for n in (1, 2):
            r = api.gift(user, live, "rose", 1, idem=f"{user}-{n}")
            assert r.status_code == 201, r.text
    assert api.flags.scan() == 3
    return users


def gauge(kind: str) -> float | None:
    return REGISTRY.get_sample_value("giftflow_fraud_flags_open", {"kind": kind})


def resolve(api: FraudApi, flag_id: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return api.client.post(
        f"/v1/admin/flags/{flag_id}/resolve",
        json=body,
        headers=api.admin() if headers is None else headers,
    )


def test_list_filter_page_and_read(open_fraud: OpenFraud) -> None:
    with open_fraud(rules(bursts=BURSTS)) as api:
        three_bursts(api)
        flags = api.flags.list()
        assert [f["details"]["user"] for f in flags] == ["b3", "b2", "b1"]  # newest first
        assert all(f["kind"] == "new_account_burst" and f["state"] == "open" for f in flags)
        assert all(f["resolved_at"] is None and f["resolution"] is None for f in flags)
        assert flags[0]["created_at"] == "2026-01-01T00:00:00Z"
        assert api.flags.list(kind="gifting_ring") == []
        assert api.flags.list(state="resolved") == []
        assert len(api.flags.list(state="open", kind="new_account_burst")) == 3

        r = api.client.get("/v1/admin/flags", params={"limit": 2}, headers=api.admin())
        page = r.json()
        assert [f["id"] for f in page["data"]] == [flags[0]["id"], flags[1]["id"]]
        assert page["next_cursor"] == flags[1]["id"]
        r = api.client.get(
            "/v1/admin/flags",
            params={"limit": 2, "cursor": page["next_cursor"]},
            headers=api.admin(),
        )
        assert [f["id"] for f in r.json()["data"]] == [flags[2]["id"]]
        assert r.json()["next_cursor"] is None

        one = api.client.get(f"/v1/admin/flags/{flags[2]['id']}", headers=api.admin())
        assert one.status_code == 200 and one.json() == flags[2]
        assert err(api.client.get("/v1/admin/flags/999999", headers=api.admin())) == (
            404,
            "not_found",
        )
        bad = api.client.get("/v1/admin/flags", params={"kind": "nope"}, headers=api.admin())
        assert bad.status_code == 422
        bad = api.client.get("/v1/admin/flags", params={"state": "closed"}, headers=api.admin())
        assert bad.status_code == 422


def test_resolve_once_with_a_note(open_fraud: OpenFraud) -> None:
    with open_fraud(rules(bursts=BURSTS)) as api:
        three_bursts(api)
        assert gauge("new_account_burst") == 3 and gauge("gifting_ring") == 0
        newest, middle, oldest = api.flags.list()
        before = api.flags.untouched()

        r = resolve(api, oldest["id"], {"resolution": "confirmed", "note": "same device"})
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["state"] == "resolved" and done["resolution"] == "confirmed"
        assert done["note"] == "same device" and done["resolved_by"] == "apikey:1 ops"
        assert done["resolved_at"] == "2026-01-01T00:00:00Z"
        assert done["details"] == oldest["details"]
        assert gauge("new_account_burst") == 2

        again = resolve(api, oldest["id"], {"resolution": "dismissed", "note": "oops"})
        assert err(again) == (409, "flag_already_resolved")
        assert again.json()["error"]["details"]["resolution"] == "confirmed"
        assert api.client.get(f"/v1/admin/flags/{oldest['id']}", headers=api.admin()).json() == done

        r = resolve(api, middle["id"], {"resolution": "dismissed", "note": "a fan"})
        assert r.status_code == 200 and r.json()["resolution"] == "dismissed"
        assert [f["id"] for f in api.flags.list(state="open")] == [newest["id"]]
        assert {f["id"] for f in api.flags.list(state="resolved")} == {oldest["id"], middle["id"]}
        assert gauge("new_account_burst") == 1
        # resolving moved nothing and froze nobody
        assert api.flags.untouched() == before

        for body in (
            {"resolution": "confirmed"},  # a note is required
            {"resolution": "confirmed", "note": ""},
            {"resolution": "maybe", "note": "x"},
            {"resolution": "confirmed", "note": "x", "freeze": True},  # unknown field
            {"resolution": "confirmed", "note": "x" * 1001},
        ):
            assert resolve(api, newest["id"], body).status_code == 422, body
        assert err(resolve(api, "999999", {"resolution": "confirmed", "note": "x"})) == (
            404,
            "not_found",
        )
        assert api.flags.list(state="open")[0]["id"] == newest["id"]


@pytest.mark.parametrize("who", ["user", "platform", "nobody"])
def test_only_admins(open_fraud: OpenFraud, who: str) -> None:
    with open_fraud(rules(bursts=BURSTS)) as api:
        three_bursts(api)
        flag = api.flags.list()[0]
        api.creator("someone")
        headers = {"user": api.user("b1"), "platform": api.platform(), "nobody": {}}[who]
        expected = 401 if who == "nobody" else 403
        calls = [
            api.client.get("/v1/admin/flags", headers=headers),
            api.client.get(f"/v1/admin/flags/{flag['id']}", headers=headers),
            resolve(api, flag["id"], {"resolution": "dismissed", "note": "me"}, headers),
            api.client.post("/v1/admin/flags/scan", headers=headers),
        ]
        assert [c.status_code for c in calls] == [expected] * 4
        assert api.flags.list()[0] == flag  # still open, untouched
