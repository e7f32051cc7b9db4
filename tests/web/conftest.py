"""The console in a real browser: ``giftflow serve`` in a child process on a fresh SQLite
database, and Debian's Chromium driven by Playwright (never Playwright's own browser download).

``console`` is one server per test module, with an admin key, a platform key and helpers to
create users, mint their tokens and one-click sign-in links, and call the API as anyone.
Browser tests use pytest-playwright's ``page`` / ``browser`` fixtures; the launch arguments
below point them at /usr/bin/chromium.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from giftflow.auth.apikeys import create_api_key
from giftflow.auth.sessions import mint_demo_ticket
from giftflow.auth.tokens import mint_user_token
from giftflow.clock import SystemClock
from giftflow.db import make_engine, unit_of_work
from tests.api.server import ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECRET = "console-test-secret-0123456789abcdef0123"
SECRETS_KEY = "console-test-secrets-key-0123456789abcdef"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def screenshots_dir() -> Path:
    """Where tests save their screenshots: docs/images with ``GIFTFLOW_SCREENSHOTS=1`` (`make
    screenshots`), else a scratch folder, so a test run leaves the working tree as it was."""
    if os.environ.get("GIFTFLOW_SCREENSHOTS"):
        return DOC_IMAGES
    return Path(tempfile.gettempdir()) / "giftflow-screenshots"


PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") or os.environ.get("GIFTFLOW_REQUIRE_PG"):
            raise RuntimeError(f"{CHROMIUM} is missing: make test installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@dataclass
class Console:
    """A running server and what a test needs to act on it."""

    server: ServerProcess
    admin_key: str
    admin_key_id: int
    platform_key: str
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.server.url, timeout=15)

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, user_id: str, ttl: int = 900) -> str:
        return mint_user_token(user_id, SECRET, SystemClock().now(), ttl)

    def as_user(self, user_id: str, idem: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token(user_id)}"}
        return h | ({"Idempotency-Key": idem} if idem else {})

    def as_admin(self, idem: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.admin_key}"}
        return h | ({"Idempotency-Key": idem} if idem else {})

    def as_platform(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.platform_key}"}

    def create_user(self, user_id: str, **fields: Any) -> dict[str, Any]:
        """A user as the platform creates them (adult in the US unless told otherwise)."""
        body = {"region": "US", "birth_date": "1990-01-01", "display_name": user_id} | fields
        r = self.http.put(f"/v1/users/{user_id}", json=body, headers=self.as_platform())
        assert r.status_code in (200, 201), r.text
        result: dict[str, Any] = r.json()
        return result

    def buy_coins(self, user_id: str, pack: int, idem: str) -> None:
        r = self.http.post(
            "/v1/purchases",
            json={"pack": pack, "provider": "sandbox", "card": {"number": "4242424242424242"}},
            headers=self.as_user(user_id, idem),
        )
        assert r.status_code in (200, 201), r.text

    def start_live(self, creator_id: str, title: str = "Testing live") -> str:
        r = self.http.post("/v1/lives", json={"title": title}, headers=self.as_user(creator_id))
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def balance(self, user_id: str, asset: str = "COIN") -> int:
        r = self.http.get(f"/v1/users/{user_id}/wallet", headers=self.as_platform())
        assert r.status_code == 200, r.text
        return sum(b["amount"] for b in r.json()["balances"] if b["asset"] == asset)

    def signin_link(self, next_path: str, **subject: Any) -> str:
        """A one-click sign-in link (user_id=… or api_key_id=…), as ``giftflow demo`` prints."""
        ticket = mint_demo_ticket(SECRET, SystemClock().now(), 30, next_path=next_path, **subject)
        return f"{self.url}/signin/demo?ticket={ticket}"

    def admin_link(self, next_path: str = "/admin") -> str:
        return self.signin_link(next_path, api_key_id=self.admin_key_id)


def start_console(sqlite_template: Path, tmp_path: Path, **env: str) -> Console:
    path = tmp_path / "console.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            now = SystemClock().now()
            admin, admin_record = create_api_key(conn, "console-admin", {"admin"}, now)
            platform, _ = create_api_key(conn, "console-platform", {"platform"}, now)
    finally:
        engine.dispose()
    server = ServerProcess(
        url,
        SECRET,
        tmp_path,
        GIFTFLOW_SECRETS_KEY=SECRETS_KEY,
        GIFTFLOW_DEMO_SIGNIN="true",
        GIFTFLOW_SANDBOX_PAYOUT_SETTLE_SECONDS="1",
        GIFTFLOW_PENDING_SWEEP_SECONDS="1",
        **({"GIFTFLOW_ENGAGEMENT_TICK_MS": "250"} | env),  # snapshots and battle timers on
    ).start()
    return Console(server, admin, admin_record.id, platform)


@pytest.fixture(scope="module")
def console(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    running = start_console(sqlite_template, tmp_path_factory.mktemp("console"))
    try:
        yield running
    finally:
        running.http.close()
        running.server.stop()


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[Any]:
    """Run the vendored axe-core on the page; the violations of these impacts. (Evaluated
    through the DevTools protocol, which the page's Content-Security-Policy does not govern.)"""
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document)")
    return [v for v in result["violations"] if v.get("impact") in impacts]
