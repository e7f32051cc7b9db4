"""``giftflow demo``: a playable economy, the same after a second run, whose creator can
withdraw at once under the standard policy, with console sign-in links that work."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

import pyotp
from fastapi.testclient import TestClient

from giftflow.api import create_app
from giftflow.clock import SystemClock
from giftflow.db import make_engine
from giftflow.demo import HISTORY_DAYS, seed, signin_links
from giftflow.earnings.balances.service import release_due_holds
from giftflow.ledger.reconcile_repository import reconcile
from giftflow.operations.fraud.service import scan_for_fraud
from giftflow.settings import Settings

SECRET = "demo-test-secret-0123456789abcdef0123"


def test_demo_seeds_a_playable_economy_once(database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        jwt_secret=SECRET,
        secrets_key="demo-test-secrets-key-0123456789abcdef",
        pending_sweep_seconds=0,
        engagement_tick_ms=0,
        demo_signin=True,
    )
    first = seed(settings)
    engine = make_engine(database_url, pool_size=1)
    try:
        before = reconcile(engine)
        second = seed(settings)
        after = reconcile(engine)
    finally:
        engine.dispose()
    assert before.clean and after.clean
    assert after.transactions == before.transactions  # nothing moved twice
    assert second.live_id == first.live_id
    assert first.totp_secret and second.totp_secret == first.totp_secret

    with TestClient(create_app(settings, SystemClock())) as client:
        ctx = client.app.state.giftflow  # type: ignore[attr-defined]
        assert asyncio.run(release_due_holds(ctx)) >= 1  # the history's gifts, ten days old
        assert asyncio.run(scan_for_fraud(ctx)) >= 1  # today's top-ups with the one card
        links = signin_links(settings, second, "http://testserver")
        creator_link = next(url for who, url in links.items() if who.startswith("creator"))
        r = client.get(creator_link.removeprefix("http://testserver"), follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/creator")
        earnings = client.get("/v1/creator/earnings").json()
        assert earnings["available"]["diamonds"]["amount"] >= 200  # at least $1 to withdraw
        methods = client.get("/v1/payout-methods").json()["data"]
        assert methods[0]["usable_from"] < SystemClock().now().isoformat()
        csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"', client.get("/creator").text)
        assert csrf is not None
        withdrawal = client.post(
            "/v1/withdrawals",
            json={
                "amount_minor": 100,
                "method_id": methods[0]["id"],
                "totp": pyotp.TOTP(second.totp_secret).now(),
            },
            headers={"X-CSRF-Token": csrf.group(1), "Idempotency-Key": "demo-withdraw"},
        )
        assert withdrawal.status_code == 201, withdrawal.text
        lives = client.get("/v1/lives?creator_id=ava").json()["data"]
        assert {live["state"] for live in lives} == {"active", "ended"}
        ended = next(live for live in lives if live["state"] == "ended")
        started = datetime.fromisoformat(ended["started_at"].replace("Z", "+00:00"))
        assert SystemClock().now() - started > timedelta(days=HISTORY_DAYS - 1)
