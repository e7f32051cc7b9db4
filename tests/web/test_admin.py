"""The admin back office (``/admin``) in a real browser, against a real ``giftflow serve``.

The economy is set up through the API first: a policy version without earnings hold or payout
method cooling-off (published like any operator would), a verified creator with an
authenticator (codes from ``pyotp``, then recovery codes), a PayPal method, diamonds from gifts of
three viewers who paid with the same sandbox card, a withdrawal waiting for approval, and a
fraud scan that flags the shared card. Then an admin works through the sections in the browser
and every outcome is checked through the API.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Page, Route, ViewportSize, expect

from giftflow.db import make_engine, unit_of_work
from giftflow.schema import accounts
from tests.web.conftest import PHONE, Console, axe_violations, screenshots_dir

CARD = "4242 4242 4242 4242"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE_SIZE: ViewportSize = {"width": PHONE["width"], "height": PHONE["height"]}
SECTIONS = {
    "payouts": "Payout queue",
    "flags": "Fraud flags",
    "users": "Users",
    "purchases": "Purchases",
    "disputes": "Disputes",
    "finance": "Finance report",
    "reconcile": "Reconcile",
    "policies": "Policy versions",
    "audit": "Audit log",
}
ROOT = Path(__file__).resolve().parents[2]
IMAGES = screenshots_dir()


@dataclass
class Economy:
    creator: str
    viewers: list[str]
    withdrawal_id: str
    second_withdrawal_id: str
    flag_id: str
    policy_label: str
    recovery_codes: list[str]  # the creator's; the first three are used


# --- setting the economy up through the API ---------------------------------------------------
def ok(response: Any, *statuses: int) -> Any:
    assert response.status_code in statuses, f"{response.status_code} {response.text}"
    return response.json()


def publish_policy(console: Console, idem: str, **cashout: Any) -> str:
    """Publish the version in force again, numbered next and effective now, with ``cashout``
    rules changed; returns its label (in force at once in the serving process)."""
    admin = console.as_admin()
    versions = ok(console.http.get("/v1/admin/policies", headers=admin), 200)["data"]
    current = next(v for v in versions if v["in_force"])
    document = ok(console.http.get(f"/v1/admin/policies/{current['label']}", headers=admin), 200)[
        "document"
    ]
    document["version"] = max(v["version"] for v in versions) + 1
    document["effective_from"] = datetime.now(UTC).isoformat()
    document["cashout"] |= cashout
    created = ok(
        console.http.post(
            "/v1/admin/policies", json={"document": document}, headers=console.as_admin(idem)
        ),
        201,
    )
    label: str = created["label"]
    assert ok(console.http.get("/v1/policy", headers=admin), 200)["label"] == label
    return label


def buy(console: Console, user_id: str, pack: int, idem: str) -> dict[str, Any]:
    body = {"pack": pack, "provider": "sandbox", "card": {"number": CARD}}
    r = console.http.post("/v1/purchases", json=body, headers=console.as_user(user_id, idem))
    purchase: dict[str, Any] = ok(r, 201)
    assert purchase["state"] == "succeeded"
    return purchase


def withdrawal(console: Console, creator: str, amount_minor: int, method: str, code: str) -> str:
    r = console.http.post(
        "/v1/withdrawals",
        json={"amount_minor": amount_minor, "method_id": method, "totp": code},
        headers=console.as_user(creator, f"withdraw-{creator}-{amount_minor}"),
    )
    body = ok(r, 201)
    assert body["state"] == "requested", body  # above the automatic approval: it waits
    return str(body["id"])


@pytest.fixture(scope="module")
def economy(console: Console) -> Economy:
    return build_economy(console)


def build_economy(console: Console) -> Economy:
    label = publish_policy(console, "policy-quick", hold_days=0, method_cooling_off_hours=0)
    policy = ok(console.http.get("/v1/policy", headers=console.as_admin()), 200)
    creator, viewers = "ava", ["v1", "v2", "v3"]
    console.create_user(creator, follower_count=5000, kyc_status="verified")
    # the second factor: confirmed with a pyotp code; later steps spend recovery codes (a
    # 30-second TOTP step is accepted once, and real time does not move in a test)
    enrol = ok(console.http.post("/v1/creator/totp", headers=console.as_user(creator)), 201)
    code = pyotp.TOTP(enrol["secret"]).now()
    confirmed = ok(
        console.http.post(
            "/v1/creator/totp/confirm", json={"code": code}, headers=console.as_user(creator)
        ),
        200,
    )
    recovery = confirmed["recovery_codes"]
    method = ok(
        console.http.post(
            "/v1/payout-methods",
            json={"kind": "paypal", "email": "ava@example.com", "totp": recovery[0]},
            headers=console.as_user(creator),
        ),
        201,
    )
    assert method["usable"] is True  # no cooling-off under the published version
    live = console.start_live(creator)
    for viewer in viewers:
        console.create_user(viewer)
        buy(console, viewer, 1400, f"buy-{viewer}")  # one card for all three: a fraud signal
        ok(
            console.http.post(
                f"/v1/lives/{live}/gifts",
                json={"gift_id": "fireworks", "count": 1},
                headers=console.as_user(viewer, f"gift-{viewer}"),
            ),
            201,
        )
    earnings = ok(console.http.get("/v1/creator/earnings", headers=console.as_user(creator)), 200)
    assert earnings["available"]["diamonds"]["amount"] == 3 * 49950  # 3 × 999 coins at 50 %
    cashout = policy["cashout"]
    floor = max(cashout["auto_approve_below_minor"] or 0, cashout["minimum_minor"] or 0)
    first = withdrawal(console, creator, floor + 300, str(method["id"]), recovery[1])
    second = withdrawal(console, creator, floor + 100, str(method["id"]), recovery[2])
    created = ok(console.http.post("/v1/admin/flags/scan", headers=console.as_admin("scan-1")), 200)
    assert created["created"] >= 1
    flags = ok(
        console.http.get(
            "/v1/admin/flags?state=open&kind=shared_payment_fingerprint",
            headers=console.as_admin(),
        ),
        200,
    )["data"]
    assert len(flags) == 1 and set(viewers) <= set(flags[0]["users"]), flags
    return Economy(creator, viewers, first, second, str(flags[0]["id"]), label, recovery)


# --- the browser ------------------------------------------------------------------------------
@pytest.fixture
def admin(console: Console, page: Page) -> Iterator[Page]:
    """A page signed in as the admin (a demo link for the test's admin key), 1280×800; the
    test fails if a script of the page throws."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size(DESKTOP)
    page.goto(console.admin_link())
    page.wait_for_url(f"{console.url}/admin")
    yield page
    assert errors == []


def open_section(page: Page, console: Console, name: str) -> None:
    page.goto(f"{console.url}/admin#{name}")
    section = page.locator(f"section#{name}")
    expect(section).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=SECTIONS[name])).to_be_visible()
    expect(section.locator("[aria-busy]")).to_have_count(0)


