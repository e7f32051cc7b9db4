"""The creator dashboard in a browser: going live, diamonds rising live while a viewer gifts,
goals, battles, charts, accessibility (desktop and phone) and the screenshots.

Under the default ``standard`` policy (50% share, 1,000 followers to receive, a 7-day hold): the
diamonds land in the hold, so the page shows them rising as "held" and in the running total.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import PHONE, Console, axe_violations, screenshots_dir, start_console

IMAGES = screenshots_dir()
WAIT = 15_000  # ms: Playwright's auto-waiting ceiling for a stream-driven change


def earnings(console: Console, creator: str) -> dict[str, Any]:
    r = console.http.get("/v1/creator/earnings", headers=console.as_user(creator))
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def live_of(console: Console, live_id: str) -> dict[str, Any]:
    r = console.http.get(f"/v1/lives/{live_id}", headers=console.as_platform())
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def prices(console: Console) -> dict[str, int]:
    r = console.http.get("/v1/gifts", headers=console.as_platform())
    assert r.status_code == 200, r.text
    return {g["id"]: g["price"]["amount"] for g in r.json()["data"]}


def share_percent(console: Console) -> int:
    r = console.http.get("/v1/policy", headers=console.as_platform())
    assert r.status_code == 200, r.text
    percent: int = r.json()["gifts"]["creator_share_percent"]
    return percent


def gift(console: Console, viewer: str, live_id: str, gift_id: str, count: int, key: str) -> Any:
    r = console.http.post(
        f"/v1/lives/{live_id}/gifts",
        json={"gift_id": gift_id, "count": count},
        headers=console.as_user(viewer, key),
    )
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
def console(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """This module's server runs the engagement loop (the test session turns it off by default),
    as `giftflow serve` does: battle scores and leaderboard snapshots reach the room."""
    running = start_console(
        sqlite_template, tmp_path_factory.mktemp("creator"), GIFTFLOW_ENGAGEMENT_TICK_MS="250"
    )
    try:
        yield running
    finally:
        running.http.close()
        running.server.stop()


def active_live(console: Console, creator: str) -> str:
    r = console.http.get(
        f"/v1/lives?state=active&creator_id={creator}", headers=console.as_platform()
    )
    found = r.json()["data"]
    return str(found[0]["id"]) if found else console.start_live(creator, "Morning show")


@pytest.fixture(scope="module")
def people(console: Console) -> dict[str, str]:
    """A creator able to receive gifts (followers above the policy's minimum, KYC verified,
    adult), a rival creator, and a viewer with coins."""
    r = console.http.get("/v1/policy", headers=console.as_platform())
    needed = r.json()["gifts"]["followers_to_receive"]
    console.create_user("cr-mira", follower_count=needed + 4000, kyc_status="verified")
    console.create_user("cr-rival", follower_count=needed + 10, kyc_status="verified")
    console.create_user("cr-fan")
    console.buy_coins("cr-fan", 700, "cr-fan-coins")
    return {"creator": "cr-mira", "rival": "cr-rival", "viewer": "cr-fan"}


def test_going_live_and_diamonds_rise_live_by_the_shares(
    console: Console, people: dict[str, str], page: Any
) -> None:
    errors: list[Any] = []
    page.on("pageerror", lambda error: errors.append(error))
    creator, viewer = people["creator"], people["viewer"]
    page.goto(console.signin_link("/creator", user_id=creator))
    expect(page.get_by_role("heading", name="Creator dashboard")).to_be_visible()
    expect(page.locator("#earned-total")).to_have_text(
        earnings(console, creator)["lifetime"]["earned"]["display"]
    )

    page.get_by_label("Title of your live").fill("Morning show")
    page.get_by_role("button", name="Go live").click()
    expect(page.locator(".live-title")).to_contain_text("Morning show")
    expect(page.locator("#stream-status")).to_have_text("live updates on", timeout=WAIT)
    r = console.http.get(
        f"/v1/lives?state=active&creator_id={creator}", headers=console.as_platform()
    )
    (live,) = r.json()["data"]
    live_id = live["id"]
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    share, price = share_percent(console), prices(console)
    before = earnings(console, creator)
    sent = gift(console, viewer, live_id, "rose", 1, "cr-rose-1")
    assert sent["diamonds"]["amount"] == price["rose"] * share  # hundredths: 1 coin → 0.50
    after_rose = earnings(console, creator)
    assert after_rose["lifetime"]["earned"]["amount"] == (
        before["lifetime"]["earned"]["amount"] + price["rose"] * share
    )
    assert after_rose["held"]["diamonds"]["amount"] == (
        before["held"]["diamonds"]["amount"] + price["rose"] * share
    )  # standard: a 7-day hold
    expect(page.locator("#earned-total")).to_have_text(
        after_rose["lifetime"]["earned"]["display"], timeout=WAIT
    )
    expect(page.locator("#held-diamonds")).to_have_text(after_rose["held"]["diamonds"]["display"])

    pandas = gift(console, viewer, live_id, "panda", 3, "cr-panda-3")
    assert pandas["diamonds"]["amount"] == 3 * price["panda"] * share
    after = earnings(console, creator)
    coins = price["rose"] + 3 * price["panda"]
    assert after["lifetime"]["earned"]["amount"] == before["lifetime"]["earned"]["amount"] + (
        coins * share
    )
    expect(page.locator("#earned-total")).to_have_text(
        after["lifetime"]["earned"]["display"], timeout=WAIT
    )
    expect(page.locator("#held-diamonds")).to_have_text(after["held"]["diamonds"]["display"])
    expect(page.locator("#available-diamonds")).to_have_text(
        after["available"]["diamonds"]["display"]
    )
    live_now = live_of(console, live_id)
    assert live_now["diamonds"]["amount"] == coins * share
    expect(page.locator("#live-diamonds")).to_have_text(
        f"{live_now['diamonds']['display']} diamonds", timeout=WAIT
    )
    expect(page.locator("#gift-feed")).to_contain_text("sent Panda ×3")
    expect(page.locator("#releases-table")).to_contain_text(after["releases"][0]["release_on"])
    # the running total is announced to screen readers as it changes
    assert page.locator("#running").get_attribute("aria-live") == "polite"
    assert page.evaluate("window.__sameDocument") is True
    assert errors == []  # no script error on the way


def test_a_creator_without_enough_followers_sees_why_going_live_is_refused(
    console: Console, browser: Any
) -> None:
    r = console.http.get("/v1/policy", headers=console.as_platform())
    needed = r.json()["gifts"]["followers_to_receive"]
    assert needed > 0
    console.create_user("cr-newbie", follower_count=needed - 1)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(console.signin_link("/creator", user_id="cr-newbie"))
        page.get_by_role("button", name="Go live").click()
        alert = page.locator("#live-result [role=alert]")
        expect(alert).to_contain_text("(creator_not_eligible)")
        expect(alert).to_contain_text(f"{needed:,} followers")
    finally:
        context.close()
    r = console.http.get("/v1/lives?creator_id=cr-newbie", headers=console.as_platform())
    assert r.json()["data"] == []  # nothing started


def test_goals_battles_and_charts_follow_the_live(
    console: Console, people: dict[str, str], page: Any, browser: Any
) -> None:
    creator, rival, viewer = people["creator"], people["rival"], people["viewer"]
    live_id = active_live(console, creator)
    rival_live = console.start_live(rival, "Rival show")
    page.goto(console.signin_link("/creator", user_id=creator))
    expect(page.locator("#stream-status")).to_have_text("live updates on", timeout=WAIT)

    # a goal of 10 Roses, moved by gifts while the page watches
    page.get_by_label("Goal title").fill("Ten roses for a song")
    page.get_by_label("Counts").select_option("gift")
    page.get_by_label("Gift", exact=True).select_option("rose")
    page.get_by_label("Target").fill("10")
    page.get_by_role("button", name="Set goal").click()
    goal = page.locator("#goals-list .goal", has_text="Ten roses for a song")
    expect(goal).to_contain_text("0 / 10 Rose")
    gift(console, viewer, live_id, "rose", 4, "cr-rose-goal")
    expect(goal).to_contain_text("4 / 10 Rose", timeout=WAIT)
    r = console.http.get(f"/v1/lives/{live_id}/goals", headers=console.as_platform())
    (stored,) = r.json()["data"]
    assert (stored["kind"], stored["gift_id"], stored["target"], stored["progress"]) == (
        "gift",
        "rose",
        10,
        4,
    )

    # a battle: invite the rival's live, they accept, gifts score
    page.get_by_role("button", name="Refresh lives").click()
    page.get_by_label("Invite another live creator").select_option(rival_live)
    page.get_by_label("Duration").select_option("300")
    page.get_by_role("button", name="Invite to a battle").click()
    battle = page.locator("#battles-list .battle").first
    expect(battle).to_contain_text("invited", timeout=WAIT)
    r = console.http.get(f"/v1/lives/{live_id}/battles", headers=console.as_platform())
    (created,) = r.json()["data"]
    assert [s["live_id"] for s in created["sides"]] == [live_id, rival_live]
    # the rival, in a second browser context, sees the invitation and accepts it
    rival_context = browser.new_context()
    try:
        rival_page = rival_context.new_page()
        rival_page.goto(console.signin_link("/creator", user_id=rival))
        invitation = rival_page.locator("#battles-list .battle").first
        expect(invitation).to_contain_text("invited", timeout=WAIT)
        invitation.get_by_role("button", name="Accept").click()
        expect(invitation.locator(".countdown")).to_contain_text("left", timeout=WAIT)
    finally:
        rival_context.close()
    r = console.http.get(f"/v1/battles/{created['id']}", headers=console.as_platform())
    assert r.json()["state"] == "active"
    expect(battle.locator(".countdown")).to_contain_text("left", timeout=WAIT)
    gift(console, viewer, live_id, "panda", 2, "cr-battle-pandas")
    r = console.http.get(f"/v1/battles/{created['id']}", headers=console.as_platform())
    score = next(s["score"] for s in r.json()["sides"] if s["live_id"] == live_id)
    assert score == 2 * prices(console)["panda"]
    expect(battle.locator("tr.mine td.num")).to_have_text(str(score), timeout=WAIT)

    # charts: refreshed from the analytics API, each with its table
    page.get_by_role("button", name="Refresh charts").click()
    expect(page.locator("#chart-velocity-chart canvas").first).to_be_attached(timeout=WAIT)
    expect(page.locator("#chart-coins-chart canvas").first).to_be_attached()
    expect(page.locator("#chart-top-gifts-table")).to_contain_text("Panda")
    r = console.http.get(
        f"/v1/creators/{creator}/analytics?bucket=minute", headers=console.as_user(creator)
    )
    total = r.json()["totals"]["gifts"]
    expect(page.locator("#chart-velocity-summary")).to_contain_text(f"{total} gifts")
    assert page.locator("#chart-velocity-chart").get_attribute("role") == "img"
    # the y axis ticks are whole numbers (integer formatter, integer increments)
    for chart in ("velocity", "coins", "top-gifts"):
        area = page.locator(f"#chart-{chart}-chart")
        expect(area).to_have_attribute("data-y-ticks", re.compile(r"^\d[\d,]*(\|\d[\d,]*)+$"))


def test_accessibility_and_screenshots(
    console: Console, people: dict[str, str], browser: Any
) -> None:
    """axe finds no serious or critical violation, on a desktop and on a phone, with a live
    running, gifts arriving and charts drawn; the same pages are the documentation's pictures
    (the desktop one whole, the phone one as its first screen)."""
    creator, viewer = people["creator"], people["viewer"]
    live_id = active_live(console, creator)
    gift(console, viewer, live_id, "rose", 5, "cr-shot-roses")
    r = console.http.post(
        f"/v1/lives/{live_id}/viewers", json={"action": "join"}, headers=console.as_user(viewer)
    )
    assert r.status_code == 200, r.text
    for name, viewport in (
        ("console-creator", {"width": 1280, "height": 800}),
        ("console-creator-phone", PHONE),
    ):
        context = browser.new_context(viewport=viewport)
        try:
            page = context.new_page()
            page.goto(console.signin_link("/creator", user_id=creator))
            expect(page.locator("#stream-status")).to_have_text("live updates on", timeout=WAIT)
            gift(console, viewer, live_id, "panda", 2, f"cr-shot-{name}")
            expect(page.locator("#gift-feed")).to_contain_text("sent Panda", timeout=WAIT)
            page.get_by_role("button", name="Refresh charts").click()
            expect(page.locator("#chart-velocity-chart canvas").first).to_be_attached(timeout=WAIT)
            expect(page.locator("#supporters")).to_contain_text(viewer, timeout=WAIT)
            expect(page.locator("#history-list")).not_to_be_empty()
            found = [(v["id"], [n["target"] for n in v["nodes"]]) for v in axe_violations(page)]
            assert found == [], name
            IMAGES.mkdir(parents=True, exist_ok=True)
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(IMAGES / f"{name}.png"), full_page=name == "console-creator")
        finally:
            context.close()
