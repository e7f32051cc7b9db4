"""Exactly once with several processes on PostgreSQL: two writers releasing the same buckets at
the same moment release each bucket once (the second waits on the hold accounts' row locks, then
re-reads the buckets and finds them empty)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pytest

from giftflow.clock import FrozenClock
from giftflow.db import make_engine, unit_of_work
from giftflow.earnings.balances.commands import ReleaseHolds
from giftflow.ledger.commands import BatchContext, TransferCommand
from giftflow.ledger.model import Posting
from giftflow.ledger.reconcile_repository import reconcile
from giftflow.ledger.writer import LedgerWriter
from giftflow.schema import diamond_holds
from tests.conftest import make_users
from tests.earnings.balances.conftest import (
    LiveApi,
    OpenLive,
    buckets,
    kinds,
    open_live,
    release,
)

__all__ = ["open_live"]
TODAY = date(2026, 1, 8)


class SlowRelease(ReleaseHolds):
    """Releases, then keeps its batch (and its row locks) open for a while."""

    def __init__(self, *args: Any, entered: threading.Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.entered = entered

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        body = super().apply(ctx)
        self.entered.set()
        time.sleep(0.5)
        return body


@pytest.fixture
def two_writers(postgres_url: str) -> Iterator[tuple[LedgerWriter, LedgerWriter]]:
    clock = FrozenClock()
    writers = [
        LedgerWriter(make_engine(postgres_url, writer=True), clock, shard=shard) for shard in (1, 2)
    ]
    for w in writers:
        w.start()
    try:
        yield writers[0], writers[1]
    finally:
        for w in writers:
            w.stop()
            w.engine.dispose()


def held(creator: str, hundredths: int) -> Posting:
    return Posting(
        "platform:equity:grants", f"creator:{creator}:diamonds:pending", "DIAMOND", hundredths
    )


def test_two_writers_release_each_bucket_once(
    postgres_url: str, two_writers: tuple[LedgerWriter, LedgerWriter]
) -> None:
    first, second = two_writers
    engine = make_engine(postgres_url, pool_size=1)
    try:
        make_users(engine, "c1", "c2")
        grant = TransferCommand([held("c1", 800), held("c2", 200)], policy_version="standard@1")
        assert first.execute(grant).ok
        with unit_of_work(engine) as conn:
            conn.execute(
                diamond_holds.insert(),
                [
                    {"creator_id": "c1", "release_on": date(2026, 1, 7), "hundredths": 500},
                    {"creator_id": "c1", "release_on": TODAY, "hundredths": 100},
                    {"creator_id": "c1", "release_on": date(2026, 1, 9), "hundredths": 200},
                    {"creator_id": "c2", "release_on": TODAY, "hundredths": 200},
                ],
            )
        entered = threading.Event()
        slow = SlowRelease(TODAY, ["c1", "c2"], policy_version="standard@1", entered=entered)
        slow_result = first.submit_future(slow)
        assert entered.wait(10)
        # the second writer read the same candidates; its batch waits for the first's locks
        late = second.execute(ReleaseHolds(TODAY, ["c1", "c2"], policy_version="standard@1"))
        done = slow_result.result(10)
        assert done.ok and late.ok
        assert done.body["buckets"] == 3
        assert [
            (r["creator_id"], r["diamonds"]["amount"], r["buckets"]) for r in done.body["released"]
        ] == [("c1", 600, ["2026-01-07", "2026-01-08"]), ("c2", 200, ["2026-01-08"])]
        assert late.body == {
            "object": "hold_release",
            "through": "2026-01-08",
            "buckets": 0,
            "released": [],
        }
        with engine.connect() as conn:
            left = conn.execute(diamond_holds.select().order_by(diamond_holds.c.creator_id)).all()
        assert [(r.creator_id, r.release_on, r.hundredths) for r in left] == [
            ("c1", date(2026, 1, 9), 200)
        ]
        assert reconcile(engine).differences == []
    finally:
        engine.dispose()


def test_two_apps_run_the_job_at_once(open_live: OpenLive, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("one server process per SQLite file")
    with open_live("standard") as one, open_live("standard", url=database_url) as two:
        one.viewer("v1", coins=1000)
        creators = [f"c{n}" for n in range(12)]
        for n, creator in enumerate(creators):
            one.creator(creator)
            live = one.start(creator)
            assert one.gift("v1", live, "rose", n + 1, idem=f"g{n}").status_code == 201
        for api in (one, two):
            api.clock.advance(timedelta(days=7))

        def run(api: LiveApi) -> int:
            return release(api)

        with ThreadPoolExecutor(4) as pool:
            emptied = list(pool.map(run, [one, two, one, two]))
        assert sum(emptied) == len(creators)
        assert kinds(one, "hold_release") == len(creators)
        for n, creator in enumerate(creators):
            assert one.diamonds(creator) == ((n + 1) * 50, 0)
            assert buckets(one, creator) == {}
        one.assert_clean()