def withdrawal_row(page: Page, withdrawal_id: str) -> Any:
    return page.locator("#payouts-list tbody tr").filter(
        has=page.locator("td:first-child .mono", has_text=withdrawal_id)
    )


def test_admin_approves_a_payout(console: Console, economy: Economy, admin: Page) -> None:
    open_section(admin, console, "payouts")
    row = withdrawal_row(admin, economy.withdrawal_id)
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "requested")
    admin.screenshot(path=f"{IMAGES}/console-admin.png")

    keys: list[str] = []

    def first_attempt_fails(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key", ""))
        if len(keys) == 1:
            route.abort("connectionreset")  # the network drops the first attempt
        else:
            route.continue_()

    approve_url = f"**/v1/admin/withdrawals/{economy.withdrawal_id}/approve"
    admin.route(approve_url, first_attempt_fails)
    row.get_by_role("button", name="Approve").click()
    dialog = admin.get_by_role("dialog", name=f"Approve withdrawal {economy.withdrawal_id}")
    dialog.get_by_label("Note").fill("Checked the creator's identity file")
    dialog.get_by_role("button", name="Approve").click()
    expect(dialog.get_by_role("alert")).to_contain_text("cannot be reached")
    dialog.get_by_role("button", name="Approve").click()  # the retry of the same action
    expect(dialog).to_be_hidden()
    admin.unroute(approve_url)
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]  # one Idempotency-Key, reused

    expect(row.locator("[data-state]")).not_to_have_attribute("data-state", "requested")
    shown = row.locator("[data-state]").get_attribute("data-state")
    api = ok(
        console.http.get(
            f"/v1/admin/withdrawals/{economy.withdrawal_id}", headers=console.as_admin()
        ),
        200,
    )
    assert api["state"] in {"approved", "submitted", "in_transit", "paid"}
    assert shown in {"approved", "submitted", "in_transit", "paid"}
    approved = [h for h in api["history"] if h["state"] == "approved"]
    assert approved and approved[0]["note"] == "Checked the creator's identity file"


