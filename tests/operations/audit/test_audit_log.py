"""The audit log: one row per admin request that could change something — who, what, when, the
target, the body (secrets redacted), before and after, the status — refusals included; nothing
for users or platform keys; rows can never change."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from giftflow.audit.values import REDACTED, redact
from giftflow.auth.apikeys import create_api_key, digest
from giftflow.auth.sessions import COOKIE, csrf_token, open_session
from giftflow.db import make_engine, unit_of_work
from giftflow.schema import api_keys, audit_log
from tests.api.conftest import SECRET, Api
from tests.api.test_auth_and_errors import error

GRANT = "platform:equity:grants"


def entries(api: Api, **params: Any) -> list[dict[str, Any]]:
    r = api.client.get("/v1/admin/audit", params=params, headers=api.admin())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "list"
    data: list[dict[str, Any]] = body["data"]
    return data


def row_count(api: Api) -> int:
    with api.client.app.state.giftflow.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


def transfer_body(destination: str, amount: int) -> dict[str, Any]:
    return {
        "postings": [
            {"source": GRANT, "destination": destination, "asset": "COIN", "amount": amount}
        ],
        "memo": "welcome",
    }


def test_an_admin_transfer_is_written_with_who_what_when_and_after(api: Api) -> None:
    api.create_users("u1")
    r = api.client.post(
        "/v1/admin/transfers", json=transfer_body("user:u1:coins", 70), headers=api.admin("t-1")
    )
    assert r.status_code == 201, r.text
    txn = r.json()
    [row] = entries(api)
    assert row["actor"].startswith("apikey:") and row["actor"].endswith(" ops")
    assert row["action"] == "transfer.create"
    assert row["target"] == f"transaction:{txn['id']}"  # from the answer: a create names it
    assert (row["method"], row["path"], row["status_code"]) == ("POST", "/v1/admin/transfers", 201)
    assert row["at"] == "2026-01-01T00:00:00Z"  # the app clock
    assert row["request"] == transfer_body("user:u1:coins", 70)
    assert row["before"] is None
    assert row["after"] == txn
    assert row["object"] == "audit_entry" and isinstance(row["id"], str)


def test_refusals_are_written_with_their_status_and_the_state_before(api: Api) -> None:
    api.create_users("u1")
    txn = api.grant("user:u1:coins", 70, "g-1")
    first = api.client.post(
        f"/v1/admin/transactions/{txn['id']}/reverse", json={}, headers=api.admin("rev-1")
    )
    assert first.status_code == 201, first.text
    again = api.client.post(
        f"/v1/admin/transactions/{txn['id']}/reverse", json={}, headers=api.admin("rev-2")
    )
    assert error(again) == (409, "already_reversed")
    bad = api.client.post(
        "/v1/admin/transfers", json=transfer_body("user:u1:coins", -5), headers=api.admin("t-2")
    )
    assert error(bad) == (422, "validation_error")

    history = entries(api, target=f"transaction:{txn['id']}")  # the grant created it
    assert [(e["action"], e["status_code"]) for e in history] == [
        ("transaction.reverse", 409),
        ("transaction.reverse", 201),
        ("transfer.create", 201),
    ]
    reversals = history[:2]
    refused, done = reversals
    assert done["before"] == txn  # the transaction as GET showed it before the action
    assert done["after"]["reverses"] == txn["id"]
    assert refused["after"]["error"]["code"] == "already_reversed"  # the answer, not redacted
    invalid, _grant = entries(api, action="transfer.create")
    assert invalid["status_code"] == 422 and invalid["target"] is None
    assert invalid["request"]["postings"][0]["amount"] == -5


def test_a_retry_with_the_same_key_is_a_second_row_showing_nothing_moved(api: Api) -> None:
    """Decision: every request is written, replays included. The replay's row has the same
    answer and status, and its ``before`` already shows the state the first one left."""
    api.create_users("u1")
    api.grant("user:u1:coins", 100, "g-1")
    r = api.client.post(
        "/v1/admin/pending-transfers",
        json={"source": "user:u1:coins", "destination": GRANT, "asset": "COIN", "amount": 30},
        headers=api.admin("p-1"),
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    posts = [
        api.client.post(f"/v1/admin/pending-transfers/{pid}/post", headers=api.admin("post-1"))
        for _ in range(2)
    ]
    assert [p.status_code for p in posts] == [200, 200]
    assert posts[1].headers.get("idempotent-replayed") == "true"
    assert posts[1].json() == posts[0].json()

    second, first, create = entries(api, target=f"pending_transfer:{pid}")
    assert create["action"] == "pending_transfer.create"
    assert first["action"] == second["action"] == "pending_transfer.post"
    assert first["before"]["state"] == "pending" and first["after"]["state"] == "posted"
    assert second["before"]["state"] == "posted"  # nothing left to move: a replay
    assert second["after"] == first["after"] and second["status_code"] == first["status_code"]
    assert [e["id"] for e in entries(api, action="pending_transfer.*")] == [
        second["id"],
        first["id"],
        create["id"],
    ]


def test_users_and_platform_keys_write_nothing(api: Api) -> None:
    api.create_users("u1", "u2")  # platform key: PUT /v1/users
    assert api.client.put("/v1/users/u1", json={}, headers=api.user("u1")).status_code == 403
    r = api.client.post(
        "/v1/admin/transfers", json=transfer_body("user:u1:coins", 5), headers=api.user("u1")
    )
    assert error(r) == (403, "forbidden")
    r = api.client.post(
        "/v1/admin/transfers", json=transfer_body("user:u1:coins", 5), headers=api.platform()
    )
    assert error(r) == (403, "forbidden")
    r = api.client.post("/v1/admin/transfers", json=transfer_body("user:u1:coins", 5))
    assert error(r) == (401, "unauthenticated")
    r = api.client.post(
        "/v1/admin/transfers",
        json=transfer_body("user:u1:coins", 5),
        headers=api.headers("gfk_not-a-key", "k"),
    )
    assert error(r) == (401, "unauthenticated")
    assert api.client.post("/v1/admin/nowhere", headers=api.admin()).status_code == 404
    assert row_count(api) == 0


def test_only_admins_read_the_log(api: Api) -> None:
    assert error(api.client.get("/v1/admin/audit", headers=api.user("u1"))) == (403, "forbidden")
    assert error(api.client.get("/v1/admin/audit", headers=api.platform())) == (403, "forbidden")
    assert error(api.client.get("/v1/admin/audit")) == (401, "unauthenticated")
    r = api.client.get("/v1/admin/audit", params={"limit": 0}, headers=api.admin())
    assert error(r) == (422, "validation_error")
    r = api.client.get("/v1/admin/audit", params={"cursor": "x"}, headers=api.admin())
    assert error(r) == (422, "validation_error")
    assert row_count(api) == 0  # reading writes nothing


def test_an_undeclared_admin_route_is_written_as_method_and_route(api: Api) -> None:
    """A key with both scopes acting on a platform route: still an admin's request."""
    engine = make_engine(api.client.app.state.giftflow.settings.database_url, pool_size=1)  # type: ignore[attr-defined]
    try:
        with unit_of_work(engine) as conn:
            both, record = create_api_key(conn, "both", {"admin", "platform"}, api.clock.now())
    finally:
        engine.dispose()
    r = api.client.put("/v1/users/u7", json={"region": "FR"}, headers=api.headers(both))
    assert r.status_code == 201, r.text
    [row] = entries(api)
    assert row["action"] == "PUT /v1/users/{user_id}"
    assert row["actor"] == f"apikey:{record.id} both"
    assert row["target"] == "user:u7"  # the answer's object and id
    assert row["after"]["region"] == "FR" and row["before"] is None


