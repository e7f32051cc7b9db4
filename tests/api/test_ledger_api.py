"""Admin value endpoints and the wallet through HTTP: transfers, idempotency, pending, reversal."""

from __future__ import annotations

from datetime import timedelta

import httpx

from .conftest import SECRET, Api

GRANTS = "platform:equity:grants"


def posting(src: str, dst: str, amount: int, asset: str = "COIN") -> dict[str, object]:
    return {"source": src, "destination": dst, "asset": asset, "amount": amount}


def test_transfer_then_wallet_and_history(api: Api) -> None:
    api.grant("user:alice:coins", 100, "g1")
    api.grant("creator:alice:diamonds", 41650, "g2", asset="DIAMOND")
    r = api.client.post(
        "/v1/admin/transfers",
        json={
            "postings": [posting("user:alice:coins", "platform:equity:corrections", 30)],
            "memo": "fix",
        },
        headers=api.admin("t1"),
    )
    assert r.status_code == 201 and r.json()["memo"] == "fix"
    wallet = api.client.get("/v1/wallet", headers=api.user("alice")).json()
    assert wallet["user_id"] == "alice"
    assert {b["account"]: b["display"] for b in wallet["balances"]} == {
        "creator:alice:diamonds": "416.50",
        "user:alice:coins": "70",
    }
    assert {t["asset"]: t["available"]["amount"] for t in wallet["totals"]} == {
        "COIN": 70,
        "DIAMOND": 41650,
    }
    assert r.json()["policy_version"] == "standard@1"
    page = api.client.get("/v1/transactions?limit=2", headers=api.user("alice")).json()
    assert [(e["account"], e["amount"]) for e in page["data"]] == [
        ("user:alice:coins", -30),
        ("creator:alice:diamonds", 41650),
    ]
    rest = api.client.get(
        f"/v1/transactions?limit=2&cursor={page['next_cursor']}", headers=api.user("alice")
    ).json()
    assert [(e["account"], e["amount"]) for e in rest["data"]] == [("user:alice:coins", 100)]
    assert rest["next_cursor"] is None