def test_admin_rejects_a_payout_with_a_reason(
    console: Console, economy: Economy, admin: Page
) -> None:
    open_section(admin, console, "payouts")
    row = withdrawal_row(admin, economy.second_withdrawal_id)
    before = console.balance(economy.creator, "DIAMOND")
    row.get_by_role("button", name="Reject").click()
    dialog = admin.get_by_role("dialog", name=f"Reject withdrawal {economy.second_withdrawal_id}")
    dialog.get_by_role("button", name="Reject").click()  # the reason is required
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason").fill("Payout details do not match the verified identity")
    dialog.get_by_role("button", name="Reject").click()
    expect(dialog).to_be_hidden()
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "rejected")
    api = ok(
        console.http.get(
            f"/v1/admin/withdrawals/{economy.second_withdrawal_id}", headers=console.as_admin()
        ),
        200,
    )
    assert api["state"] == "rejected"
    assert console.balance(economy.creator, "DIAMOND") == before + api["diamonds"]["amount"]


def test_retry_asks_the_provider_again_and_a_stale_row_shows_the_refusal(
    console: Console, economy: Economy, admin: Page
) -> None:
    creator = economy.creator
    method = ok(
        console.http.post(
            "/v1/payout-methods",  # the sandbox keeps this one PENDING: it stays in transit
            json={
                "kind": "paypal",
                "email": "ava+pending@example.com",
                "totp": economy.recovery_codes[3],
            },
            headers=console.as_user(creator),
        ),
        201,
    )
    sent = withdrawal(console, creator, 150, str(method["id"]), economy.recovery_codes[4])
    stale = withdrawal(console, creator, 120, str(method["id"]), economy.recovery_codes[5])
    ok(
        console.http.post(
            f"/v1/admin/withdrawals/{sent}/approve", json={}, headers=console.as_admin(f"ok-{sent}")
        ),
        200,
    )
    at_provider = {"submitted", "in_transit"}
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while (state := admin_withdrawal(console, sent)["state"]) not in at_provider:
        assert datetime.now(UTC) < deadline, state
        admin.wait_for_timeout(200)
    open_section(admin, console, "payouts")
    queue = admin.locator("section#payouts")
    queue.get_by_label("State").select_option("")
    queue.get_by_role("button", name="Show").click()

    # rejected behind the page's back: approving the row as shown is refused, with the API's words
    ok(
        console.http.post(
            f"/v1/admin/withdrawals/{stale}/reject",
            json={"reason": "duplicate request"},
            headers=console.as_admin(f"no-{stale}"),
        ),
        200,
    )
    withdrawal_row(admin, stale).get_by_role("button", name="Approve").click()
    dialog = admin.get_by_role("dialog", name=f"Approve withdrawal {stale}")
    dialog.get_by_role("button", name="Approve").click()
    expect(dialog.get_by_role("alert")).to_contain_text("invalid_transition")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert admin_withdrawal(console, stale)["state"] == "rejected"

    before = admin_withdrawal(console, sent)
    row = withdrawal_row(admin, sent)
    with admin.expect_response(f"**/v1/admin/withdrawals/{sent}/retry") as answer:
        row.get_by_role("button", name="Retry").click()
    assert answer.value.status == 200
    assert answer.value.request.headers.get("idempotency-key")
    after = admin_withdrawal(console, sent)
    assert after["state"] in at_provider
    assert after["provider_ref"] == before["provider_ref"]  # the same payout, asked again
    expect(row.locator("[data-state]")).to_have_attribute("data-state", after["state"])


