"""Signing in through the browser and the shell every page shares."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Console, axe_violations


def test_demo_link_signs_in_and_sign_out_ends_it(console: Console, page: Any) -> None:
    console.create_user("smoke-viewer")
    page.goto(console.signin_link("/", user_id="smoke-viewer"))
    assert page.url == f"{console.url}/"
    assert page.get_by_role("heading", name="Live now").is_visible()
    assert page.locator(".who").inner_text() == "smoke-viewer"
    cookie = next(c for c in page.context.cookies() if c["name"] == "gf_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{console.url}/signin")
    page.goto(f"{console.url}/creator")
    assert "/signin?next=" in page.url


def test_signin_form_with_an_admin_key(console: Console, page: Any) -> None:
    page.goto(f"{console.url}/admin")
    page.get_by_label("Admin API key").fill(console.admin_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{console.url}/admin")
    assert page.locator(".who").inner_text() == "console-admin"
    assert axe_violations(page) == []