def test_secret_looking_fields_are_redacted_at_any_depth(api: Api) -> None:
    body = {
        "postings": [{"source": GRANT, "destination": "user:u1:coins", "asset": "COIN"}],
        "totp": "123456",
        "card": {"number": "4242 4242 4242 4242"},
        "meta": {"recovery_codes": ["a", "b"], "api_key": "gfk_x", "note": "kept"},
    }
    r = api.client.post("/v1/admin/transfers", json=body, headers=api.admin("t-1"))
    assert error(r) == (422, "validation_error")
    [row] = entries(api)
    assert row["request"]["totp"] == REDACTED and row["request"]["card"] == REDACTED
    assert row["request"]["meta"] == {
        "recovery_codes": REDACTED,
        "api_key": REDACTED,
        "note": "kept",
    }
    assert row["request"]["postings"][0]["asset"] == "COIN"
    assert redact([{"Password": "x", "client_secret": "y", "n": [{"token": 1}]}]) == [
        {"Password": REDACTED, "client_secret": REDACTED, "n": [{"token": REDACTED}]}
    ]


def test_rows_cannot_be_changed_or_deleted(api: Api) -> None:
    api.create_users("u1")
    api.grant("user:u1:coins", 70, "g-1")
    [row] = entries(api)
    engine = make_engine(api.client.app.state.giftflow.settings.database_url, pool_size=1)  # type: ignore[attr-defined]
    try:
        for statement in (
            update(audit_log).values(actor="someone else"),
            audit_log.delete().where(audit_log.c.id == int(row["id"])),
        ):
            with pytest.raises(Exception, match="append-only"), unit_of_work(engine) as conn:
                conn.execute(statement)
    finally:
        engine.dispose()
    assert entries(api) == [row]


