"""``giftflow demo``: a small economy to play with, seeded through the real API.

Under the configured policy (``standard`` by default) it creates creators — Ava (12,400
followers, live now), Ben (1,800, not live) and Cleo (400: too few followers to receive gifts) —
and twenty viewers who bought coins through the sandbox provider (card 4242…), each with a
different pack. Everything goes through the HTTP API in-process (the same code paths as a real
client) under fixed idempotency keys, so running the demo again changes nothing and reuses the
running live.

The first run also replays a past, on a clock set ten days back: the purchases, and Ava
enrolling an authenticator, adding a PayPal address and streaming a live with big gifts. So
today her diamonds from then are past the 7-day hold and the address past its 48-hour
cooling-off, and a person can withdraw from the console at once, under the standard policy.
Ava's authenticator secret is kept (demo only) so each run prints it. It prints the console's
sign-in links, the URLs to open and tokens for a viewer and for Ava.
"""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from giftflow.api import create_app
from giftflow.auth.apikeys import create_api_key
from giftflow.auth.sessions import mint_demo_ticket
from giftflow.auth.tokens import mint_user_token
from giftflow.clock import Clock, FrozenClock, SystemClock
from giftflow.db import make_engine, unit_of_work
from giftflow.schema import job_state
from giftflow.settings import Settings

CREATORS = [
    ("ava", "Ava Lumen", 12_400),
    ("ben", "Ben Okafor", 1_800),
    ("cleo", "Cleo Marsh", 400),
]
PACKS = [70, 350, 700, 1400, 3500, 7000]
VIEWERS = [f"viewer-{n:02d}" for n in range(1, 21)]
NAMES = [
    "Mia", "Noah", "Lena", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma",
    "Vik", "Wren", "Xia", "Yusuf", "Zoe", "Aiko", "Bruno", "Chloe", "Dev", "Eli",
]  # fmt: skip
CARD = "4242 4242 4242 4242"


@dataclass
class DemoResult:
    live_id: str
    creators: list[str]
    viewers: list[str]
    viewer_coins: dict[str, int]
    viewer_token: str
    creator_token: str
    platform_key: str
    admin_key_id: int
    totp_secret: str | None  # Ava's authenticator (demo only: kept to print it again)


def _key(settings: Settings, name: str, scopes: set[str]) -> tuple[str, int]:
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            plaintext, record = create_api_key(conn, name, scopes, SystemClock().now())
    finally:
        engine.dispose()
    return plaintext, record.id


def _ok(response: Any, *statuses: int) -> dict[str, Any]:
    if response.status_code not in statuses:
        raise RuntimeError(
            f"demo: {response.request.method} {response.request.url.path} → "
            f"{response.status_code} {response.text[:300]}"
        )
    body: dict[str, Any] = response.json()
    return body


HISTORY_DAYS = 10  # the demo's past: long enough for the 7-day hold and 48-hour cooling-off
HISTORY_GIFTS = [("viewer-12", "fireworks"), ("viewer-18", "fireworks"), ("viewer-11", "panda")]
AVA_TOTP = "demo:ava:totp_secret"  # job_state: the demo creator's authenticator secret