def admin_withdrawal(console: Console, withdrawal_id: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(
        console.http.get(f"/v1/admin/withdrawals/{withdrawal_id}", headers=console.as_admin()), 200
    )
    return found


def test_admin_resolves_a_flag_with_a_note(console: Console, economy: Economy, admin: Page) -> None:
    open_section(admin, console, "flags")
    row = admin.locator("#flags-list tbody tr").filter(
        has=admin.locator("td:first-child", has_text=economy.flag_id)
    )
    expect(row).to_contain_text("shared payment fingerprint")
    row.get_by_role("button", name=f"Resolve flag {economy.flag_id}").click()
    dialog = admin.get_by_role("dialog", name=f"Resolve flag {economy.flag_id}")
    dialog.get_by_label("Confirmed").check()
    dialog.get_by_label("Note").fill("Same card on three accounts; asked the platform to review")
    dialog.get_by_role("button", name="Resolve").click()
    expect(dialog).to_be_hidden()
    expect(row).to_have_count(0)  # no longer among the open flags
    flag = ok(
        console.http.get(f"/v1/admin/flags/{economy.flag_id}", headers=console.as_admin()), 200
    )
    assert flag["state"] == "resolved" and flag["resolution"] == "confirmed"
    assert flag["note"] == "Same card on three accounts; asked the platform to review"


def test_finance_csv_totals_equal_the_api(console: Console, economy: Economy, admin: Page) -> None:
    open_section(admin, console, "finance")
    report = admin.locator("#finance-report")
    expect(report.locator("section.currency")).to_have_count(1)
    expect(report.locator("canvas")).not_to_have_count(0)  # uPlot drew the charts
    since, until = (admin.locator(f"#finance-{f}").input_value() for f in ("from", "to"))
    api = ok(
        console.http.get(
            f"/v1/admin/reports/finance?from={since}&to={until}&bucket=day",
            headers=console.as_admin(),
        ),
        200,
    )
    usd = next(c for c in api["currencies"] if c["currency"] == "USD")
    assert usd["totals"]["purchases"]["amount_minor"] >= 3 * 1680  # three packs of 1400 coins
    for figure, money in usd["totals"].items():
        shown = report.locator(f'[data-figure="{figure}"][data-currency="USD"]')
        expect(shown).to_have_text(money["display"])
    expect(report.locator('[data-take-rate="USD"]')).to_have_text(usd["take_rate"]["display"])
    admin.locator("section#finance").evaluate("section => section.scrollIntoView()")
    admin.screenshot(path=f"{IMAGES}/console-admin-finance.png")

    with admin.expect_download() as download_info:
        admin.get_by_role("button", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(download.path().read_text(encoding="utf-8"))))
    assert rows and list(rows[0]) == [
        "currency",
        "bucket_start",
        "bucket_end",
        "figure",
        "amount_minor",
        "display",
    ]
    totals = {
        (r["currency"], r["figure"]): int(r["amount_minor"]) if r["amount_minor"] else None
        for r in rows
        if r["bucket_start"] == "total"
    }
    expected: dict[tuple[str, str], int | None] = {}
    for c in api["currencies"]:
        for figure, money in c["totals"].items():
            expected[c["currency"], figure] = money["amount_minor"]
        expected[c["currency"], "take_rate"] = c["take_rate"]["basis_points"]
        accrued = c["take_rate"].get("creator_liability_accrued")
        expected[c["currency"], "creator_liability_accrued"] = accrued and accrued["amount_minor"]
    assert totals == expected
    assert totals["USD", "purchases"] == usd["totals"]["purchases"]["amount_minor"] > 0


def test_freezing_a_user(console: Console, economy: Economy, admin: Page) -> None:
    console.create_user("mallory", display_name="Mallory Quick")
    open_section(admin, console, "users")
    admin.get_by_label("Search").fill("mallo")
    admin.get_by_role("button", name="Search").click()
    admin.get_by_role("button", name="Open user mallory").click()
    detail = admin.locator("#users-detail")
    expect(detail.get_by_role("heading", name="Mallory Quick (mallory)")).to_be_focused()
    detail.get_by_role("button", name="Freeze account").click()
    dialog = admin.get_by_role("dialog", name="Freeze mallory?")
    dialog.get_by_role("button", name="Freeze").click()
    expect(dialog).to_be_hidden()
    expect(detail.locator('[data-field="frozen"]')).to_have_text("frozen")
    user = ok(console.http.get("/v1/users/mallory", headers=console.as_admin()), 200)
    assert user["frozen"] is True
    # KYC from the same panel
    detail.get_by_label("KYC status").select_option("pending")
    detail.get_by_role("button", name="Save KYC status").click()
    expect(detail.locator('[data-field="kyc_status"]')).to_have_text("pending")
    assert (
        ok(console.http.get("/v1/users/mallory", headers=console.as_admin()), 200)["kyc_status"]
        == "pending"
    )


