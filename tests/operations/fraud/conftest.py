"""Helpers for the fraud signals: an economy under chosen detector thresholds, the scan, the
flags, and a snapshot of everything a detector must never change (balances, freezes,
withdrawals, transactions)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from giftflow.money.policy import (
    FraudRules,
    MethodChangeRules,
    NewAccountBurstRules,
    RefundAfterGiftingRules,
    RingRules,
    SharedFingerprintRules,
)
from giftflow.schema import accounts, job_state, transactions, users, wallet_state, withdrawals
from tests.earnings.withdrawals.conftest import OpenW, open_w
from tests.live.conftest import LiveApi, OpenLive, err, open_live, store_version

__all__ = [
    "Flags",
    "FraudApi",
    "OpenFraud",
    "OpenW",
    "err",
    "open_fraud",
    "open_live",
    "open_w",
    "rules",
]

OFF: dict[str, Any] = {"enabled": False}


def rules(
    *,
    rings: dict[str, Any] | None = None,
    bursts: dict[str, Any] | None = None,
    refunds: dict[str, Any] | None = None,
    fingerprints: dict[str, Any] | None = None,
    methods: dict[str, Any] | None = None,
) -> FraudRules:
    """Fraud thresholds with only the detectors given switched on (each with those settings
    over the defaults), so a scenario raises only the signal under test."""
    return FraudRules(
        rings=RingRules(**(OFF if rings is None else rings)),
        new_account_bursts=NewAccountBurstRules(**(OFF if bursts is None else bursts)),
        refund_after_gifting=RefundAfterGiftingRules(**(OFF if refunds is None else refunds)),
        shared_fingerprint=SharedFingerprintRules(
            **(OFF if fingerprints is None else fingerprints)
        ),
        withdrawal_after_method_change=MethodChangeRules(**(OFF if methods is None else methods)),
    )


class Flags:
    """What the flags API and the scan answer, for an app (``LiveApi`` or ``WApi``)."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def scan(self) -> int:
        r = self.api.client.post("/v1/admin/flags/scan", headers=self.api.admin())
        assert r.status_code == 200, r.text
        created: int = r.json()["created"]
        return created

    def list(self, **params: Any) -> list[dict[str, Any]]:
        r = self.api.client.get("/v1/admin/flags", params=params, headers=self.api.admin())
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["object"] == "list"
        data: list[dict[str, Any]] = body["data"]
        return data

    def forget_checkpoint(self) -> None:
        """As if no scan had ever run: the next one looks back from scratch."""
        with self.api.ctx.engine.begin() as conn:
            conn.execute(delete(job_state).where(job_state.c.name == "fraud_scan"))

    def untouched(self) -> dict[str, Any]:
        """Everything a scan must leave as it is: every balance row, every freeze, every
        withdrawal's state and the number of ledger transactions."""
        with self.api.ctx.engine.connect() as conn:
            return {
                "balances": sorted(
                    conn.execute(
                        select(
                            accounts.c.path, accounts.c.asset, accounts.c.shard, accounts.c.balance
                        )
                    ).all()
                ),
                "frozen": sorted(conn.execute(select(users.c.id, users.c.frozen)).all()),
                "wallets": sorted(
                    conn.execute(select(wallet_state.c.user_id, wallet_state.c.frozen_reason)).all()
                ),
                "withdrawals": sorted(
                    conn.execute(select(withdrawals.c.id, withdrawals.c.state)).all()
                ),
                "transactions": conn.execute(
                    select(func.count()).select_from(transactions)
                ).scalar(),
            }

    def scan_moving_nothing(self) -> int:
        """Scan, and prove the scan moved no value, froze no one and touched no withdrawal."""
        before = self.untouched()
        created = self.scan()
        assert self.untouched() == before
        return created


class FraudApi(LiveApi):
    """The LIVE test app plus the flags."""

    @property
    def flags(self) -> Flags:
        return Flags(self)


OpenFraud = Callable[..., AbstractContextManager[FraudApi]]


@pytest.fixture
def open_fraud(database_url: str, open_live: OpenLive) -> OpenFraud:
    """``with open_fraud(rules(rings={...})) as api:`` — the LIVE app (``seed-002``: no follower
    minimum, no earnings hold) under a policy version with these fraud thresholds."""

    @contextmanager
    def opened(fraud: FraudRules | None = None, profile: str = "seed-002") -> Iterator[FraudApi]:
        if fraud is not None:
            store_version(database_url, profile, fraud=fraud)
        with open_live(profile) as api:
            yield FraudApi(api.client, api.clock, api.admin_key, api.platform_key)

    return opened