def seed(settings: Settings) -> DemoResult:
    if not settings.jwt_secret:
        raise RuntimeError("GIFTFLOW_JWT_SECRET is not set (make run writes one to .env).")
    suffix = secrets.token_hex(3)
    platform, _ = _key(settings, f"demo-platform-{suffix}", {"platform"})
    _, admin_key_id = _key(settings, f"demo-console-admin-{suffix}", {"admin"})

    with warnings.catch_warnings():  # starlette's note about httpx, irrelevant here
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    quiet = settings.model_copy(update={"pending_sweep_seconds": 0, "engagement_tick_ms": 0})
    now = SystemClock().now()
    past = FrozenClock(now - timedelta(days=HISTORY_DAYS))
    coins: dict[str, int] = {}
    with TestClient(create_app(quiet, past)) as client:
        demo = _Demo(client, settings, past, platform)
        if not demo.has_history():
            demo.people(coins)
            demo.history()
    clock = SystemClock()
    with TestClient(create_app(quiet, clock)) as client:
        demo = _Demo(client, settings, clock, platform)
        demo.people(coins)  # the same keys: nothing moves twice
        live_id = demo.present()
        totp_secret = demo.ava_secret()
    return DemoResult(
        live_id=live_id,
        creators=[c for c, _, _ in CREATORS],
        viewers=VIEWERS,
        viewer_coins=coins,
        viewer_token=demo.token(VIEWERS[0]),
        creator_token=demo.token("ava"),
        platform_key=platform,
        admin_key_id=admin_key_id,
        totp_secret=totp_secret,
    )


