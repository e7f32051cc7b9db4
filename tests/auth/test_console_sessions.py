"""Console sessions as an attacker would try them: the cookie is a credential like any other,
an unsafe request with it needs the CSRF token, sessions end, links expire, redirects stay home."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from giftflow.api import create_app
from giftflow.auth.apikeys import digest
from giftflow.auth.sessions import COOKIE, csrf_token, mint_demo_ticket
from giftflow.auth.tokens import mint_user_token
from giftflow.clock import FrozenClock
from giftflow.db import make_engine, unit_of_work
from giftflow.schema import api_keys, audit_log, console_sessions
from giftflow.settings import Settings
from tests.api.conftest import SECRET, make_keys


class Browser:
    """A TestClient that keeps cookies, as a browser on the console would."""

    def __init__(self, client: TestClient, clock: FrozenClock, url: str) -> None:
        self.client = client
        self.clock = clock
        self.url = url

    def signin(self, credential: str, next_path: str = "") -> tuple[int, str]:
        form = self.client.get("/signin")
        token = re.search(r'name="form_token" value="([^"]+)"', form.text)
        assert token is not None
        r = self.client.post(
            "/signin",
            data={"form_token": token.group(1), "credential": credential, "next": next_path},
            follow_redirects=False,
        )
        return r.status_code, r.headers.get("location", "")

    def csrf(self) -> str:
        cookie = self.client.cookies.get(COOKIE)
        assert cookie is not None
        return csrf_token(SECRET, digest(cookie))


@pytest.fixture
def browser(database_url: str) -> Iterator[tuple[Browser, str, str]]:
    clock = FrozenClock()
    admin, platform = make_keys(database_url, clock)
    settings = Settings(
        database_url=database_url,
        jwt_secret=SECRET,
        pending_sweep_seconds=0,
        secrets_key="test-secrets-key-0123456789abcdef",
        demo_signin=True,
    )
    with TestClient(create_app(settings, clock)) as client:
        for user in ("vi", "cre"):
            r = client.put(
                f"/v1/users/{user}",
                json={"region": "US", "birth_date": "1990-01-01", "follower_count": 5000},
                headers={"Authorization": f"Bearer {platform}"},
            )
            assert r.status_code == 201, r.text
        yield Browser(client, clock, database_url), admin, platform


def user_token(clock: FrozenClock, user_id: str) -> str:
    return mint_user_token(user_id, SECRET, clock.now(), 900)


def test_user_session_reads_and_writes_only_with_the_csrf_token(
    browser: tuple[Browser, str, str],
) -> None:
    b, _, _ = browser
    assert b.signin(user_token(b.clock, "cre"), "/creator") == (303, "/creator")
    assert b.client.get("/v1/wallet").status_code == 200  # a read needs no token
    body = {"title": "from the console"}
    refused = b.client.post("/v1/lives", json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    wrong = b.client.post("/v1/lives", json=body, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.json()["error"]["code"] == "csrf_failed"
    assert b.client.get("/v1/lives?state=active").json()["data"] == []  # nothing started
    started = b.client.post("/v1/lives", json=body, headers={"X-CSRF-Token": b.csrf()})
    assert started.status_code == 201, started.text
    assert started.json()["creator_id"] == "cre"


def test_a_user_session_is_that_user_and_nobody_else(browser: tuple[Browser, str, str]) -> None:
    b, _, _ = browser
    b.signin(user_token(b.clock, "vi"))
    assert b.client.get("/v1/users/cre/wallet").status_code in (403, 404)
    admin_only = b.client.get("/v1/admin/withdrawals")
    assert admin_only.status_code == 403
    # an Authorization header wins over the cookie: the other user's token is that user
    r = b.client.get(
        "/v1/wallet", headers={"Authorization": f"Bearer {user_token(b.clock, 'cre')}"}
    )
    assert r.status_code == 200
    assert r.json()["user_id"] == "cre"


def test_admin_session_ends_when_its_key_is_revoked(browser: tuple[Browser, str, str]) -> None:
    b, admin, _ = browser
    assert b.signin(admin) == (303, "/admin")
    assert b.client.get("/admin").status_code == 200
    assert b.client.get("/v1/admin/withdrawals").status_code == 200
    engine = make_engine(b.url, pool_size=1)
    with unit_of_work(engine) as conn:
        conn.execute(update(api_keys).values(revoked_at=b.clock.now()))
    engine.dispose()
    b.clock.advance(timedelta(seconds=10))  # past the session cache (5 s, monotonic)
    b.client.app.state.giftflow.console_sessions._entries.clear()  # type: ignore[attr-defined]
    assert b.client.get("/v1/admin/withdrawals").status_code == 401
    page = b.client.get("/admin", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/signin?next=/admin")


def test_signin_refuses_platform_keys_bad_tokens_and_a_missing_form_token(
    browser: tuple[Browser, str, str],
) -> None:
    b, _, platform = browser
    assert b.signin(platform)[0] == 401
    assert b.signin("not-a-token")[0] == 401
    expired = mint_user_token("vi", SECRET, b.clock.now() - timedelta(hours=1), 900)
    assert b.signin(expired)[0] == 401
    forged = b.client.post(
        "/signin",
        data={"form_token": "guess", "credential": user_token(b.clock, "vi")},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert COOKIE not in b.client.cookies


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_signin_never_redirects_off_site(browser: tuple[Browser, str, str], target: str) -> None:
    b, _, _ = browser
    assert b.signin(user_token(b.clock, "vi"), target) == (303, "/")


def test_signout_ends_the_session_everywhere(browser: tuple[Browser, str, str]) -> None:
    b, _, _ = browser
    b.signin(user_token(b.clock, "vi"))
    cookie = b.client.cookies.get(COOKIE)
    assert cookie is not None
    no_token = b.client.post("/signout", data={}, follow_redirects=False)
    assert no_token.status_code == 403  # a cross-site form cannot sign you out
    # nor can one sent without the cookie (SameSite=Lax keeps it off a cross-site post): the
    # answer must not clear the cookie, which a browser would apply on that navigation
    b.client.cookies.clear()
    cross_site = b.client.post("/signout", data={}, follow_redirects=False)
    assert cross_site.status_code == 303
    assert "set-cookie" not in cross_site.headers
    b.client.cookies.set(COOKIE, cookie)
    assert b.client.get("/v1/wallet").status_code == 200  # still signed in
    r = b.client.post("/signout", data={"csrf": b.csrf()}, follow_redirects=False)
    assert r.status_code == 303
    b.client.cookies.set(COOKIE, cookie)  # a stolen copy of the cookie is dead too
    assert b.client.get("/v1/wallet").status_code == 401
    engine = make_engine(b.url, pool_size=1)
    with engine.connect() as conn:
        row = conn.execute(select(console_sessions.c.revoked_at)).one()
    engine.dispose()
    assert row.revoked_at is not None


def test_sessions_expire(browser: tuple[Browser, str, str]) -> None:
    b, _, _ = browser
    b.signin(user_token(b.clock, "vi"))
    assert b.client.get("/v1/wallet").status_code == 200
    b.clock.advance(timedelta(hours=12, seconds=1))
    assert b.client.get("/v1/wallet").status_code == 401


def test_demo_links(browser: tuple[Browser, str, str]) -> None:
    b, _, _ = browser
    now = b.clock.now()
    good = mint_demo_ticket(SECRET, now, 60, next_path="/creator", user_id="cre")
    r = b.client.get(f"/signin/demo?ticket={good}", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/creator")
    assert b.client.get("/v1/wallet").json()["user_id"] == "cre"
    forged = mint_demo_ticket(
        "another-secret-0123456789abcdef-0123", now, 60, next_path="/", user_id="cre"
    )
    assert b.client.get(f"/signin/demo?ticket={forged}").status_code == 401
    off_site = mint_demo_ticket(SECRET, now, 60, next_path="//evil.example", user_id="vi")
    r = b.client.get(f"/signin/demo?ticket={off_site}", follow_redirects=False)
    assert r.headers["location"] == "/"
    b.clock.advance(timedelta(minutes=61))
    assert b.client.get(f"/signin/demo?ticket={good}").status_code == 401


def test_demo_links_are_refused_unless_the_server_allows_them(database_url: str) -> None:
    clock = FrozenClock()
    settings = Settings(database_url=database_url, jwt_secret=SECRET, pending_sweep_seconds=0)
    ticket = mint_demo_ticket(SECRET, clock.now(), 60, next_path="/", user_id="vi")
    with TestClient(create_app(settings, clock)) as client:
        r = client.get(f"/signin/demo?ticket={ticket}", follow_redirects=False)
        assert r.status_code == 404
        assert COOKIE not in client.cookies


def test_console_pages_send_a_strict_content_security_policy(
    browser: tuple[Browser, str, str],
) -> None:
    b, _, _ = browser
    page = b.client.get("/signin")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "<script>" not in page.text and "unsafe-inline" not in csp


def test_the_audit_log_is_append_only(browser: tuple[Browser, str, str]) -> None:
    b, _, _ = browser
    engine = make_engine(b.url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            conn.execute(
                audit_log.insert().values(
                    at=b.clock.now(), actor="test", action="x", method="POST", path="/x",
                    status_code=200,
                )
            )  # fmt: skip
        for statement in (update(audit_log).values(actor="someone else"), audit_log.delete()):
            with pytest.raises(Exception, match="append-only"), unit_of_work(engine) as conn:
                conn.execute(statement)
    finally:
        engine.dispose()