def test_refund_from_the_purchases_section(console: Console, economy: Economy, admin: Page) -> None:
    console.create_user("refundee")
    untouched = buy(console, "refundee", 70, "buy-refundee")
    open_section(admin, console, "purchases")
    admin.get_by_label("User id").fill("refundee")
    admin.get_by_role("button", name="Show").click()
    refund = admin.get_by_role("button", name=f"Refund purchase {untouched['id']} of refundee")
    refund.click()
    dialog = admin.get_by_role("dialog", name=f"Refund purchase {untouched['id']}")
    dialog.get_by_label("Reason").fill("Bought by mistake")
    dialog.get_by_role("button", name="Refund").click()
    expect(dialog).to_be_hidden()
    purchase = ok(
        console.http.get(f"/v1/purchases/{untouched['id']}", headers=console.as_admin()), 200
    )
    assert purchase["state"] == "refunded" and purchase["refund_reason"] == "Bought by mistake"
    assert console.balance("refundee") == 0

    # a purchase whose coins were gifted cannot be refunded: the API's message is shown
    spent = ok(
        console.http.get(
            f"/v1/admin/purchases?user_id={economy.viewers[0]}", headers=console.as_admin()
        ),
        200,
    )["data"][0]
    admin.get_by_label("User id").fill(economy.viewers[0])
    admin.get_by_role("button", name="Show").click()
    admin.get_by_role(
        "button", name=f"Refund purchase {spent['id']} of {economy.viewers[0]}"
    ).click()
    dialog = admin.get_by_role("dialog", name=f"Refund purchase {spent['id']}")
    dialog.get_by_label("Reason").fill("Asked for it")
    dialog.get_by_role("button", name="Refund").click()
    expect(dialog.get_by_role("alert")).to_contain_text("refund_not_allowed")
    dialog.get_by_role("button", name="Cancel").click()
    after = ok(console.http.get(f"/v1/purchases/{spent['id']}", headers=console.as_admin()), 200)
    assert after["state"] == "succeeded"


def test_settling_a_lost_dispute(console: Console, economy: Economy, admin: Page) -> None:
    viewer = economy.viewers[1]
    purchase = ok(
        console.http.get(f"/v1/admin/purchases?user_id={viewer}", headers=console.as_admin()),
        200,
    )["data"][0]
    for action in ("open", "lost"):
        ok(
            console.http.post(
                f"/v1/admin/purchases/{purchase['id']}/dispute",
                json={"action": action},
                headers=console.as_admin(f"dispute-{action}-{purchase['id']}"),
            ),
            200,
        )
    case = next(
        d
        for d in ok(console.http.get("/v1/admin/disputes", headers=console.as_admin()), 200)["data"]
        if d["purchase_id"] == str(purchase["id"])
    )
    assert case["state"] == "lost" and case["receivable"]["amount"] > 0
    open_section(admin, console, "disputes")
    admin.get_by_role("button", name=f"Settle dispute {case['id']} of {viewer}").click()
    dialog = admin.get_by_role("dialog", name=f"Settle dispute {case['id']}")
    dialog.get_by_label("Note").fill("Written off: below the collection threshold")
    dialog.get_by_role("button", name="Settle").click()
    expect(dialog).to_be_hidden()
    settled = next(
        d
        for d in ok(console.http.get("/v1/admin/disputes", headers=console.as_admin()), 200)["data"]
        if d["id"] == case["id"]
    )
    assert settled["state"] == "settled"


