"""``giftflow demo``: a small economy to play with, seeded through the real API.

Under the configured policy (``standard`` by default) it creates creators — Ava (12,400
followers, live now), Ben (1,800, not live) and Cleo (400: too few followers to receive gifts) —
and twenty viewers who bought coins through the sandbox provider (card 4242…), each with a
different pack. Everything goes through the HTTP API in-process (the same code paths as a real
client) under fixed idempotency keys, so running the demo again changes nothing and reuses the
running live. It prints the URLs to open and a token for a viewer and for Ava.
"""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass
from typing import Any

from giftflow.api import create_app
from giftflow.auth.apikeys import create_api_key
from giftflow.auth.sessions import mint_demo_ticket
from giftflow.auth.tokens import mint_user_token
from giftflow.clock import SystemClock
from giftflow.db import make_engine, unit_of_work
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


def seed(settings: Settings) -> DemoResult:
    if not settings.jwt_secret:
        raise RuntimeError("GIFTFLOW_JWT_SECRET is not set (make run writes one to .env).")
    suffix = secrets.token_hex(3)
    platform, _ = _key(settings, f"demo-platform-{suffix}", {"platform"})
    _, admin_key_id = _key(settings, f"demo-console-admin-{suffix}", {"admin"})
    clock = SystemClock()

    def token(user_id: str) -> str:
        ttl = settings.jwt_max_ttl_seconds
        return mint_user_token(user_id, settings.jwt_secret, clock.now(), ttl, max_ttl_seconds=ttl)

    def auth(credential: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential}"}

    with warnings.catch_warnings():  # starlette's note about httpx, irrelevant here
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    quiet = settings.model_copy(update={"pending_sweep_seconds": 0})
    with TestClient(create_app(quiet, clock)) as client:
        for user_id, name, followers in CREATORS:
            _ok(client.put(f"/v1/users/{user_id}", headers=auth(platform), json={
                "display_name": name, "region": "US", "birth_date": "1994-05-17",
                "follower_count": followers,
            }), 200, 201)  # fmt: skip
        coins: dict[str, int] = {}
        for n, (user_id, name) in enumerate(zip(VIEWERS, NAMES, strict=True)):
            _ok(client.put(f"/v1/users/{user_id}", headers=auth(platform), json={
                "display_name": name, "region": "US", "birth_date": f"{1980 + n}-03-0{1 + n % 9}",
            }), 200, 201)  # fmt: skip
            pack = PACKS[n % len(PACKS)]
            _ok(
                client.post(
                    "/v1/purchases",
                    headers=auth(token(user_id)) | {"Idempotency-Key": f"demo-{user_id}-{pack}"},
                    json={"pack": pack, "channel": "web", "provider": "sandbox",
                          "card": {"number": CARD}},
                ),
                200, 201,
            )  # fmt: skip
            wallet = _ok(client.get(f"/v1/users/{user_id}/wallet", headers=auth(platform)), 200)
            coins[user_id] = sum(b["amount"] for b in wallet["balances"] if b["asset"] == "COIN")
        started = client.post("/v1/lives", headers=auth(token("ava")),
                              json={"title": "Late-night lo-fi and requests"})  # fmt: skip
        if started.status_code == 409 and started.json()["error"]["code"] == "live_already_active":
            live_id = str(started.json()["error"]["details"]["live_id"])
        else:
            live_id = str(_ok(started, 201)["id"])
        # a little history on the room's stream: a Rose streak, a Panda, Fireworks
        for n, (viewer, gift) in enumerate(
            [("viewer-04", "rose")] * 5 + [("viewer-05", "panda"), ("viewer-06", "fireworks")]
        ):
            client.post(
                f"/v1/lives/{live_id}/gifts",
                headers=auth(token(viewer)) | {"Idempotency-Key": f"demo-{live_id}-{n}"},
                json={"gift_id": gift},
            )
    return DemoResult(
        live_id=live_id,
        creators=[c for c, _, _ in CREATORS],
        viewers=VIEWERS,
        viewer_coins=coins,
        viewer_token=token(VIEWERS[0]),
        creator_token=token("ava"),
        platform_key=platform,
        admin_key_id=admin_key_id,
    )


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
