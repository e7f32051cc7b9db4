"""Helpers for withdrawals: a creator ready to withdraw (verified identity, a confirmed
authenticator, a payout method past its cooling-off period, diamonds), requests with a fresh
second-factor code, the admin queue, the payout job, and the ledger around a withdrawal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pyotp
import pytest

from giftflow.earnings.withdrawals.service import dispatch, run_payouts
from giftflow.payouts.sandbox import SandboxPayouts
from tests.earnings.identity.conftest import KEY_A
from tests.live.conftest import LiveApi, err, open_live

__all__ = ["Creator", "WApi", "err", "open_live", "open_w"]

EQUITY = "platform:equity:payouts"
IN_FLIGHT = "payouts:in_flight"
FEES = "platform:fees:cashout"


@dataclass
class Creator:
    user_id: str
    secret: str
    method_id: str
    recovery_codes: list[str]


@dataclass
class WApi:
    """The LIVE test app plus what withdrawals need."""

    api: LiveApi

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    # --- identity and methods ----------------------------------------------------------------
    def code(self, secret: str) -> str:
        """A fresh code: let a step pass first (a code is accepted once)."""
        self.api.clock.advance(timedelta(seconds=30))
        return pyotp.TOTP(secret).at(self.api.clock.now())

    def post(
        self, path: str, user_id: str, body: Any = None, idem: str | None = None
    ) -> httpx.Response:
        headers = self.api.user(user_id) | ({"Idempotency-Key": idem} if idem else {})
        r: httpx.Response = self.api.client.post(path, json=body, headers=headers)
        return r

    def enrol(self, user_id: str) -> tuple[str, list[str]]:
        r = self.post("/v1/creator/totp", user_id)
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        r = self.post("/v1/creator/totp/confirm", user_id, {"code": self.code(secret)})
        assert r.status_code == 200, r.text
        return secret, r.json()["recovery_codes"]

    def add_method(self, user_id: str, secret: str, method: dict[str, Any]) -> str:
        r = self.post("/v1/payout-methods", user_id, method | {"totp": self.code(secret)})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def ready(
        self,
        user_id: str,
        diamonds: int = 0,
        *,
        email: str = "creator@example.com",
        kyc: str = "verified",
        cool: bool = True,
    ) -> Creator:
        """A creator as the platform verified them, with an authenticator and a PayPal method
        (``cool``: past its 48-hour cooling-off), granted ``diamonds`` (hundredths)."""
        self.api.creator(user_id, kyc_status=kyc)
        secret, codes = self.enrol(user_id)
        method = self.add_method(user_id, secret, {"kind": "paypal", "email": email})
        if cool:
            self.api.clock.advance(timedelta(hours=48))
        if diamonds:
            self.grant(user_id, diamonds)
        return Creator(user_id, secret, method, codes)

    def grant(self, user_id: str, hundredths: int) -> None:
        self.api.grant(
            f"creator:{user_id}:diamonds",
            hundredths,
            f"grant-{user_id}-{hundredths}-{self.n()}",
            asset="DIAMOND",
        )

    _count: int = 0

    def n(self) -> int:
        self._count += 1
        return self._count

    # --- withdrawals -------------------------------------------------------------------------
    def withdraw(
        self,
        c: Creator,
        idem: str,
        *,
        totp: str | None = None,
        method_id: str | None = None,
        **amount: int,
    ) -> httpx.Response:
        body = {
            **amount,
            "method_id": method_id or c.method_id,
            "totp": totp if totp is not None else self.code(c.secret),
        }
        return self.post("/v1/withdrawals", c.user_id, body, idem)

    def get(self, user_id: str, withdrawal_id: str) -> httpx.Response:
        r: httpx.Response = self.api.client.get(
            f"/v1/withdrawals/{withdrawal_id}", headers=self.api.user(user_id)
        )
        return r

    def state(self, withdrawal_id: str) -> str:
        r = self.api.client.get(f"/v1/admin/withdrawals/{withdrawal_id}", headers=self.api.admin())
        assert r.status_code == 200, r.text
        state: str = r.json()["state"]
        return state

    def admin_post(
        self, withdrawal_id: str, action: str, body: Any = None, idem: str | None = None
    ) -> httpx.Response:
        r: httpx.Response = self.api.client.post(
            f"/v1/admin/withdrawals/{withdrawal_id}/{action}",
            json=body,
            headers=self.api.admin(idem or f"{action}-{withdrawal_id}-{self.n()}"),
        )
        return r

    def approve(self, withdrawal_id: str) -> httpx.Response:
        return self.admin_post(withdrawal_id, "approve")

    def run_payouts(self) -> Any:
        return self.api.client.portal.call(run_payouts, self.api.ctx)  # type: ignore[union-attr]

    def dispatch(self, withdrawal_id: str) -> str:
        done: str = self.api.client.portal.call(  # type: ignore[union-attr]
            dispatch, self.api.ctx, int(withdrawal_id)
        )
        return done

    def later(self, **delta: float) -> None:
        """Move the clock and run the payout job, as the maintenance loop would."""
        self.api.clock.advance(timedelta(**delta))
        self.run_payouts()

    @property
    def sandbox(self) -> SandboxPayouts:
        provider = self.api.ctx.payouts["sandbox"]
        assert isinstance(provider, SandboxPayouts)
        return provider

    # --- the ledger ----------------------------------------------------------------------------
    def money(self, user_id: str, currency: str = "USD") -> dict[str, int]:
        """Where a withdrawal's value sits: the creator's diamonds, the reservation, the money
        in flight, the cash paid out, the fees and the payouts equity."""
        b = self.api.balance
        return {
            "available": b(f"creator:{user_id}:diamonds", "DIAMOND"),
            "reserved": b("platform:holding:pending", "DIAMOND"),
            "in_flight": b(IN_FLIGHT, currency),
            "paid_out": b("platform:cash:sandbox", currency),
            "fees": b(FEES, currency),
            "equity": b(EQUITY, currency),
        }


OpenW = Callable[..., AbstractContextManager[WApi]]


@pytest.fixture
def open_w(open_live: Callable[..., AbstractContextManager[LiveApi]]) -> OpenW:
    """``with open_w("seed-002") as w:`` — the LIVE app under that profile, with a secrets key
    and the sandbox payouts (settling 10 s after submission)."""

    @contextmanager
    def opened(profile: str = "standard", **settings: Any) -> Iterator[WApi]:
        with open_live(profile, secrets_key=KEY_A, **settings) as api:
            yield WApi(api)

    return opened