def test_filters_and_pages(api: Api) -> None:
    api.create_users("u1", "u2")
    for n in range(3):
        api.grant("user:u1:coins", 10 + n, f"g1-{n}")
    api.grant("user:u2:coins", 5, "g2")
    everything = entries(api)
    assert len(everything) == 4
    assert [int(e["id"]) for e in everything] == sorted(
        (int(e["id"]) for e in everything), reverse=True
    )
    key_id = everything[0]["actor"].split()[0]  # "apikey:1"
    assert len(entries(api, actor=key_id)) == 4
    assert entries(api, actor="apikey:999") == []
    assert len(entries(api, action="transfer.*")) == 4
    assert entries(api, action="transfer.") == []
    target = everything[0]["target"]
    assert [e["target"] for e in entries(api, target=target)] == [target]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        r = api.client.get("/v1/admin/audit", params=params, headers=api.admin())
        seen += [e["id"] for e in r.json()["data"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["id"] for e in everything]


def test_filters_refuse_nul_characters(api: Api) -> None:
    """PostgreSQL text cannot hold NUL: a filter with one is a 422, not a database error (found
    by the fuzz test); the users' search likewise."""
    for name in ("target", "actor", "action"):
        r = api.client.get("/v1/admin/audit", params={name: "a\x00"}, headers=api.admin())
        assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error"), name
    for params in ({"q": "\x00"}, {"cursor": "\x00"}, {"cursor": "a b"}):
        r = api.client.get("/v1/admin/users", params=params, headers=api.admin())
        assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error"), params


def test_a_path_id_that_is_no_id_reads_no_row_before_and_logs_nothing(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """The before-loader took "²" for digits (str.isdigit does) and int() then raised, and a
    NUL from %00 made the row unwritable on PostgreSQL: the attempt went unrecorded (both found
    by the fuzz test)."""
    for dispute_id in ("²", "١٢", "a%00"):
        r = api.client.post(
            f"/v1/admin/disputes/{dispute_id}/settle",
            json={"note": "x"},
            headers=api.admin(f"odd-{len(dispute_id)}-{ord(dispute_id[0])}"),
        )
        assert r.status_code == 404, r.text
    assert not [rec for rec in caplog.records if rec.levelname == "ERROR"]
    rows = entries(api)  # every attempt is written, the NUL as it was sent
    assert sorted(row["target"] for row in rows) == sorted(
        ["dispute:a%00", "dispute:١٢", "dispute:²"]
    )
    assert all(row["before"] is None and row["status_code"] == 404 for row in rows)


def test_an_admin_console_session_is_written_as_its_key(api: Api) -> None:
    engine = make_engine(api.client.app.state.giftflow.settings.database_url, pool_size=1)  # type: ignore[attr-defined]
    try:
        with unit_of_work(engine) as conn:
            key_id = conn.execute(
                select(api_keys.c.id).where(api_keys.c.name == "ops")
            ).scalar_one()
            cookie = open_session(conn, api.clock.now(), timedelta(hours=1), api_key_id=key_id)
    finally:
        engine.dispose()
    api.create_users("u1")
    api.client.cookies.set(COOKIE, cookie)
    try:
        r = api.client.post(
            "/v1/admin/transfers",
            json=transfer_body("user:u1:coins", 7),
            headers={"X-CSRF-Token": csrf_token(SECRET, digest(cookie)), "Idempotency-Key": "s-1"},
        )
        assert r.status_code == 201, r.text
        forged = api.client.post(
            "/v1/admin/transfers",
            json=transfer_body("user:u1:coins", 7),
            headers={"Idempotency-Key": "s-2"},
        )
        assert error(forged) == (403, "csrf_failed")
    finally:
        api.client.cookies.clear()
    refused, done = entries(api)
    assert done["actor"] == f"apikey:{key_id} ops" and done["status_code"] == 201
    assert refused["actor"] == done["actor"] and refused["status_code"] == 403  # an attempt


def test_a_session_cookie_is_read_as_the_app_reads_it(api: Api) -> None:
    """The audit read the Cookie header by hand (the first of duplicate names, quotes kept)
    while the app used Starlette's parser (the last, unquoted): with either trick an admin's
    request on a route that declares no audit intent was served and left no row."""
    engine = make_engine(api.client.app.state.giftflow.settings.database_url, pool_size=1)  # type: ignore[attr-defined]
    try:
        with unit_of_work(engine) as conn:
            _, record = create_api_key(conn, "both", {"admin", "platform"}, api.clock.now())
            cookie = open_session(conn, api.clock.now(), timedelta(hours=1), api_key_id=record.id)
    finally:
        engine.dispose()
    csrf = csrf_token(SECRET, digest(cookie))
    tricks = [
        f"{COOKIE}=nope; {COOKIE}={cookie}",
        f'{COOKIE}="{cookie}"',
        f"{COOKIE} ={cookie}",
        f"{COOKIE}= {cookie}",
    ]
    for n, header in enumerate(tricks):
        headers = {"Cookie": header, "X-CSRF-Token": csrf}
        r = api.client.put(f"/v1/users/t{n}", json={"region": "FR"}, headers=headers)
        assert r.status_code == 201, (header, r.text)
    rows = entries(api)
    assert sorted((row["target"], row["actor"]) for row in rows) == [
        (f"user:t{n}", f"apikey:{record.id} both") for n in range(len(tricks))
    ]


def test_a_failing_route_is_written_as_500(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from giftflow.live.catalog import service

    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "create", broken)
    with pytest.raises(RuntimeError, match="boom"):
        api.client.post(
            "/v1/admin/gifts",
            json={"id": "comet", "name": "Comet", "price": 10},
            headers=api.admin(),
        )
    [row] = entries(api)
    assert (row["action"], row["status_code"], row["after"]) == ("gift.create", 500, None)