class _Demo:
    """The demo's steps against one in-process app, under one clock."""

    def __init__(self, client: Any, settings: Settings, clock: Clock, platform: str) -> None:
        self.client, self.settings, self.clock, self.platform = client, settings, clock, platform

    def token(self, user_id: str) -> str:
        ttl = self.settings.jwt_max_ttl_seconds
        return mint_user_token(
            user_id, self.settings.jwt_secret, self.clock.now(), ttl, max_ttl_seconds=ttl
        )

    def auth(self, user_id: str | None = None, idem: str | None = None) -> dict[str, str]:
        credential = self.platform if user_id is None else self.token(user_id)
        return {"Authorization": f"Bearer {credential}"} | (
            {"Idempotency-Key": idem} if idem else {}
        )

    def has_history(self) -> bool:
        lives = self.client.get("/v1/lives?creator_id=ava&state=ended", headers=self.auth())
        return bool(_ok(lives, 200)["data"])

    def people(self, coins: dict[str, int]) -> None:
        """The creators (Ava verified for payouts) and the viewers, each with a pack of coins."""
        client = self.client
        for user_id, name, followers in CREATORS:
            _ok(client.put(f"/v1/users/{user_id}", headers=self.auth(), json={
                "display_name": name, "region": "US", "birth_date": "1994-05-17",
                "follower_count": followers, "kyc_status": "verified",
            }), 200, 201)  # fmt: skip
        for n, (user_id, name) in enumerate(zip(VIEWERS, NAMES, strict=True)):
            _ok(client.put(f"/v1/users/{user_id}", headers=self.auth(), json={
                "display_name": name, "region": "US", "birth_date": f"{1980 + n}-03-0{1 + n % 9}",
            }), 200, 201)  # fmt: skip
            pack = PACKS[n % len(PACKS)]
            _ok(
                client.post(
                    "/v1/purchases",
                    headers=self.auth(user_id, f"demo-{user_id}-{pack}"),
                    json={"pack": pack, "channel": "web", "provider": "sandbox",
                          "card": {"number": CARD}},
                ),
                200, 201,
            )  # fmt: skip
            wallet = _ok(client.get(f"/v1/users/{user_id}/wallet", headers=self.auth()), 200)
            coins[user_id] = sum(b["amount"] for b in wallet["balances"] if b["asset"] == "COIN")

    def history(self) -> None:
        """Ten days ago: Ava enrolled an authenticator, added a PayPal address and streamed a
        live with a few big gifts, so today her diamonds are past their hold and the address
        past its cooling-off: she can withdraw from the console at once."""
        import pyotp

        client, clock = self.client, self.clock
        assert isinstance(clock, FrozenClock)  # the past is replayed on a clock we move
        secret = _ok(client.post("/v1/creator/totp", headers=self.auth("ava")), 201)["secret"]
        code = pyotp.TOTP(secret).at(self.clock.now())
        _ok(client.post("/v1/creator/totp/confirm", headers=self.auth("ava"),
                        json={"code": code}), 200)  # fmt: skip
        self._remember(AVA_TOTP, secret)
        clock.advance(timedelta(seconds=31))  # a code is accepted once
        code = pyotp.TOTP(secret).at(self.clock.now())
        _ok(client.post("/v1/payout-methods", headers=self.auth("ava"),
                        json={"kind": "paypal", "email": "ava.lumen@example.com",
                              "totp": code}), 201)  # fmt: skip
        live = _ok(client.post("/v1/lives", headers=self.auth("ava"),
                               json={"title": "Sunday sketching"}), 201)  # fmt: skip
        for n, (viewer, gift) in enumerate(HISTORY_GIFTS):
            _ok(client.post(f"/v1/lives/{live['id']}/gifts",
                            headers=self.auth(viewer, f"demo-history-{n}"),
                            json={"gift_id": gift}), 200, 201)  # fmt: skip
        _ok(client.post(f"/v1/lives/{live['id']}/end", headers=self.auth("ava")), 200)

    def present(self) -> str:
        """Ava live now, with a little history on the room's stream; three viewers top up today
        with the one sandbox card everyone uses, which the fraud scan flags for the admin."""
        client = self.client
        for user_id in VIEWERS[1:4]:
            _ok(client.post("/v1/purchases", headers=self.auth(user_id, f"demo-today-{user_id}"),
                            json={"pack": 70, "channel": "web", "provider": "sandbox",
                                  "card": {"number": CARD}}), 200, 201)  # fmt: skip
        started = client.post("/v1/lives", headers=self.auth("ava"),
                              json={"title": "Late-night lo-fi and requests"})  # fmt: skip
        if started.status_code == 409 and started.json()["error"]["code"] == "live_already_active":
            live_id = str(started.json()["error"]["details"]["live_id"])
        else:
            live_id = str(_ok(started, 201)["id"])
        # a Rose streak, a Panda, Fireworks
        for n, (viewer, gift) in enumerate(
            [("viewer-04", "rose")] * 5 + [("viewer-05", "panda"), ("viewer-06", "fireworks")]
        ):
            client.post(
                f"/v1/lives/{live_id}/gifts",
                headers=self.auth(viewer, f"demo-{live_id}-{n}"),
                json={"gift_id": gift},
            )
        return live_id

    def ava_secret(self) -> str | None:
        engine = make_engine(self.settings.database_url, pool_size=1)
        try:
            with engine.connect() as conn:
                value = conn.execute(
                    select(job_state.c.value).where(job_state.c.name == AVA_TOTP)
                ).scalar()
        finally:
            engine.dispose()
        return None if value is None else str(value)

    def _remember(self, name: str, value: str) -> None:
        engine = make_engine(self.settings.database_url, pool_size=1)
        try:
            with unit_of_work(engine) as conn:
                conn.execute(job_state.delete().where(job_state.c.name == name))
                conn.execute(
                    job_state.insert().values(name=name, value=value, updated_at=self.clock.now())
                )
        finally:
            engine.dispose()


def signin_links(settings: Settings, result: DemoResult, base: str) -> dict[str, str]:
    """One-click console sign-in links for a viewer, the live creator and an operator; a server
    accepts them only with ``GIFTFLOW_DEMO_SIGNIN`` and for ``GIFTFLOW_DEMO_LINK_MINUTES``."""
    now, minutes = SystemClock().now(), settings.demo_link_minutes

    def link(next_path: str, **subject: Any) -> str:
        ticket = mint_demo_ticket(settings.jwt_secret, now, minutes, next_path=next_path, **subject)
        return f"{base}/signin/demo?ticket={ticket}"

    return {
        f"viewer ({result.viewers[0]})": link(f"/live/{result.live_id}", user_id=result.viewers[0]),
        f"creator ({result.creators[0]})": link("/creator", user_id=result.creators[0]),
        "admin": link("/admin", api_key_id=result.admin_key_id),
    }
