"""A running app with helpers for LIVE: creators, viewers with coins, lives and gifts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from giftflow.api import create_app
from giftflow.clock import FrozenClock
from giftflow.context import AppContext
from giftflow.db import make_engine, unit_of_work
from giftflow.ledger.reconcile_repository import reconcile
from giftflow.live.rooms.service import close_due_combos
from giftflow.money.policy import Policy, load_profile
from giftflow.money.repository import store_policy
from giftflow.schema import room_events
from giftflow.settings import Settings
from tests.api.conftest import SECRET, Api, make_keys
from tests.batching import calls_in_one_batch


def err(r: httpx.Response) -> tuple[int, str]:
    """(status, error code) of a refusal."""
    return r.status_code, r.json()["error"]["code"]


@dataclass
class LiveApi(Api):
    # --- people -----------------------------------------------------------------------------
    def person(self, user_id: str, **facts: Any) -> None:
        body = {"region": "US", "birth_date": "1990-01-01", **facts}
        r = self.client.put(f"/v1/users/{user_id}", json=body, headers=self.platform())
        assert r.status_code in (200, 201), r.text

    def set_user(self, user_id: str, **facts: Any) -> None:
        """Change only these facts (followers, frozen, birth date…), as the platform does."""
        r = self.client.put(f"/v1/users/{user_id}", json=facts, headers=self.platform())
        assert r.status_code == 200, r.text

    def creator(self, user_id: str, followers: int = 1000, **facts: Any) -> None:
        self.person(user_id, follower_count=followers, **facts)

    def viewer(self, user_id: str, coins: int = 0, **facts: Any) -> None:
        self.person(user_id, **facts)
        if coins:
            self.grant(f"user:{user_id}:coins", coins, f"grant-{user_id}-{coins}")

    def buy(self, user_id: str, coins: int, idem: str) -> dict[str, Any]:
        """A custom amount bought in the app with the sandbox card that succeeds."""
        r = self.client.post(
            "/v1/purchases",
            json={"channel": "app", "coins": coins, "card": {"number": "4242 4242 4242 4242"}},
            headers=self.user(user_id) | {"Idempotency-Key": idem},
        )
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        assert body["state"] == "succeeded", body
        return body

    # --- lives ------------------------------------------------------------------------------
    def start(self, creator_id: str, title: str = "on air") -> str:
        r = self.client.post("/v1/lives", json={"title": title}, headers=self.user(creator_id))
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def end(self, live_id: str, user_id: str) -> httpx.Response:
        r: httpx.Response = self.client.post(f"/v1/lives/{live_id}/end", headers=self.user(user_id))
        return r

    def watch(self, user_id: str, live_id: str, action: str = "join") -> httpx.Response:
        r: httpx.Response = self.client.post(
            f"/v1/lives/{live_id}/viewers", json={"action": action}, headers=self.user(user_id)
        )
        return r

    def gift(
        self, user_id: str, live_id: str, gift_id: str = "rose", count: int = 1, idem: str = ""
    ) -> httpx.Response:
        headers = self.user(user_id) | {"Idempotency-Key": idem or f"{user_id}-{gift_id}-{count}"}
        r: httpx.Response = self.client.post(
            f"/v1/lives/{live_id}/gifts", json={"gift_id": gift_id, "count": count}, headers=headers
        )
        return r

    def live(self, live_id: str) -> dict[str, Any]:
        r = self.client.get(f"/v1/lives/{live_id}", headers=self.platform())
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def events(self, live_id: str) -> list[dict[str, Any]]:
        """The room's stored events (the outbox), by sequence."""
        with self.ctx.engine.connect() as conn:
            rows = conn.execute(
                select(room_events.c.seq, room_events.c.type, room_events.c.payload)
                .where(room_events.c.room_id == int(live_id))
                .order_by(room_events.c.seq)
            ).all()
        out: list[dict[str, Any]] = []
        for seq, type_, payload in rows:
            event: dict[str, Any] = json.loads(payload)
            assert (event["seq"], event["type"]) == (seq, type_)
            out.append(event)
        return out

    def close_combos(self) -> None:
        """Run the streak closer now (the app's own loop may have done it already)."""
        self.client.portal.call(close_due_combos, self.ctx)  # type: ignore[union-attr]

    # --- money ------------------------------------------------------------------------------
    def balance(self, path: str, asset: str) -> int:
        r = self.client.get("/v1/admin/balances", params={"path": path}, headers=self.admin())
        assert r.status_code == 200, r.text
        return sum(b["amount"] for b in r.json()["balances"] if b["asset"] == asset)

    def coins(self, user_id: str) -> int:
        return sum(
            self.balance(p, "COIN")
            for p in (f"user:{user_id}:coins", f"user:{user_id}:coins:bonus")
        )

    def diamonds(self, creator_id: str) -> tuple[int, int]:
        """(available, in hold) hundredths of a diamond."""
        return (
            self.balance(f"creator:{creator_id}:diamonds", "DIAMOND"),
            self.balance(f"creator:{creator_id}:diamonds:pending", "DIAMOND"),
        )

    def snapshot(self, live_id: str, *user_ids: str) -> dict[str, Any]:
        """Everything a refused gift must leave as it was."""
        live = self.live(live_id)
        return {
            "coins": {u: self.coins(u) for u in user_ids},
            "diamonds": self.diamonds(live["creator_id"]),
            "last_seq": live["last_seq"],
            "gifts_count": live["gifts_count"],
            "coins_total": live["coins"]["amount"],
        }

    # --- the app ----------------------------------------------------------------------------
    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self.client.app.state.giftflow  # type: ignore[attr-defined]
        return ctx

    def in_one_batch(self, *calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
        """Make the requests while the writer is held: their commands are one batch."""
        return calls_in_one_batch(self.ctx.writer, calls)

    def assert_clean(self) -> None:
        assert reconcile(self.ctx.engine).differences == []


OpenLive = Callable[..., AbstractContextManager[LiveApi]]


def store_version(database_url: str, profile: str, **changes: Any) -> Policy:
    """Store version 2 of ``profile`` with ``changes``, in force before the tests' clock starts
    (e.g. ``caps=[SpendingCap(...)]``); an app opened on that profile then runs under it."""
    policy = load_profile(profile).model_copy(
        update={"version": 2, "effective_from": datetime(2025, 12, 31, tzinfo=UTC), **changes}
    )
    engine = make_engine(database_url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            store_policy(conn, policy, datetime(2025, 12, 31, tzinfo=UTC))
    finally:
        engine.dispose()
    return policy


@pytest.fixture
def open_live(database_url: str) -> OpenLive:
    """``with open_live("seed-002") as api:`` — an app under that policy profile
    (``url=`` another database: a second app in the same test)."""
    keys = {database_url: make_keys(database_url, FrozenClock())}

    @contextmanager
    def opened(
        profile: str = "seed-002", *, url: str | None = None, **settings: Any
    ) -> Iterator[LiveApi]:
        url = url or database_url
        if url not in keys:
            keys[url] = make_keys(url, FrozenClock())
        admin, platform = keys[url]
        clock = FrozenClock()
        cfg = Settings(
            database_url=url,
            jwt_secret=SECRET,
            pending_sweep_seconds=0,
            policy_profile=profile,
            **settings,
        )
        with TestClient(create_app(cfg, clock)) as client:
            yield LiveApi(client, clock, admin, platform)

    return opened
