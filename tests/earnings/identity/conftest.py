"""An in-process app with GIFTFLOW_SECRETS_KEY set, and helpers for the second factor: enrol,
confirm and produce codes from the frozen clock (``pyotp.TOTP(secret).at(clock.now())``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient

from giftflow.api import create_app
from giftflow.clock import FrozenClock
from giftflow.context import AppContext
from giftflow.db import unit_of_work
from giftflow.settings import Settings
from giftflow.users.repository import upsert_user
from tests.api.conftest import SECRET, Api, make_keys

KEY_A = "test-secrets-key-A-Zm9vYmFyYmF6cXV4MDEyMzQ1Njc4OQ"
KEY_B = "test-secrets-key-B-cXV1eHh5enp5MDEyMzQ1Njc4OWFiYw"


def err(r: httpx.Response) -> tuple[int, str]:
    """(status, error code) of a refusal."""
    return r.status_code, r.json()["error"]["code"]


@dataclass
class Factor:
    """A user's enrolled authenticator: its secret and (once confirmed) its recovery codes."""

    user_id: str
    secret: str
    recovery_codes: list[str] = field(default_factory=list)


@dataclass
class FactorApi(Api):
    ctx: AppContext

    def person(self, user_id: str, **facts: Any) -> None:
        """Create (or change) the user as the platform would (``PUT /v1/users/{id}`` writes
        the same row; ``test_identity`` goes through it)."""
        with unit_of_work(self.ctx.engine) as conn:
            upsert_user(conn, user_id, facts, self.clock.now())

    def code(self, secret: str, offset: int = 0) -> str:
        """The authenticator's code now (or ``offset`` steps away)."""
        return pyotp.TOTP(secret).at(self.clock.now(), counter_offset=offset)

    def next_code(self, secret: str) -> str:
        """Let a step pass (a code is accepted once), then the code of the new step."""
        self.clock.advance(timedelta(seconds=30))
        return self.code(secret)

    def wrong_code(self, secret: str) -> str:
        """A 6-digit code that is no code of the steps around now."""
        near = {self.code(secret, k) for k in range(-2, 3)}
        return next(c for c in (f"{n:06d}" for n in range(0, 1_000_000, 7919)) if c not in near)

    def post(self, path: str, user_id: str, body: Any = None) -> httpx.Response:
        r: httpx.Response = self.client.post(path, json=body, headers=self.user(user_id))
        return r

    def enrol(self, user_id: str, code: str | None = None) -> Factor:
        body = {"code": code} if code is not None else None
        r = self.post("/v1/creator/totp", user_id, body)
        assert r.status_code == 201, r.text
        return Factor(user_id, r.json()["secret"])

    def confirm(self, factor: Factor) -> Factor:
        r = self.post(
            "/v1/creator/totp/confirm", factor.user_id, {"code": self.code(factor.secret)}
        )
        assert r.status_code == 200, r.text
        factor.recovery_codes = r.json()["recovery_codes"]
        return factor

    def active_factor(self, user_id: str, **facts: Any) -> Factor:
        """A user created by the platform, with a confirmed authenticator."""
        self.person(user_id, **facts)
        return self.confirm(self.enrol(user_id))

    def verify(self, user_id: str, code: str) -> httpx.Response:
        return self.post("/v1/creator/totp/verify", user_id, {"code": code})

    def factor_state(self, user_id: str) -> dict[str, Any]:
        r = self.client.get("/v1/creator/totp", headers=self.user(user_id))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


@contextmanager
def running(
    database_url: str,
    secrets_key: str,
    clock: FrozenClock | None = None,
    keys: tuple[str, str] | None = None,
) -> Iterator[FactorApi]:
    """An app on ``database_url`` whose settings hold ``secrets_key`` (pass the ``keys`` of an
    earlier one to start a second app on the same database)."""
    clock = clock or FrozenClock()
    admin, platform = keys or make_keys(database_url, clock)
    settings = Settings(
        database_url=database_url,
        jwt_secret=SECRET,
        pending_sweep_seconds=0,
        secrets_key=secrets_key,
    )
    app = create_app(settings, clock)
    with TestClient(app) as client:
        ctx: AppContext = app.state.giftflow
        yield FactorApi(client, clock, admin, platform, ctx)


@pytest.fixture
def fapi(database_url: str) -> Iterator[FactorApi]:
    with running(database_url, KEY_A) as api:
        yield api
