"""A creator's money out, in the browser: enrol an authenticator (codes computed from the secret
the page shows), add a PayPal address, withdraw with a code, watch the payout reach ``paid``,
download a statement.

The server runs under a stored version of ``standard`` with no earnings hold and no cooling-off
(``cashout.hold_days = 0``, ``method_cooling_off_hours = 0``), in force from a minute before the
module starts: the diamonds a gift earns can be withdrawn at once through a method just added.
Every withdrawal waits for an operator (``auto_approve_below_minor`` unset): the test approves it
through the admin API, as the back office would.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect

from giftflow.clock import SystemClock
from giftflow.db import make_engine, unit_of_work
from giftflow.money.policy import load_profile, parse_policy
from giftflow.money.repository import store_policy
from tests.web.conftest import PHONE, Console, axe_violations, start_console

WAIT = 15_000
PAYOUT_WAIT = 40_000  # the payout job runs every 6 s; the sandbox settles after 1 s


def policy_without_waits() -> Any:
    """``standard``, version 2: no hold and no cooling-off, in force from a minute ago."""
    document = json.loads(load_profile("standard").model_dump_json())
    document["version"] = 2
    document["effective_from"] = (SystemClock().now() - timedelta(minutes=1)).isoformat()
    document["description"] = "browser tests: no earnings hold, no payout-method cooling-off"
    document["cashout"]["hold_days"] = 0
    document["cashout"]["method_cooling_off_hours"] = 0
    document["cashout"]["auto_approve_below_minor"] = None
    return parse_policy(json.dumps(document))


@pytest.fixture(scope="module")
def payouts_console(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    base = tmp_path_factory.mktemp("creator-payouts")
    template = base / "template.db"
    shutil.copy(sqlite_template, template)
    engine = make_engine(f"sqlite:///{template}", pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            now = SystemClock().now()
            store_policy(conn, load_profile("standard"), now)
            store_policy(conn, policy_without_waits(), now)
    finally:
        engine.dispose()
    running = start_console(template, base)
    try:
        yield running
    finally:
        running.http.close()
        running.server.stop()


@pytest.fixture(scope="module")
def creator(payouts_console: Console) -> str:
    """``cr-payee`` (KYC verified, enough followers) with diamonds from a live: 600 coins of
    gifts, 300.00 diamonds, $1.50 at the standard cash-out rate."""
    console = payouts_console
    console.create_user("cr-payee", follower_count=5000, kyc_status="verified")
    console.create_user("cr-payer")
    console.buy_coins("cr-payer", 700, "cr-payer-coins")
    live_id = console.start_live("cr-payee", "Payday live")
    r = console.http.post(
        f"/v1/lives/{live_id}/gifts",
        json={"gift_id": "panda", "count": 100},
        headers=console.as_user("cr-payer", "cr-payer-pandas"),
    )
    assert r.status_code == 201, r.text
    r = console.http.post(
        f"/v1/lives/{live_id}/gifts",
        json={"gift_id": "rose", "count": 100},
        headers=console.as_user("cr-payer", "cr-payer-roses"),
    )
    assert r.status_code == 201, r.text
    return "cr-payee"


def enrol_with_a_method(console: Console, user: str, email: str) -> tuple[pyotp.TOTP, str]:
    """Through the API: an active authenticator and a PayPal method (with a recovery code);
    the TOTP and the method's id."""
    r = console.http.post("/v1/creator/totp", headers=console.as_user(user))
    assert r.status_code == 201, r.text
    totp = pyotp.TOTP(r.json()["secret"])
    r = console.http.post(
        "/v1/creator/totp/confirm", json={"code": totp.now()}, headers=console.as_user(user)
    )
    assert r.status_code == 200, r.text
    r = console.http.post(
        "/v1/payout-methods",
        json={"kind": "paypal", "email": email, "totp": r.json()["recovery_codes"][0]},
        headers=console.as_user(user),
    )
    assert r.status_code == 201, r.text
    return totp, str(r.json()["id"])


