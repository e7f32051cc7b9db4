"""An in-process app under a chosen policy profile, with helpers to buy and spend coins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from giftflow.api import create_app
from giftflow.clock import FrozenClock
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.idempotency import Outcome
from giftflow.ledger.model import AccountRef
from giftflow.ledger.reconcile_repository import reconcile
from giftflow.settings import Settings
from giftflow.wallet.purchases.batch import SpendCaps, spend, spend_hints
from tests.api.conftest import SECRET, Api, make_keys

OpenApi = Callable[..., Any]


class Spend(Command):
    """What a gift or an item will do: spend coins through the wallet (bonus, then paid lots)."""

    kind = "test.spend"

    def __init__(self, user_id: str, coins: int) -> None:
        self.user_id = user_id
        self.coins = coins

    def account_hints(self, ctx: BatchContext) -> list[AccountRef]:
        return list(spend_hints(ctx, self.user_id, "platform:revenue:gifts"))

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        txn = spend(
            ctx,
            user_id=self.user_id,
            coins=self.coins,
            destination="platform:revenue:gifts",
            kind="gift",
            policy_version="test",
            caps=SpendCaps([], "UTC"),
        )
        return {"id": str(txn.id)}


class WalletApi(Api):
    def buyer(self, user_id: str, region: str = "US", birth_date: str = "2000-01-01") -> None:
        r = self.client.put(
            f"/v1/users/{user_id}",
            json={"region": region, "birth_date": birth_date},
            headers=self.platform(),
        )
        assert r.status_code in (200, 201), r.text

    def buy(self, user_id: str, idem: str, **body: Any) -> Any:
        payload = {"channel": "app", "card": {"number": "4242 4242 4242 4242"}, **body}
        return self.client.post(
            "/v1/purchases", json=payload, headers=self.user(user_id) | {"Idempotency-Key": idem}
        )

    def coins(self, user_id: str) -> dict[str, int]:
        wallet = self.client.get(f"/v1/users/{user_id}/wallet", headers=self.platform()).json()
        balances = wallet["balances"]
        return {b["account"]: b["amount"] for b in balances if b["asset"] == "COIN" and b["amount"]}

    def balance(self, path: str, asset: str) -> int:
        r = self.client.get("/v1/admin/balances", params={"path": path}, headers=self.admin())
        return sum(b["amount"] for b in r.json()["balances"] if b["asset"] == asset)

    def spend(self, user_id: str, coins: int) -> Outcome:
        writer = self.client.app.state.giftflow.writer  # type: ignore[attr-defined]
        outcome: Outcome = writer.execute(Spend(user_id, coins))
        return outcome

    def assert_clean(self) -> None:
        engine = self.client.app.state.giftflow.engine  # type: ignore[attr-defined]
        assert reconcile(engine).differences == []


@pytest.fixture
def open_api(database_url: str) -> Callable[..., Any]:
    """``with open_api("seed-002") as api:`` — an app under that policy profile."""
    admin, platform = make_keys(database_url, FrozenClock())

    @contextmanager
    def opened(profile: str = "standard", **settings: Any) -> Iterator[WalletApi]:
        clock = FrozenClock()
        cfg = Settings(
            database_url=database_url,
            jwt_secret=SECRET,
            pending_sweep_seconds=0,
            policy_profile=profile,
            **settings,
        )
        with TestClient(create_app(cfg, clock)) as client:
            yield WalletApi(client, clock, admin, platform)

    return opened