def test_idempotency_over_http(api: Api) -> None:
    api.grant("user:a:coins", 10, "g1")
    api.create_users("b")
    body = {"postings": [posting("user:a:coins", "user:a:coins:bonus", 10)]}
    first = api.client.post("/v1/admin/transfers", json=body, headers=api.admin("same"))
    again = api.client.post("/v1/admin/transfers", json=body, headers=api.admin("same"))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = api.client.post(
        "/v1/admin/transfers",
        json={"postings": [posting("user:a:coins", "user:a:coins:bonus", 9)]},
        headers=api.admin("same"),
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    missing = api.client.post("/v1/admin/transfers", json=body, headers=api.admin())
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "idempotency_key_required"
    a = api.client.get("/v1/users/a/wallet", headers=api.platform()).json()
    assert a["balances"] == [
        {"account": "user:a:coins", "asset": "COIN", "amount": 0, "display": "0"},
        {"account": "user:a:coins:bonus", "asset": "COIN", "amount": 10, "display": "10"},
    ]


def test_insufficient_funds_is_409_and_replayed(api: Api) -> None:
    api.create_users("poor")
    body = {"postings": [posting("user:poor:coins", "platform:revenue:gifts", 1)]}
    r = api.client.post("/v1/admin/transfers", json=body, headers=api.admin("p1"))
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "insufficient_funds"
    assert err["details"] == {
        "account": "user:poor:coins",
        "asset": "COIN",
        "available": 0,
        "required": 1,
    }
    api.grant("user:poor:coins", 5, "g")
    assert (
        api.client.post("/v1/admin/transfers", json=body, headers=api.admin("p1")).status_code
        == 409
    )


def test_bad_accounts_and_assets_are_422_and_move_nothing(api: Api) -> None:
    api.create_users("b")
    for p, code in (
        (posting("nobody:x", "user:b:coins", 1), "invalid_account"),
        (posting(GRANTS, "user:b:coins", 1, asset="XXX"), "unknown_asset"),
        (posting("user:b:coins", "user:b:coins", 1), "unbalanced_transaction"),
    ):
        r = api.client.post("/v1/admin/transfers", json={"postings": [p]}, headers=api.admin("x"))
        assert (r.status_code, r.json()["error"]["code"]) == (422, code)
    # 422s are not stored: the same key still works for a valid request
    ok = api.client.post(
        "/v1/admin/transfers",
        json={"postings": [posting(GRANTS, "user:b:coins", 1)]},
        headers=api.admin("x"),
    )
    assert ok.status_code == 201


def test_reverse_and_read_transaction(api: Api) -> None:
    txn = api.grant("user:a:coins", 10, "g1")
    r = api.client.post(
        f"/v1/admin/transactions/{txn['id']}/reverse",
        json={"memo": "oops"},
        headers=api.admin("r1"),
    )
    assert r.status_code == 201 and r.json()["reverses"] == txn["id"]
    again = api.client.post(
        f"/v1/admin/transactions/{txn['id']}/reverse",
        json={"memo": "oops"},
        headers=api.admin("r2"),
    )
    assert again.json()["error"]["code"] == "already_reversed"
    got = api.client.get(f"/v1/admin/transactions/{r.json()['id']}", headers=api.admin())
    assert got.json()["postings"][0]["source"] == "user:a:coins"
    assert (
        api.client.get("/v1/admin/transactions/123456789", headers=api.admin()).status_code == 404
    )
    bal = api.client.get("/v1/admin/balances", params={"path": "user:a:coins"}, headers=api.admin())
    assert bal.json()["balances"][0]["amount"] == 0


def hold_200(api: Api, idem: str, expires_at: str) -> httpx.Response:
    """A pending transfer of 2.00 diamonds from creator c towards payouts:in_flight."""
    r: httpx.Response = api.client.post(
        "/v1/admin/pending-transfers",
        json={
            "source": "creator:c:diamonds",
            "destination": "payouts:in_flight",
            "asset": "DIAMOND",
            "amount": 200,
            "expires_at": expires_at,
        },
        headers=api.admin(idem),
    )
    return r


def test_pending_transfer_lifecycle(api: Api) -> None:
    api.grant("creator:c:diamonds", 500, "g1", asset="DIAMOND")
    r = hold_200(api, "p1", (api.clock.now() + timedelta(minutes=5)).isoformat())
    assert r.status_code == 201 and r.json()["state"] == "pending"
    pid = r.json()["id"]
    posted = api.client.post(f"/v1/admin/pending-transfers/{pid}/post", headers=api.admin("p2"))
    assert posted.status_code == 200 and posted.json()["state"] == "posted"
    voided = api.client.post(f"/v1/admin/pending-transfers/{pid}/void", headers=api.admin("p3"))
    assert voided.status_code == 409
    assert voided.json()["error"]["code"] == "pending_transfer_not_pending"
    got = api.client.get(f"/v1/admin/pending-transfers/{pid}", headers=api.admin()).json()
    assert got["state"] == "posted" and got["display"] == "2.00"


def test_a_pending_transfer_needs_an_expiry_utc_can_hold(api: Api) -> None:
    """A naive time, or one whose UTC time is before year 1 or after 9999, is a 422 and holds
    nothing (the far ones were an overflow and a 500)."""
    api.grant("creator:c:diamonds", 500, "g1", asset="DIAMOND")
    for n, expires in enumerate(
        ["2026-01-01T00:05:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"]
    ):
        r = hold_200(api, f"far-{n}", expires)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error"), expires
    bal = api.client.get(
        "/v1/admin/balances", params={"path": "creator:c:diamonds"}, headers=api.admin()
    )
    assert bal.json()["balances"][0]["amount"] == 500


def test_health_ready_openapi_metrics(api: Api) -> None:
    assert api.client.get("/healthz").json()["status"] == "ok"
    ready = api.client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["checks"]["migrations"] == "ok"
    spec = api.client.get("/openapi.json").json()
    assert "/v1/admin/transfers" in spec["paths"] and "/v1/wallet" in spec["paths"]
    api.grant("user:m:coins", 1, "g1")
    text = api.client.get("/metrics").text
    assert 'giftflow_writer_commands_total{outcome="ok"}' in text


def test_api_reads_are_not_stored_by_browsers_or_proxies(api: Api) -> None:
    """One person's wallet, history or statement must not be kept in a browser's disk cache or
    by a proxy; a route with a caching rule of its own keeps it."""
    api.grant("user:nc:coins", 5, "g1")
    token = api.user("nc")
    for path in ("/v1/wallet", "/v1/transactions"):
        r = api.client.get(path, headers=token)
        assert (r.status_code, r.headers["cache-control"]) == (200, "no-store"), path
    refused = api.client.get("/v1/admin/balances", params={"path": "x"}, headers=token)
    assert refused.headers["cache-control"] == "no-store"  # errors too
    gifts = api.client.get("/v1/gifts", headers=token)
    assert gifts.headers["cache-control"] == "private, no-cache"  # its ETag rule
    assert "cache-control" not in api.client.get("/healthz").headers


def test_docs_page_is_served_from_local_assets(api: Api) -> None:
    page = api.client.get("/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    js = api.client.get("/static/swagger/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000


def test_full_writer_queue_answers_503_with_retry_after(database_url: str) -> None:
    from fastapi.testclient import TestClient

    from giftflow.api import create_app
    from giftflow.clock import FrozenClock
    from giftflow.settings import Settings

    from .conftest import make_keys

    clock = FrozenClock()
    admin, _ = make_keys(database_url, clock)
    settings = Settings(
        database_url=database_url, jwt_secret=SECRET, pending_sweep_seconds=0, writer_queue_limit=0
    )
    with TestClient(create_app(settings, clock)) as client:
        r = client.post(
            "/v1/admin/transfers",
            json={"postings": [posting(GRANTS, "user:q:coins", 1)]},
            headers={"Authorization": f"Bearer {admin}", "Idempotency-Key": "q1"},
        )
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "1"
    assert r.json()["error"]["code"] == "overloaded"