def earnings(console: Console, user: str) -> dict[str, Any]:
    r = console.http.get("/v1/creator/earnings", headers=console.as_user(user))
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def test_enrol_add_a_method_withdraw_and_see_it_paid(
    payouts_console: Console, creator: str, page: Any
) -> None:
    console = payouts_console
    start = earnings(console, creator)
    assert start["hold_days"] == 0 and start["available"]["diamonds"]["amount"] == 30000
    errors: list[Any] = []
    page.on("pageerror", lambda error: errors.append(error))
    page.goto(console.signin_link("/creator", user_id=creator))
    expect(page.locator("#available-diamonds")).to_have_text(
        start["available"]["diamonds"]["display"]
    )
    expect(page.locator("#kyc-text")).to_have_text("Your identity is verified.")

    # enrol: the QR code is an <img> of the API's data URI, the secret is shown for typing in
    page.get_by_role("button", name="Set up an authenticator").click()
    qr = page.get_by_role("img", name="QR code to add giftflow")
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    page.wait_for_function(  # the browser could decode and draw it (not a broken image)
        "() => { const i = document.getElementById('totp-qr'); "
        "return i.complete && i.naturalWidth > 0; }"
    )
    assert axe_violations(page) == []  # the enrolment view: QR code, key, code field
    secret = page.locator("#totp-secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Confirm").click()
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    recovery = [c.strip() for c in codes.all_inner_texts()]
    r = console.http.get("/v1/creator/totp", headers=console.as_user(creator))
    assert r.json()["state"] == "active"
    page.get_by_role("button", name="I saved them").click()
    expect(page.locator("#totp-state")).to_contain_text("10 recovery codes left")

    # a wrong code is refused with the API's message, and nothing is stored
    methods = page.locator("#methods")
    methods.get_by_label("PayPal e-mail").fill("payee@example.com")
    methods.get_by_label("Authenticator or recovery code").fill("000000")
    page.get_by_role("button", name="Add method").click()
    expect(page.locator("#method-result [role=alert]")).to_contain_text("(second_factor_invalid)")
    r = console.http.get("/v1/payout-methods", headers=console.as_user(creator))
    assert r.json()["data"] == []

    # a PayPal address, with a recovery code (the authenticator's current step is used up)
    expect(page.locator("#cooling-rule")).to_contain_text("no cooling-off")
    methods.get_by_label("Authenticator or recovery code").fill(recovery[0])
    page.get_by_role("button", name="Add method").click()
    expect(page.locator("#method-result")).to_contain_text("Added p***@example.com")
    expect(page.locator("#methods-ul")).to_contain_text("usable")
    r = console.http.get("/v1/payout-methods", headers=console.as_user(creator))
    (method,) = r.json()["data"]
    assert (method["kind"], method["masked"], method["usable"]) == (
        "paypal",
        "p***@example.com",
        True,
    )

    # below the minimum: refused with the API's message, nothing reserved
    page.get_by_label("Amount").fill("0.50")
    page.get_by_label("Authenticator code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Withdraw", exact=True).click()
    expect(page.locator("#withdraw-result [role=alert]")).to_contain_text("(below_minimum)")
    assert earnings(console, creator)["available"]["diamonds"]["amount"] == 30000

    # $1.00 with the next step's code (accepted: one step of skew, after the last used step)
    page.get_by_label("Amount").fill("1.00")
    page.get_by_label("Authenticator code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Withdraw", exact=True).click()
    expect(page.locator("#withdraw-result")).to_contain_text("requested: 1.00 USD")
    r = console.http.get("/v1/withdrawals", headers=console.as_user(creator))
    (withdrawal,) = r.json()["data"]
    assert withdrawal["gross"]["amount"] == 100 and withdrawal["diamonds"]["amount"] == 20000
    assert withdrawal["method_id"] == method["id"]
    row = page.locator(f"#history-table tr[data-withdrawal-id='{withdrawal['id']}']")
    expect(row.locator(".state")).to_contain_text("requested")
    expect(page.locator("#available-diamonds")).to_have_text(
        earnings(console, creator)["available"]["diamonds"]["display"], timeout=WAIT
    )
    assert earnings(console, creator)["available"]["diamonds"]["amount"] == 10000

    # an operator approves it; the page follows it to paid without a reload
    r = console.http.post(
        f"/v1/admin/withdrawals/{withdrawal['id']}/approve",
        headers=console.as_admin("cr-approve"),
    )
    assert r.status_code == 200, r.text
    expect(row.locator(".state")).to_contain_text("paid", timeout=PAYOUT_WAIT)
    r = console.http.get(f"/v1/withdrawals/{withdrawal['id']}", headers=console.as_user(creator))
    assert r.json()["state"] == "paid"
    expect(page.locator("#history-status")).to_have_text("")

    # a bank account, added and removed again (each with a code)
    methods.get_by_label("Bank account (IBAN)").check()
    methods.get_by_label("IBAN", exact=True).fill("DE89 3704 0044 0532 0130 00")
    methods.get_by_label("Account holder").fill("Pay Ee")
    methods.get_by_label("Authenticator or recovery code").fill(recovery[1])
    page.get_by_role("button", name="Add method").click()
    bank = page.locator("#methods-ul li", has_text="DE89")
    expect(bank).to_contain_text("DE89 **** **** **** **30 00")
    bank.get_by_role("button", name="Remove").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Authenticator or recovery code").fill(recovery[2])
    dialog.get_by_role("button", name="Remove").click()
    expect(bank).to_have_count(0)
    r = console.http.get("/v1/payout-methods", headers=console.as_user(creator))
    assert [m["masked"] for m in r.json()["data"]] == ["p***@example.com"]

    # this month's statement as CSV, fetched with the session cookie and saved from a Blob
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    download = download_info.value
    period = SystemClock().now().strftime("%Y-%m")
    assert download.suggested_filename == f"statement-{period}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    figures = {(r["section"], r["name"]): r for r in rows if not r["account"]}
    assert figures[("diamonds", "earned")]["amount"] == "30000"
    assert figures[("diamonds", "withdrawn")]["amount"] == "20000"
    page.get_by_role("button", name="Show").click()
    statement = page.locator("#statement-table")
    expect(statement.locator("tr", has_text="Earned")).to_contain_text("300.00")
    expect(statement.locator("tr", has_text="Withdrawn")).to_contain_text("200.00")
    assert errors == []  # no script error on the way


