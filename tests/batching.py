"""Make a batch on purpose: hold the ledger writer while commands queue, so that they are
applied in one batch (the way concurrent requests meet in production)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.idempotency import Outcome
from giftflow.ledger.writer import LedgerWriter

T = TypeVar("T")


class Hold(Command):
    """Keeps the writer busy until released, so that what is queued meanwhile is one batch."""

    kind = "test.hold"
    success_status = 200

    def __init__(self, entered: threading.Event, release: threading.Event) -> None:
        self.entered = entered
        self.release = release

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        self.entered.set()
        self.release.wait(30)
        return {}


def commands_in_one_batch(writer: LedgerWriter, commands: Sequence[Command]) -> list[Outcome]:
    """Apply ``commands`` in one batch, in this order."""
    entered, release = threading.Event(), threading.Event()
    held = writer.submit_future(Hold(entered, release))
    assert entered.wait(10)
    futures = [writer.submit_future(c) for c in commands]
    release.set()
    held.result(10)
    return [f.result(30) for f in futures]


def calls_in_one_batch(writer: LedgerWriter, calls: Sequence[Callable[[], T]]) -> list[T]:
    """Make the calls (requests) from threads while the writer is held, so the commands they
    submit are applied in one batch, in an unknown order; each call must submit one command."""
    entered, release = threading.Event(), threading.Event()
    held = writer.submit_future(Hold(entered, release))
    assert entered.wait(10)
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(c) for c in calls]
        deadline = time.monotonic() + 10
        while writer.queue_depth() < len(calls):
            assert time.monotonic() < deadline, "the requests never reached the writer"
            time.sleep(0.005)
        release.set()
        held.result(10)
        return [f.result(30) for f in futures]
