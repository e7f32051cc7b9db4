"""The earnings hold inside the writer: releasing due buckets, and clawing back held diamonds.

A gift under a hold policy credits ``creator:{c}:diamonds:pending`` and adds its diamonds to the
``diamond_holds`` bucket of its release date (``live.gifting``). The hold account's balance is
what is held; the buckets say when it becomes available.

- ``ReleaseHolds(today, creators)`` (the scheduled job): for each creator, the buckets due on or
  before ``today`` (the policy's time zone), re-read under the batch's lock, are emptied and
  their total — bounded by the hold account's balance — moves
  ``creator:{c}:diamonds:pending → creator:{c}:diamonds`` (kind ``hold_release``). It only ever
  releases what is still in a bucket, so running it twice, after a crash, or from two processes
  at once releases each bucket exactly once: every writer of a creator's buckets holds the lock
  on that creator's hold account row, and the buckets are read after it is taken.
- ``ClawBack(creator, hundredths, reason)`` (an admin): ``creator:{c}:diamonds:pending →
  platform:diamonds:issued`` (kind ``clawback``), refused with ``insufficient_funds`` beyond the
  hold account's balance; the buckets are reduced newest release date first (the diamonds least
  likely to have been checked), in the same commit.

Buckets read in a batch stay in the book's memo, and each command's changes to them are
remembered (undone if the command fails), so a release and a clawback of one creator in the
same batch see each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from giftflow.clock import rfc3339
from giftflow.earnings.balances.repository import HOLD_WRITES, EarningsBatchRepository
from giftflow.earnings.balances.schemas import BucketTakenOut, ClawbackOut
from giftflow.http.schemas import AmountOut
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.model import AccountRef, Posting
from giftflow.money.amounts import amount_view

DIAMOND = "DIAMOND"
ISSUED = "platform:diamonds:issued"
RELEASE_KIND = "hold_release"
CLAWBACK_KIND = "clawback"


def available_account(creator_id: str) -> str:
    return f"creator:{creator_id}:diamonds"


def held_account(creator_id: str) -> str:
    return f"creator:{creator_id}:diamonds:pending"


def _key(creator_id: str) -> tuple[str, str]:
    return ("earnings.buckets", creator_id)


def buckets(ctx: BatchContext, creator_ids: Iterable[str]) -> dict[str, dict[date, int]]:
    """The creators' buckets as this batch sees them (locked; the first read of each creator
    reads every creator asked for in one statement). Call only after the creators' hold
    accounts were announced, so their rows are already locked."""
    wanted = sorted(set(creator_ids))
    missing = [c for c in wanted if _key(c) not in ctx.book.memo]
    if missing:
        found = ctx.repository(EarningsBatchRepository).lock_buckets(missing)
        for creator, held in found.items():
            ctx.book.memo[_key(creator)] = held  # a read under the lock, kept on rollback
    return {c: dict(ctx.book.memo[_key(c)]) for c in wanted}


def take(ctx: BatchContext, creator_id: str, release_on: date, hundredths: int) -> None:
    """Take ``hundredths`` out of one bucket, in the memo and for ``HOLD_WRITES``."""
    if hundredths <= 0:
        return
    current = dict(ctx.book.memo[_key(creator_id)])
    left = current.get(release_on, 0) - hundredths
    if left < 0:
        raise AssertionError(f"bucket {creator_id}/{release_on} would go below zero")
    if left:
        current[release_on] = left
    else:
        current.pop(release_on, None)
    ctx.book.remember(_key(creator_id), current)
    ctx.book.stage(HOLD_WRITES, (creator_id, release_on, -hundredths))


class ReleaseHolds(Command):
    """Release every bucket of ``creators`` due on or before ``today``."""

    kind = "earnings.hold.release"
    success_status = 200

    def __init__(self, today: date, creators: Iterable[str], *, policy_version: str) -> None:
        self.today = today
        self.creators = sorted(set(creators))
        self.policy_version = policy_version

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        for creator in self.creators:
            yield ctx.book.key_for(held_account(creator), DIAMOND)
            yield ctx.book.key_for(available_account(creator), DIAMOND)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        released: list[dict[str, Any]] = []
        emptied = 0
        for creator, held in buckets(ctx, self.creators).items():
            due = sorted((d, h) for d, h in held.items() if d <= self.today and h > 0)
            if not due:
                continue  # another writer released them first, or nothing was due
            total = sum(h for _, h in due)
            source = held_account(creator)
            amount = min(total, max(ctx.book.balance(source, DIAMOND), 0))
            txn_id = None
            if amount:
                txn = ctx.book.post(
                    RELEASE_KIND,
                    [Posting(source, available_account(creator), DIAMOND, amount)],
                    policy_version=self.policy_version,
                    meta={"creator": creator, "through": self.today.isoformat()},
                )
                txn_id = str(txn.id)
            for release_on, hundredths in due:
                take(ctx, creator, release_on, hundredths)
            emptied += len(due)
            released.append(
                {
                    "creator_id": creator,
                    "buckets": [d.isoformat() for d, _ in due],
                    "diamonds": amount_view(DIAMOND, amount),
                    "transaction_id": txn_id,
                }
            )
        return {
            "object": "hold_release",
            "through": self.today.isoformat(),
            "buckets": emptied,
            "released": released,
        }


class ClawBack(Command):
    """Take ``hundredths`` of held diamonds back from ``creator_id`` (newest buckets first)."""

    kind = "earnings.clawback"

    def __init__(
        self, creator_id: str, hundredths: int, reason: str, *, policy_version: str
    ) -> None:
        self.creator_id = creator_id
        self.hundredths = hundredths
        self.reason = reason
        self.policy_version = policy_version

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        yield ctx.book.debit_ref(held_account(self.creator_id), DIAMOND)
        yield ctx.book.key_for(ISSUED, DIAMOND)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        c = self.creator_id
        held = buckets(ctx, [c])[c]
        txn = ctx.book.post(  # insufficient_funds beyond what the hold account holds
            CLAWBACK_KIND,
            [Posting(held_account(c), ISSUED, DIAMOND, self.hundredths)],
            policy_version=self.policy_version,
            memo=self.reason,
            meta={"creator": c},
        )
        taken: list[BucketTakenOut] = []
        wanted = self.hundredths
        for release_on in sorted(held, reverse=True):
            if not wanted:
                break
            part = min(held[release_on], wanted)
            take(ctx, c, release_on, part)
            wanted -= part
            taken.append(
                BucketTakenOut(
                    release_on=release_on.isoformat(),
                    taken=_amount(part),
                    left=_amount(held[release_on] - part),
                )
            )
        return ClawbackOut(
            transaction_id=str(txn.id),
            creator_id=c,
            diamonds=_amount(self.hundredths),
            reason=self.reason,
            buckets=taken,
            held=_amount(ctx.book.balance(held_account(c), DIAMOND)),
            policy_version=self.policy_version,
            created_at=rfc3339(txn.created_at),
        ).model_dump(mode="json")


def _amount(hundredths: int) -> AmountOut:
    return AmountOut(**amount_view(DIAMOND, hundredths))
