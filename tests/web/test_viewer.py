"""The viewer's live room (/live/{id}) in a browser: recharging with the sandbox card (a pack and
a quoted custom amount), sending a Rose and a combo of Pandas, refusals (insufficient coins opens
the recharge sheet and moves nothing; an ended live), keyboard-only use, the event stream resuming
after a dropped connection, accessibility on a desktop and a phone, and the screenshots.

Under the default ``standard`` policy (1,000 followers to receive gifts, 50 % share, a hold):
the creator's diamonds land in their pending account, which ``console.balance`` counts too.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import PHONE, Console, axe_violations, screenshots_dir, start_console

IMAGES = screenshots_dir()
WAIT = 15_000  # ms: Playwright's auto-waiting ceiling for a stream-driven change
CARD = "4242 4242 4242 4242"


# --- helpers -------------------------------------------------------------------------------------
def prices(console: Console) -> dict[str, int]:
    r = console.http.get("/v1/gifts", headers=console.as_platform())
    assert r.status_code == 200, r.text
    return {g["id"]: g["price"]["amount"] for g in r.json()["data"]}


def live_of(console: Console, live_id: str) -> dict[str, Any]:
    r = console.http.get(f"/v1/lives/{live_id}", headers=console.as_platform())
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def send(console: Console, viewer: str, live_id: str, gift_id: str, key: str) -> dict[str, Any]:
    r = console.http.post(
        f"/v1/lives/{live_id}/gifts",
        json={"gift_id": gift_id},
        headers=console.as_user(viewer, key),
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def open_room(console: Console, page: Any, viewer: str, live_id: str, base: str = "") -> None:
    link = console.signin_link(f"/live/{live_id}", user_id=viewer)
    page.goto(link.replace(console.url, base) if base else link)
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=WAIT)
    expect(page.locator("button.gift-tile").first).to_be_visible()


def balance_text(page: Any) -> Any:
    return page.locator("#balance")


def focused(page: Any) -> dict[str, str]:
    found: dict[str, str] = page.evaluate(
        "() => ({id: document.activeElement.id, gift: document.activeElement.dataset.gift || '',"
        " name: document.activeElement.name || '', value: document.activeElement.value || ''})"
    )
    return found


class Proxy:
    """A TCP relay in front of the server, to drop the browser's connections for real: the page
    is loaded through it, ``drop()`` cuts every open connection and refuses new ones (the
    browser's EventSource sees a network error and keeps retrying), ``restore()`` lets it back."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.up = True
        self.closed = False
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        for s in (src, dst):
            self._close(s)

    def _close(self, s: socket.socket) -> None:
        with self.lock:
            self.open.discard(s)
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        s.close()

    def drop(self) -> None:
        self.up = False
        with self.lock:
            sockets = list(self.open)
        for s in sockets:
            self._close(s)

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.closed = True
        self.drop()
        self.listener.close()


@pytest.fixture(scope="module")
def console(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """This module's server runs the engagement loop (the test session turns it off), as
    `giftflow serve` does: leaderboard snapshots, battle scores and deadlines reach the room."""
    running = start_console(
        sqlite_template, tmp_path_factory.mktemp("viewer"), GIFTFLOW_ENGAGEMENT_TICK_MS="250"
    )
    try:
        yield running
    finally:
        running.http.close()
        running.server.stop()


@pytest.fixture(scope="module")
def room(console: Console) -> dict[str, str]:
    """One creator on air for the whole module, and a second one whose live the tests may end."""
    console.create_user("vr-host", display_name="Ava", follower_count=5000)
    console.create_user("vr-guest", display_name="Ben", follower_count=5000)
    console.create_user("vr-fan", display_name="Fan")  # gifts through the API
    console.buy_coins("vr-fan", 7000, "vr-fan-coins")
    return {
        "live": console.start_live("vr-host", "Sunday songs"),
        "creator": "vr-host",
        "guest": "vr-guest",
        "fan": "vr-fan",
    }


# --- the tests -----------------------------------------------------------------------------------
def test_recharge_then_send_a_rose_and_a_combo_of_pandas(
    console: Console, page: Any, room: dict[str, str]
) -> None:
    live, viewer = room["live"], "vr-alice"
    console.create_user(viewer, display_name="Alice")
    price = prices(console)
    open_room(console, page, viewer, live)
    expect(balance_text(page)).to_have_text("0")
    # the creator's id: the live carries no display name yet (creator_name is used once it does)
    expect(page.locator("#stage-name")).to_have_text(re.compile(r"^(vr-host|Ava)$"))
    expect(page.locator("#live-badge")).to_have_text("LIVE")

    # a pack of the viewer's region, with the sandbox card
    packs = console.http.get("/v1/coin-packs?channel=web", headers=console.as_user(viewer)).json()
    first = packs["packs"][0]
    page.get_by_role("button", name="Recharge").click()
    sheet = page.locator("#recharge")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text(f"{first['price']['display']} {packs['currency']}")
    sheet.get_by_label(f"{first['coins']} coins").check()
    expect(page.locator("#pay")).to_have_text(
        f"Pay {first['price']['display']} {packs['currency']}"
    )
    sheet.get_by_label("Card number").fill(CARD)
    page.locator("#pay").click()
    expect(page.locator("#pay-done")).to_contain_text(f"Added {first['coins']} coins")
    coins = first["coins"] + first["bonus_coins"]
    expect(balance_text(page)).to_have_text(str(coins))
    assert console.balance(viewer) == coins

    # a custom amount: its quote is shown before paying, and the payment charges that
    quote = console.http.get(
        "/v1/coin-packs/quote?coins=123&channel=web", headers=console.as_user(viewer)
    ).json()
    sheet.get_by_label("Custom amount in coins").fill("123")
    expect(page.locator("#quote")).to_contain_text(
        f"123 coins cost {quote['price']['display']} {quote['currency']}"
    )
    expect(page.locator("#pay")).to_have_text(
        f"Pay {quote['price']['display']} {quote['currency']}"
    )
    page.locator("#pay").click()
    expect(page.locator("#pay-done")).to_contain_text("Added 123 coins")
    coins += 123 + quote["bonus_coins"]
    expect(balance_text(page)).to_have_text(str(coins))
    assert console.balance(viewer) == coins
    page.get_by_role("button", name="Close").click()
    expect(sheet).to_be_hidden()

    # a Rose: the balance drops by exactly its price, its animation plays, a combo of one
    diamonds = console.balance(room["creator"], "DIAMOND")
    page.locator("button.gift-tile[data-gift='rose']").click()
    coins -= price["rose"]
    expect(balance_text(page)).to_have_text(str(coins))
    assert console.balance(viewer) == coins
    expect(page.locator(".gift-anim[data-gift='rose'][data-tier='1']")).to_be_attached(timeout=WAIT)
    expect(page.locator("#feed li[data-gift='rose']")).to_contain_text("Alice sent Rose ×1")

    # three Pandas in a row are one combo: "Panda ×3", closed by the stream's combo end
    panda = page.locator("button.gift-tile[data-gift='panda']")
    for _ in range(3):
        panda.click()
    coins -= 3 * price["panda"]
    expect(balance_text(page)).to_have_text(str(coins))
    assert console.balance(viewer) == coins
    combo = page.locator(".combo[data-gift='panda']")
    expect(combo.locator(".combo-what")).to_have_text("Panda ×3", timeout=WAIT)
    # the stream's `combo` event (combo_end) closes it
    expect(combo).to_have_class(re.compile(r"\bended\b"), timeout=WAIT)
    expect(combo.locator(".combo-who")).to_have_text("Alice")
    expect(page.locator(".gift-anim[data-gift='panda']").first).to_be_attached()
    # the creator received exactly their share of those coins (hundredths of a diamond)
    share = console.http.get("/v1/policy", headers=console.as_platform()).json()["gifts"]
    spent = price["rose"] + 3 * price["panda"]
    assert console.balance(room["creator"], "DIAMOND") - diamonds == (
        spent * share["creator_share_percent"]
    )
    expect(page.locator("#top li[data-user='vr-alice']")).to_be_visible(timeout=WAIT)


def test_insufficient_coins_opens_the_recharge_sheet_and_moves_nothing(
    console: Console, page: Any, room: dict[str, str]
) -> None:
    live, viewer = room["live"], "vr-bob"
    console.create_user(viewer, display_name="Bob")
    console.buy_coins(viewer, 70, "vr-bob-coins")
    open_room(console, page, viewer, live)
    expect(balance_text(page)).to_have_text("70")
    before = (
        console.balance(viewer),
        console.balance(room["creator"], "DIAMOND"),
        live_of(console, live)["last_seq"],
        live_of(console, live)["gifts_count"],
    )

    page.locator("button.gift-tile[data-gift='fireworks']").click()  # 999 coins
    sheet = page.locator("#recharge")
    expect(sheet).to_be_visible()
    expect(page.locator("#recharge-reason")).not_to_be_empty()
    assert page.locator("#send-error").get_attribute("role") == "alert"
    expect(balance_text(page)).to_have_text("70")

    after = (
        console.balance(viewer),
        console.balance(room["creator"], "DIAMOND"),
        live_of(console, live)["last_seq"],
        live_of(console, live)["gifts_count"],
    )
    assert after == before
    # the page shows the API's own message, in the panel and in the sheet
    r = console.http.post(
        f"/v1/lives/{live}/gifts",
        json={"gift_id": "fireworks"},
        headers=console.as_user(viewer, "y"),
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "insufficient_funds"
    message = r.json()["error"]["message"]
    expect(page.locator("#send-error")).to_have_text(message)
    expect(page.locator("#recharge-reason")).to_have_text(message)
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    assert focused(page)["gift"] == "fireworks"  # focus went back to what opened it


def test_a_refusal_shows_the_api_message(console: Console, page: Any, room: dict[str, str]) -> None:
    viewer = "vr-carol"
    console.create_user(viewer, display_name="Carol")
    console.buy_coins(viewer, 70, "vr-carol-coins")
    live = console.start_live(room["guest"], "Short one")
    open_room(console, page, viewer, live)
    r = console.http.post(f"/v1/lives/{live}/end", headers=console.as_user(room["guest"]))
    assert r.status_code == 200, r.text
    expect(page.locator("#live-badge")).to_have_text("ENDED", timeout=WAIT)  # live_ended event

    r = console.http.post(
        f"/v1/lives/{live}/gifts", json={"gift_id": "rose"}, headers=console.as_user(viewer, "x")
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "live_not_active"
    message = r.json()["error"]["message"]
    page.locator("button.gift-tile[data-gift='rose']").click()
    expect(page.locator("#send-error")).to_have_text(message)
    expect(page.locator("#recharge")).to_be_hidden()
    assert console.balance(viewer) == 70
    expect(balance_text(page)).to_have_text("70")

    # a room that does not exist says so
    r = console.http.get("/v1/lives/987654", headers=console.as_user(viewer))
    assert r.status_code == 404
    page.goto(f"{console.url}/live/987654")
    expect(page.locator("#room-problem")).to_have_text(r.json()["error"]["message"])
    expect(page.locator("#conn")).to_have_attribute("data-state", "gone")


def test_a_retry_reuses_the_idempotency_key_and_leaving_is_reported(
    console: Console, page: Any, room: dict[str, str]
) -> None:
    live, viewer = room["live"], "vr-ray"
    console.create_user(viewer, display_name="Ray")
    console.buy_coins(viewer, 70, "vr-ray-coins")
    price = prices(console)
    watching = live_of(console, live)["viewer_count"]
    open_room(console, page, viewer, live)
    assert live_of(console, live)["viewer_count"] == watching + 1  # joined on open

    keys: list[str] = []

    def lose_the_first_answer(route: Any) -> None:
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            route.fetch()  # the server takes the gift...
            route.abort("connectionreset")  # ...and the answer is lost on the way back
        else:
            route.continue_()

    page.route("**/v1/lives/*/gifts", lose_the_first_answer)
    page.locator("button.gift-tile[data-gift='rose']").click()
    error = page.locator("#send-error")
    expect(error).to_contain_text("not confirmed")
    assert console.balance(viewer) == 70 - price["rose"]  # it did go through, once
    error.get_by_role("button", name="Try again").click()
    expect(balance_text(page)).to_have_text(str(70 - price["rose"]))
    expect(error).to_be_empty()
    assert len(keys) == 2 and keys[0] == keys[1]
    assert console.balance(viewer) == 70 - price["rose"]  # the retry moved nothing more
    page.locator("button.gift-tile[data-gift='rose']").click()  # a new click: a new key
    expect(balance_text(page)).to_have_text(str(70 - 2 * price["rose"]))
    assert len(keys) == 3 and keys[2] != keys[0]

    page.goto("about:blank")  # pagehide: the room reports the viewer leaving
    for _ in range(100):
        if live_of(console, live)["viewer_count"] == watching:
            break
        page.wait_for_timeout(100)
    assert live_of(console, live)["viewer_count"] == watching


def test_keyboard_only(console: Console, page: Any, room: dict[str, str]) -> None:
    live, viewer = room["live"], "vr-kay"
    console.create_user(viewer, display_name="Kay")
    console.buy_coins(viewer, 70, "vr-kay-coins")
    price = prices(console)
    open_room(console, page, viewer, live)
    expect(balance_text(page)).to_have_text("70")

    # Tab to the first gift, arrow to the Panda, Enter sends it
    for _ in range(40):
        page.keyboard.press("Tab")
        if focused(page)["gift"] == "rose":
            break
    assert focused(page)["gift"] == "rose"
    page.keyboard.press("ArrowRight")
    assert focused(page)["gift"] == "panda"
    page.keyboard.press("Enter")
    expect(balance_text(page)).to_have_text(str(70 - price["panda"]))
    assert console.balance(viewer) == 70 - price["panda"]
    page.keyboard.press("ArrowLeft")
    assert focused(page)["gift"] == "rose"

    # back to the Recharge button, open the sheet: focus moves into it
    for _ in range(20):
        page.keyboard.press("Shift+Tab")
        if focused(page)["id"] == "recharge-open":
            break
    assert focused(page)["id"] == "recharge-open"
    page.keyboard.press("Enter")
    expect(page.locator("#recharge")).to_be_visible()
    expect(page.locator("#packs input").first).to_be_focused()
    packs = console.http.get("/v1/coin-packs?channel=web", headers=console.as_user(viewer)).json()
    page.keyboard.press("ArrowRight")  # the second pack, checked
    second = packs["packs"][1]
    assert (focused(page)["name"], focused(page)["value"]) == ("pack", str(second["coins"]))
    page.keyboard.press("Tab")  # the custom amount field
    page.keyboard.press("Tab")  # the card number
    assert focused(page)["id"] == "card-number"
    page.keyboard.type(CARD)
    page.keyboard.press("Enter")  # submits the form
    expect(page.locator("#pay-done")).to_contain_text(f"Added {second['coins']} coins")
    coins = 70 - price["panda"] + second["coins"] + second["bonus_coins"]
    expect(balance_text(page)).to_have_text(str(coins))
    assert console.balance(viewer) == coins

    # focus stays inside the sheet: Tab from the last control wraps to the first
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "pay"
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "recharge-close"
    page.keyboard.press("Shift+Tab")
    assert focused(page)["id"] == "pay"
    page.keyboard.press("Escape")
    expect(page.locator("#recharge")).to_be_hidden()
    assert focused(page)["id"] == "recharge-open"

    # again, closed with its Close button
    page.keyboard.press("Enter")
    expect(page.locator("#recharge")).to_be_visible()
    page.keyboard.press("Shift+Tab")  # from the checked pack back to Close
    assert focused(page)["id"] == "recharge-close"
    page.keyboard.press("Enter")
    expect(page.locator("#recharge")).to_be_hidden()
    assert focused(page)["id"] == "recharge-open"


@pytest.fixture
def proxy(console: Console) -> Iterator[Proxy]:
    relay = Proxy(console.server.port)
    try:
        yield relay
    finally:
        relay.close()


def test_the_stream_resumes_after_a_dropped_connection(
    console: Console, page: Any, room: dict[str, str], proxy: Proxy
) -> None:
    live, viewer, fan = room["live"], "vr-dan", room["fan"]
    console.create_user(viewer, display_name="Dan")
    open_room(console, page, viewer, live, base=proxy.url)

    proxy.drop()
    expect(page.locator("#conn")).to_have_attribute("data-state", "reconnecting", timeout=WAIT)
    missed = [send(console, fan, live, gift, f"vr-missed-{gift}") for gift in ("fireworks", "rose")]
    proxy.restore()
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=WAIT)
    for sent in missed:
        item = page.locator(f"#feed li[data-tx='{sent['transaction_id']}']")
        expect(item).to_have_count(1, timeout=WAIT)
    expect(page.locator(".gift-anim[data-gift='fireworks'][data-tier='3']")).to_be_attached()

    # a gift after the resume arrives after them, and neither of the missed ones came twice
    after = send(console, fan, live, "panda", "vr-after-resume")
    expect(page.locator(f"#feed li[data-tx='{after['transaction_id']}']")).to_have_count(
        1, timeout=WAIT
    )
    for sent in missed:
        assert page.locator(f"#feed li[data-tx='{sent['transaction_id']}']").count() == 1
    seqs = [
        int(s) for s in page.locator("#feed li").evaluate_all("ns => ns.map(n => n.dataset.seq)")
    ]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == len(set(seqs))


def test_accessibility_and_screenshots(
    console: Console, browser: Any, room: dict[str, str]
) -> None:
    live, viewer, fan = room["live"], "vr-eve", room["fan"]
    console.create_user(viewer, display_name="Eve")
    console.buy_coins(viewer, 1400, "vr-eve-coins")
    host = room["creator"]
    for i, (kind, body) in enumerate(
        (
            ("coins", {"kind": "coins", "target": 5000, "title": "Acoustic encore"}),
            ("gift", {"kind": "gift", "gift_id": "panda", "target": 20, "title": "20 Pandas"}),
        )
    ):
        r = console.http.post(
            f"/v1/lives/{live}/goals", json=body, headers=console.as_user(host, f"vr-goal-{i}")
        )
        assert r.status_code == 201, (kind, r.text)
    # a battle against the guest's new live
    other = console.start_live(room["guest"], "Rival room")
    r = console.http.post(
        "/v1/battles",
        json={"live_id": live, "opponents": [other], "duration_seconds": 300},
        headers=console.as_user(host, "vr-battle"),
    )
    assert r.status_code == 201, r.text
    r = console.http.post(
        f"/v1/battles/{r.json()['id']}/accept", headers=console.as_user(room["guest"], "vr-accept")
    )
    assert r.status_code == 200 and r.json()["state"] == "active", r.text
    for n in range(4):
        send(console, fan, live, "panda", f"vr-shot-panda-{n}")

    for name, viewport in (
        ("console-live", {"width": 1280, "height": 800}),
        ("console-live-phone", PHONE),
    ):
        context = browser.new_context(viewport=viewport)
        try:
            page = context.new_page()
            open_room(console, page, viewer, live)
            expect(page.locator("#battle")).to_be_visible(timeout=WAIT)
            expect(page.locator("#goals li")).to_have_count(2)
            expect(page.locator("#top li").first).to_be_visible(timeout=WAIT)
            found = axe_violations(page)
            assert found == [], (name, [(v["id"], n["target"]) for v in found for n in v["nodes"]])
            page.get_by_role("button", name="Recharge").click()
            expect(page.locator("#packs input").first).to_be_visible()
            assert axe_violations(page) == [], f"{name} with the recharge sheet"
            page.keyboard.press("Escape")
            # a combo and a tier-3 animation in flight for the picture
            rose = page.locator("button.gift-tile[data-gift='rose']")
            for _ in range(5):
                rose.click()
            expect(page.locator(".combo[data-gift='rose'] .combo-what").first).to_have_text(
                re.compile(r"^Rose ×\d+$"), timeout=WAIT
            )
            send(console, fan, live, "fireworks", f"vr-shot-fireworks-{name}")
            expect(page.locator(".gift-anim.tier-3:not([hidden])").last).to_be_visible(timeout=WAIT)
            page.evaluate("window.scrollTo(0, 0)")
            IMAGES.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(IMAGES / f"{name}.png"))
        finally:
            context.close()
