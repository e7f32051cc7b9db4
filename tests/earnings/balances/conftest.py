"""Helpers for creator earnings: the earnings view, the release job, clawbacks, exchanges and
statements, on top of the LIVE test app (creators, viewers with coins, lives, gifts)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import httpx
from sqlalchemy import select

from giftflow.db import unit_of_work
from giftflow.earnings.balances.service import release_due_holds
from giftflow.schema import diamond_holds, transactions, withdrawals
from tests.live.conftest import LiveApi, OpenLive, err, open_live, store_version

__all__ = [
    "LiveApi",
    "OpenLive",
    "buckets",
    "clawback",
    "earnings",
    "err",
    "exchange",
    "grant_diamonds",
    "kinds",
    "open_live",
    "release",
    "statement",
    "store_version",
    "withdrawal",
]


def earnings(api: LiveApi, user_id: str) -> dict[str, Any]:
    r = api.client.get("/v1/creator/earnings", headers=api.user(user_id))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def release(api: LiveApi) -> int:
    """Run the release job of this app now (as the maintenance loop does)."""
    emptied: int = api.client.portal.call(release_due_holds, api.ctx)  # type: ignore[union-attr]
    return emptied


def clawback(
    api: LiveApi, creator_id: str, diamonds: int, idem: str, reason: str = "dispute"
) -> httpx.Response:
    r: httpx.Response = api.client.post(
        f"/v1/admin/creators/{creator_id}/clawbacks",
        json={"diamonds": diamonds, "reason": reason},
        headers=api.admin(idem),
    )
    return r


def exchange(api: LiveApi, user_id: str, diamonds: int, idem: str) -> httpx.Response:
    r: httpx.Response = api.client.post(
        "/v1/exchanges",
        json={"diamonds": diamonds},
        headers=api.user(user_id) | {"Idempotency-Key": idem},
    )
    return r


def statement(api: LiveApi, user_id: str, period: str, accept: str | None = None) -> httpx.Response:
    headers = api.user(user_id) | ({"Accept": accept} if accept else {})
    r: httpx.Response = api.client.get(
        "/v1/creator/statements", params={"period": period}, headers=headers
    )
    return r


def grant_diamonds(api: LiveApi, creator_id: str, hundredths: int, idem: str) -> None:
    """Available diamonds by an operator's grant (no gift, no hold)."""
    api.grant(f"creator:{creator_id}:diamonds", hundredths, idem, asset="DIAMOND")


def buckets(api: LiveApi, creator_id: str) -> dict[date, int]:
    """The creator's stored hold buckets (empty ones included, to see that none is left)."""
    with api.ctx.engine.connect() as conn:
        rows = conn.execute(
            select(diamond_holds.c.release_on, diamond_holds.c.hundredths).where(
                diamond_holds.c.creator_id == creator_id
            )
        ).all()
    return {d: int(h) for d, h in rows}


def kinds(api: LiveApi, kind: str) -> int:
    """How many transactions of ``kind`` the ledger holds."""
    with api.ctx.engine.connect() as conn:
        return len(conn.execute(select(transactions.c.id).where(transactions.c.kind == kind)).all())


def withdrawal(
    api: LiveApi, n: int, user_id: str, day: date, gross: int, state: str = "paid"
) -> None:
    """A stored withdrawal row (the withdrawal feature writes these; the view only reads them)."""
    now = api.clock.now()
    row = {
        "id": n,
        "user_id": user_id,
        "method_id": 1,
        "provider": "sandbox",
        "state": state,
        "diamonds": gross * 200,
        "gross_minor": gross,
        "fee_minor": 0,
        "net_minor": gross,
        "currency": "USD",
        "policy_version": "standard@2",
        "local_day": day,
        "created_at": now,
        "updated_at": now,
    }
    with unit_of_work(api.ctx.engine) as conn:
        conn.execute(withdrawals.insert().values(**row))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
