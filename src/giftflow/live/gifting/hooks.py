"""Gift hooks: how LIVE engagement (goals, leaderboards, battles, analytics) follows every gift
inside the same batch, without the gift command knowing any of them.

``SendGift`` calls each registered hook twice:

- ``announce(ctx, intent)`` from ``account_hints``, before any lock: note what the hook will
  read (live ids, creator ids) so that its first read in the batch fetches every announced
  gift's rows in one statement; it may yield account refs to lock (none of the shipped hooks
  moves value). The gift's live is announced with its room already (``rooms.announced``), which
  is all the shipped hooks read by: their ``announce`` does nothing;
- ``observe(ctx, fact)`` from ``apply``, after the gift's money moved and its room event was
  appended: stage the hook's own rows (a batch extension, one set-based write per batch) and
  append its own room events (``realtime.outbox.append``; they follow the gift's event). A
  hook never refuses a gift: refusals belong to the gift command.

Everything a hook reads under the batch's locks and everything it changes goes through the
book's memo (``ctx.book.memo`` / ``ctx.book.remember``), so a refused gift later in the batch
rolls the hook's changes back with its own, and gifts of one batch see each other.

Hooks register once per process (``register``, idempotent by name); ``giftflow.live.engagement``
registers the shipped ones when the app is built.

A hook's batch extension that sends the batch's gifts to PostgreSQL as columns (one element per
gift) packs each column into one comma-separated string (``packed_ints``, ``packed_ids``) and
unpacks it with ``string_to_array`` in SQL: a list parameter costs psycopg ~0.3 µs of Python per
element to dump, a joined string a few nanoseconds, and every id a gift names (user ids, gift
ids) is of characters without a comma.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from giftflow.ledger.commands import BatchContext
from giftflow.ledger.model import AccountRef
from giftflow.money.policy import Policy


@dataclass(frozen=True, slots=True)
class GiftIntent:
    """What a gift is about, before any lock (for ``announce``)."""

    live_id: int
    host_id: str  # the live's creator
    recipient_id: str  # the host, or the co-host the viewer chose
    viewer_id: str
    gift_id: str
    count: int


@dataclass(frozen=True, slots=True)
class GiftFact:
    """A gift as committed in this batch (for ``observe``)."""

    live_id: int
    host_id: str
    recipient_id: str  # whose diamonds, whose leaderboards
    viewer_id: str
    gift_id: str
    count: int
    coins: int  # price × count
    diamonds: int  # hundredths credited to the recipient
    seq: int  # the gift event's sequence number in the live's room
    txn_id: int
    at: datetime  # the batch's time: the gift's commit time
    today: date  # the policy's local day at ``at``
    policy: Policy


class GiftHook(Protocol):
    name: str

    def announce(self, ctx: BatchContext, intent: GiftIntent) -> Iterable[AccountRef]: ...

    def observe(self, ctx: BatchContext, fact: GiftFact) -> None: ...


def packed_ints(values: Iterable[int]) -> str:
    """Integers as ``1,2,3`` (SQL: ``CAST(string_to_array(:p, ',') AS bigint[])``)."""
    return ",".join(map(str, values))


def packed_ids(values: list[str]) -> str:
    """Ids as ``a,b,c`` (SQL: ``string_to_array(:p, ',')``). An id with a comma cannot be sent
    this way: ``ValueError`` (user and gift ids are validated without one)."""
    joined = ",".join(values)
    if joined.count(",") != len(values) - 1 or "" in values:
        raise ValueError("an id with a comma (or an empty id) cannot be packed")
    return joined


_HOOKS: dict[str, GiftHook] = {}
_ORDERED: tuple[GiftHook, ...] = ()  # what every gift iterates: built on change, not per gift


def register(hook: GiftHook) -> None:
    """Add ``hook`` (a second registration under the same name replaces the first)."""
    global _ORDERED
    _HOOKS[hook.name] = hook
    _ORDERED = tuple(_HOOKS.values())


def hooks() -> tuple[GiftHook, ...]:
    """The registered hooks, in registration order."""
    return _ORDERED


def clear() -> None:
    """Forget every hook (benchmarks measure gifts with and without engagement)."""
    global _ORDERED
    _HOOKS.clear()
    _ORDERED = ()