def test_an_unverified_creator_sees_the_kyc_status_and_the_refusal(
    payouts_console: Console, browser: Any
) -> None:
    console = payouts_console
    user = "cr-unverified"
    console.create_user(user, follower_count=5000)  # kyc_status: unverified
    totp, _ = enrol_with_a_method(console, user, "unverified@example.com")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(console.signin_link("/creator", user_id=user))
        expect(page.locator("#identity")).to_contain_text("unverified")
        expect(page.locator("#kyc-needed")).to_be_visible()
        expect(page.get_by_label("Pay to")).to_contain_text("u***@example.com")
        page.get_by_label("Amount").fill("1.00")
        page.get_by_label("Authenticator code").fill(totp.at(time.time() + 30))
        page.get_by_role("button", name="Withdraw", exact=True).click()
        alert = page.locator("#withdraw-result [role=alert]")
        expect(alert).to_contain_text("Identity verification is needed first")
        expect(alert).to_contain_text("(kyc_required)")
        expect(alert).to_contain_text("“unverified”")
    finally:
        context.close()
    r = console.http.get("/v1/withdrawals", headers=console.as_user(user))
    assert r.json()["data"] == []


def test_accessibility_with_payouts(payouts_console: Console, browser: Any) -> None:
    """axe on a desktop and a phone with methods listed and a payout waiting for an operator
    (the history polls while it is not final)."""
    console = payouts_console
    user = "cr-a11y"
    console.create_user(user, follower_count=5000, kyc_status="verified")
    console.create_user("cr-a11y-fan")
    console.buy_coins("cr-a11y-fan", 700, "cr-a11y-coins")
    live_id = console.start_live(user, "Accessible live")
    r = console.http.post(
        f"/v1/lives/{live_id}/gifts",
        json={"gift_id": "panda", "count": 100},
        headers=console.as_user("cr-a11y-fan", "cr-a11y-pandas"),
    )
    assert r.status_code == 201, r.text
    totp, method_id = enrol_with_a_method(console, user, "a11y@example.com")
    r = console.http.post(
        "/v1/withdrawals",
        json={"amount_minor": 100, "method_id": method_id, "totp": totp.at(time.time() + 30)},
        headers=console.as_user(user, "cr-a11y-withdrawal"),
    )
    assert r.status_code == 201 and r.json()["state"] == "requested", r.text
    for viewport in ({"width": 1280, "height": 800}, PHONE):
        context = browser.new_context(viewport=viewport)
        try:
            page = context.new_page()
            page.goto(console.signin_link("/creator", user_id=user))
            expect(page.locator("#methods-ul")).to_contain_text("a***@example.com")
            expect(page.locator("#history-table .state")).to_contain_text("requested")
            expect(page.locator("#history-status")).to_contain_text("1 on the way")
            found = [(v["id"], [n["target"] for n in v["nodes"]]) for v in axe_violations(page)]
            assert found == [], viewport
        finally:
            context.close()
