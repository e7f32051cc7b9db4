"""Committed transfers per second through the ledger writer, and a one-per-commit baseline.

Each transfer is gift-shaped: coins from a viewer to the (sharded) gift revenue account and
diamonds from issuance to a creator, two postings in one transaction. ``hot`` sends every
transfer to one creator; otherwise creators are spread over 1,000. Many asyncio submitters keep
the writer fed, as concurrent HTTP requests would.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from sqlalchemy import Engine, select

from giftflow.clock import SystemClock
from giftflow.db import make_engine, unit_of_work
from giftflow.ledger.commands import TransferCommand
from giftflow.ledger.model import Posting
from giftflow.ledger.writer import LedgerWriter
from giftflow.schema import users

VIEWERS = 2000
CREATORS = 1000


@dataclass(frozen=True)
class Result:
    label: str
    committed: int
    refused: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.committed / self.seconds if self.seconds else 0.0


POLICY = "standard@1"


def create_users(engine: Engine) -> None:
    """The platform creates its users (viewers v…, creators c…) before value moves for them."""
    now = SystemClock().now()
    ids = [f"v{i}" for i in range(VIEWERS)] + [f"c{i}" for i in range(CREATORS)]
    with unit_of_work(engine) as conn:
        existing = set(conn.execute(select(users.c.id)).scalars())
        rows = [{"id": i, "created_at": now, "updated_at": now} for i in ids if i not in existing]
        if rows:
            conn.execute(users.insert(), rows)


def fund_viewers(writer: LedgerWriter, coins: int) -> None:
    create_users(writer.engine)
    postings = [
        Posting("platform:equity:grants", f"user:v{i}:coins", "COIN", coins) for i in range(VIEWERS)
    ]
    for start in range(0, len(postings), 100):
        out = writer.execute(TransferCommand(postings[start : start + 100], policy_version=POLICY))
        assert out.status == 201, out.body


def gift(viewer: int, creator: int) -> TransferCommand:
    return TransferCommand(
        [
            Posting(f"user:v{viewer}:coins", "platform:revenue:gifts", "COIN", 5),
            Posting("platform:diamonds:issued", f"creator:c{creator}:diamonds", "DIAMOND", 250),
        ],
        txn_kind="gift",
        policy_version=POLICY,
    )


async def _drive(writer: LedgerWriter, seconds: float, submitters: int, hot: bool) -> Result:
    committed = refused = 0
    stop_at = time.perf_counter() + seconds

    async def submitter(n: int) -> None:
        nonlocal committed, refused
        rng = random.Random(n)
        while time.perf_counter() < stop_at:
            creator = 0 if hot else rng.randrange(CREATORS)
            outcome = await writer.submit(gift(rng.randrange(VIEWERS), creator))
            if outcome.status == 201:
                committed += 1
            else:
                refused += 1

    started = time.perf_counter()
    await asyncio.gather(*(submitter(n) for n in range(submitters)))
    return Result("", committed, refused, time.perf_counter() - started)


def measure(
    url: str, *, label: str, max_batch: int, submitters: int, hot: bool, seconds: float
) -> Result:
    """Run one timed load against a migrated database; returns committed transfers per second."""
    engine = make_engine(url, writer=True)
    writer = LedgerWriter(engine, SystemClock(), shard=0, max_batch=max_batch, queue_limit=100_000)
    writer.start()
    try:
        fund_viewers(writer, 10_000_000)
        # warm the account cache and plans outside the timed window
        asyncio.run(_drive(writer, min(1.0, seconds / 5), submitters, hot))
        result = asyncio.run(_drive(writer, seconds, submitters, hot))
    finally:
        writer.stop()
        engine.dispose()
    return Result(label, result.committed, result.refused, result.seconds)
