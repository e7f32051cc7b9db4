"""An in-process app on a fresh database, with an admin key, a platform key and user tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from giftflow.api import create_app
from giftflow.auth.apikeys import create_api_key
from giftflow.auth.tokens import mint_user_token
from giftflow.clock import FrozenClock
from giftflow.db import make_engine, unit_of_work
from giftflow.settings import Settings

SECRET = "test-secret-0123456789abcdef0123456789"


@dataclass
class Api:
    client: TestClient
    clock: FrozenClock
    admin_key: str
    platform_key: str

    def headers(self, credential: str, idem: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {credential}"}
        if idem:
            h["Idempotency-Key"] = idem
        return h

    def admin(self, idem: str | None = None) -> dict[str, str]:
        return self.headers(self.admin_key, idem)

    def platform(self) -> dict[str, str]:
        return self.headers(self.platform_key)

    def user(self, user_id: str, ttl: int = 900) -> dict[str, str]:
        return self.headers(mint_user_token(user_id, SECRET, self.clock.now(), ttl))

    def create_users(self, *user_ids: str) -> None:
        """The platform creates its users before any value moves for them."""
        for user_id in user_ids:
            r = self.client.put(f"/v1/users/{user_id}", json={}, headers=self.platform())
            assert r.status_code in (200, 201), r.text

    def grant(self, account: str, amount: int, idem: str, asset: str = "COIN") -> dict[str, object]:
        kind, _, rest = account.partition(":")
        if kind in ("user", "creator"):
            self.create_users(rest.split(":")[0])
        r = self.client.post(
            "/v1/admin/transfers",
            json={
                "postings": [
                    {
                        "source": "platform:equity:grants",
                        "destination": account,
                        "asset": asset,
                        "amount": amount,
                    }
                ]
            },
            headers=self.admin(idem),
        )
        assert r.status_code == 201, r.text
        body: dict[str, object] = r.json()
        return body


def make_keys(url: str, clock: FrozenClock) -> tuple[str, str]:
    engine = make_engine(url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            admin, _ = create_api_key(conn, "ops", {"admin"}, clock.now())
            platform, _ = create_api_key(conn, "app", {"platform"}, clock.now())
    finally:
        engine.dispose()
    return admin, platform


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    clock = FrozenClock()
    admin, platform = make_keys(database_url, clock)
    settings = Settings(
        database_url=database_url,
        jwt_secret=SECRET,
        pending_sweep_seconds=0,
        secrets_key="test-secrets-key-0123456789abcdef",
    )
    with TestClient(create_app(settings, clock)) as client:
        yield Api(client, clock, admin, platform)
