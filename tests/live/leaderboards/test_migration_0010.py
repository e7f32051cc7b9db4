"""Migration 0010 with data: down to 0009 and up again, every board, analytics figure, snapshot
mark and battle score snapshot reads as before — the upgrade rebuilds the gift rows of
analytics from the ledger and moves the marks; the downgrade puts the old shapes back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from alembic import command
from sqlalchemy import select

from giftflow.db import alembic_config, migration_status
from giftflow.live.engagement import run_ticks
from giftflow.live.leaderboards.repository import rolled_through
from giftflow.schema import battles, lives, supporter_scores
from tests.live.conftest import LiveApi, OpenLive

PERIODS = ("day", "week", "month", "all")


def get(api: LiveApi, url: str, **params: Any) -> Any:
    r = api.client.get(url, params=params, headers=api.platform())
    assert r.status_code == 200, r.text
    body = r.json()
    body.pop("generated_at", None)
    return body


def readings(api: LiveApi, live: str, battle: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "live_board": get(api, f"/v1/lives/{live}/leaderboard", limit=100),
        "live_analytics": get(api, f"/v1/lives/{live}/analytics"),
        "battle": get(api, f"/v1/battles/{battle}"),
    }
    for c in ("c1", "c2"):
        for bucket in ("minute", "hour", "day"):
            out[f"{c}-{bucket}"] = get(api, f"/v1/creators/{c}/analytics", bucket=bucket)
        for period in PERIODS:
            out[f"{c}-{period}"] = get(api, f"/v1/creators/{c}/leaderboard", period=period)
    for period in PERIODS:
        out[f"creators-{period}"] = get(api, "/v1/leaderboards/creators", period=period)
    with api.ctx.engine.connect() as conn:
        out["marks"] = conn.execute(
            select(lives.c.id, lives.c.leaderboard_at, lives.c.leaderboard_seq).order_by(lives.c.id)
        ).all()
        out["scores"] = conn.execute(
            select(battles.c.id, battles.c.state, battles.c.last_score, battles.c.result)
        ).all()
    return out


def test_down_to_0009_and_up_again_reads_the_same(open_live: OpenLive, database_url: str) -> None:
    with open_live("seed-002") as api:
        for c in ("c1", "c2"):
            api.creator(c)
        for v in ("v1", "v2", "v3"):
            api.viewer(v, coins=100_000)
        live, other = api.start("c1"), api.start("c2")
        r = api.client.post(
            f"/v1/lives/{live}/cohosts",
            json={"user_id": "c2"},
            headers=api.user("c1") | {"Idempotency-Key": "cohost"},
        )
        assert r.status_code == 201, r.text
        r = api.client.post(
            "/v1/battles",
            json={"live_id": live, "opponents": [other]},
            headers=api.user("c1") | {"Idempotency-Key": "battle"},
        )
        assert r.status_code == 201, r.text
        battle = r.json()["id"]
        r = api.client.post(
            f"/v1/battles/{battle}/accept",
            headers=api.user("c2") | {"Idempotency-Key": "accept"},
        )
        assert r.status_code == 200, r.text
        n = 0
        for step in range(12):
            for v, gift in (("v1", "rose"), ("v2", "panda"), ("v3", "rose")):
                n += 1
                assert api.gift(v, live, gift, 1 + step % 3, idem=f"g{n}").status_code == 201
            n += 1
            r = api.client.post(
                f"/v1/lives/{live}/gifts",
                json={"gift_id": "panda", "count": 1, "recipient": "c2"},
                headers=api.user("v3") | {"Idempotency-Key": f"g{n}"},
            )
            assert r.status_code == 201, r.text
            n += 1
            assert api.gift("v1", other, "rose", 2, idem=f"g{n}").status_code == 201
            api.clock.advance(timedelta(seconds=20 if step < 9 else 86400))
            api.client.portal.call(run_ticks, api.ctx)  # type: ignore[union-attr]
        before = readings(api, live, battle)
        assert any(m.leaderboard_seq for m in before["marks"])  # a snapshot was taken
        with api.ctx.engine.connect() as conn:  # the first days are rolled up
            assert rolled_through(conn) > api.clock.now().date() - timedelta(days=3)
            rolled = conn.execute(
                select(supporter_scores).where(supporter_scores.c.period == "all")
            )
            assert rolled.first() is not None
        api.ctx.engine.dispose()
        command.downgrade(alembic_config(database_url), "0009")
        assert migration_status(database_url)[0] == "0009"
        command.upgrade(alembic_config(database_url), "head")
        api.ctx.engine.dispose()
        after = readings(api, live, battle)
    assert after == before