def nudge_stored_balance(console: Console, path: str, delta: int) -> None:
    """Change an account's stored balance behind the ledger's back (what reconcile exists to
    catch): the postings no longer add up to it."""
    engine = make_engine(console.server.database_url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            changed = conn.execute(
                accounts.update()
                .where(accounts.c.path == path, accounts.c.asset == "COIN")
                .values(balance=accounts.c.balance + delta)
            )
            assert changed.rowcount == 1
    finally:
        engine.dispose()


def run_reconcile(page: Page, console: Console) -> dict[str, Any]:
    """Press "Run now" and wait until the page says the run finished; the run as the API has it."""
    page.get_by_role("button", name="Run now").click()
    progress = page.locator("#reconcile-progress")
    expect(progress).to_contain_text("finished", timeout=60_000)
    last: dict[str, Any] = ok(
        console.http.get("/v1/admin/reconcile", headers=console.as_admin()), 200
    )
    expect(progress).to_contain_text(f"Run #{last['id']} finished")
    expect(page.locator("#reconcile-state")).to_have_text(last["state"])
    return last


def test_reconcile_run_now_shows_the_differences(
    console: Console, economy: Economy, admin: Page
) -> None:
    open_section(admin, console, "reconcile")
    clean = run_reconcile(admin, console)
    assert clean["state"] == "clean" and clean["differences"] == 0
    expect(admin.get_by_text("Every balance matches its postings.")).to_be_visible()

    account = f"user:{economy.viewers[2]}:coins"
    nudge_stored_balance(console, account, 7)
    try:
        broken = run_reconcile(admin, console)
    finally:
        nudge_stored_balance(console, account, -7)
    assert broken["state"] == "differences" and broken["id"] != clean["id"]
    listed = admin.get_by_role("region", name="Reconcile differences (table)")
    for difference in broken["report"]["differences"]:
        row = listed.locator("tr").filter(has_text=difference["message"]).first
        expect(row).to_contain_text(difference["subject"])
    expect(listed).to_contain_text(account)
    runs = admin.get_by_role("region", name="Reconcile runs (table)")
    api_runs = ok(console.http.get("/v1/admin/reconcile/runs", headers=console.as_admin()), 200)
    expect(runs.locator("tbody tr")).to_have_count(len(api_runs["data"]))
    expect(runs.locator("tbody tr").first).to_contain_text("differences")


def test_policy_validate_and_schedule(console: Console, economy: Economy, admin: Page) -> None:
    open_section(admin, console, "policies")
    section = admin.locator("#policies")
    expect(section.locator("tbody tr").filter(has_text=economy.policy_label)).to_contain_text(
        "in force"
    )
    textarea = admin.get_by_label("Policy document (JSON)")
    textarea.fill("{not json")
    admin.get_by_role("button", name="Validate").click()
    expect(admin.locator("#policies-result [role=alert]")).to_contain_text("Not a valid JSON")

    admin.get_by_role("button", name="Start from the version in force").click()
    expect(admin.locator("#policies-result")).to_contain_text("Copied")
    draft = json.loads(textarea.input_value())
    draft["effective_from"] = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    draft["cashout"]["fee_bps"] = 250
    bad = draft | {"refund_window_days": -1}
    textarea.fill(json.dumps(bad, indent=2))
    admin.get_by_role("button", name="Validate").click()
    expect(admin.locator("#policies-result")).to_contain_text("Not valid")
    expect(admin.locator("#policies-result li")).not_to_have_count(0)

    textarea.fill(json.dumps(draft, indent=2))
    admin.get_by_role("button", name="Validate").click()
    expect(admin.locator("#policies-result")).to_contain_text("Valid: this document")
    admin.get_by_role("button", name="Schedule").click()
    label = f"{draft['id']}@{draft['version']}"
    expect(admin.locator("#policies-result")).to_contain_text(f"Stored {label}")
    expect(section.locator("tbody tr").filter(has_text=label)).to_contain_text("scheduled")
    versions = ok(console.http.get("/v1/admin/policies", headers=console.as_admin()), 200)
    scheduled = next(v for v in versions["data"] if v["label"] == label)
    assert scheduled["scheduled"] is True and scheduled["in_force"] is False
    stored = ok(console.http.get(f"/v1/admin/policies/{label}", headers=console.as_admin()), 200)
    assert stored["document"]["cashout"]["fee_bps"] == 250


def test_the_audit_log_shows_those_actions(console: Console, economy: Economy, admin: Page) -> None:
    entries = ok(console.http.get("/v1/admin/audit?limit=200", headers=console.as_admin()), 200)[
        "data"
    ]
    paths = {
        f"/v1/admin/withdrawals/{economy.withdrawal_id}/approve",
        f"/v1/admin/flags/{economy.flag_id}/resolve",
        "/v1/admin/users/mallory",
    }
    assert paths <= {e["path"] for e in entries if e["status_code"] < 300}
    open_section(admin, console, "audit")
    table = admin.locator("#audit-list tbody")
    for path in paths:
        expect(table.locator("tr").filter(has_text=path).first).to_be_visible()
    for action in ("withdrawal.approve", "flag.resolve", "user.update"):
        expect(table.locator(f'[data-action="{action}"]').first).to_be_visible()
    first_row = table.locator("tr").first
    expect(first_row).to_contain_text(entries[0]["action"])  # newest first, as the API
    freeze = table.locator("tr").filter(has_text="PATCH /v1/admin/users/mallory").last
    freeze.locator("summary").click()
    expect(freeze.locator("pre").last).to_contain_text('"frozen": true')

    admin.get_by_label("Target").fill(f"flag:{economy.flag_id}")
    admin.get_by_role("button", name="Show").click()
    expect(table.locator("tr").filter(has_not_text=f"flag:{economy.flag_id}")).to_have_count(0)
    expect(table.locator("tr")).not_to_have_count(0)


def test_sections_are_deep_links_and_keyboard_usable(
    console: Console, economy: Economy, admin: Page
) -> None:
    admin.goto(f"{console.url}/admin#finance")
    expect(admin.locator("section#finance")).to_be_visible()
    expect(admin.locator("section#payouts")).to_be_hidden()
    link = admin.get_by_role("link", name="Fraud flags")
    link.focus()
    admin.keyboard.press("Enter")
    expect(admin).to_have_url(f"{console.url}/admin#flags")
    expect(admin.locator("section#flags")).to_be_focused()
    expect(link).to_have_attribute("aria-current", "true")
    admin.go_back()
    expect(admin.locator("section#finance")).to_be_visible()
    # a dialog by keyboard: open, Escape closes it and focus goes back to its button
    admin.goto(f"{console.url}/admin#users")
    admin.get_by_role("button", name="Search").click()
    opener = admin.get_by_role("button", name="Open user ava")
    opener.focus()
    admin.keyboard.press("Enter")
    freeze = admin.get_by_role("button", name="Freeze account")
    freeze.focus()
    admin.keyboard.press("Enter")
    dialog = admin.get_by_role("dialog", name="Freeze ava?")
    expect(dialog).to_be_visible()
    admin.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(freeze).to_be_focused()
    assert ok(console.http.get("/v1/users/ava", headers=console.as_admin()), 200)["frozen"] is False


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_no_serious_accessibility_violation_in_any_section(
    console: Console, economy: Economy, admin: Page, viewport: str
) -> None:
    if viewport == "phone":
        admin.set_viewport_size(PHONE_SIZE)
    for name in SECTIONS:
        open_section(admin, console, name)
        assert axe_violations(admin) == [], name
    # a user's detail panel and an open dialog
    open_section(admin, console, "users")
    admin.get_by_role("button", name=f"Open user {economy.creator}").click()
    expect(admin.get_by_role("button", name="Freeze account")).to_be_visible()
    assert axe_violations(admin) == [], "user detail"
    admin.get_by_role("button", name="Freeze account").click()
    expect(admin.get_by_role("dialog")).to_be_visible()
    assert axe_violations(admin) == [], "dialog"
    admin.keyboard.press("Escape")
    if viewport == "phone":
        open_section(admin, console, "payouts")
        queue = admin.locator("section#payouts")
        queue.get_by_label("State").select_option("")  # every state
        queue.get_by_role("button", name="Show").click()
        expect(admin.locator("#payouts-list tbody tr")).not_to_have_count(0)
        admin.screenshot(path=f"{IMAGES}/console-admin-phone.png", full_page=True)


def test_chart_axes_are_labelled_with_integer_arithmetic(
    console: Console, economy: Economy, admin: Page
) -> None:
    open_section(admin, console, "finance")
    labels = admin.evaluate(
        """async () => {
          const { major } = await import("/static/console/admin-finance.js");
          return [major(123456, 2), major(-5, 2), major(160, 0), major(260, 3),
                  major(99999999999999, 2)];
        }"""
    )
    assert labels == ["1234.56", "-0.05", "160", "0.260", "999999999999.99"]
    scripts = (ROOT / "src" / "giftflow" / "web" / "static" / "console").glob("admin*.js")
    for script in scripts:
        source = script.read_text()
        for forbidden in ("toFixed", "parseFloat", "toLocaleString", "Intl.NumberFormat"):
            assert forbidden not in source, f"{script.name} formats numbers with {forbidden}"
