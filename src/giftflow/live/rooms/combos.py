"""Combos (streaks): repeated sends of one streakable gift by one viewer in one live.

Each send within the policy's window of the previous one keeps the open streak's ``combo_id``
and adds to its ``combo_count`` (the gift events carry the running count). The streak's row
(``live_combos``) is read under its room's lock. When the window passes, ``CloseCombos`` (run
by the realtime loop a few times a second) writes the final ``combo`` event with
``combo_end: true`` and the total, so a client can count each streak exactly once; a live that
ends closes its open streaks before ``live_ended``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from giftflow.copying import copier
from giftflow.ledger import prefetch
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.model import AccountRef
from giftflow.ledger.prefetch import Read
from giftflow.live.catalog.model import GiftBatchRepository, GiftRow
from giftflow.live.rooms import batch as rooms
from giftflow.live.rooms.model import UserFacts
from giftflow.live.rooms.repository import LIVE_WRITES, ComboRow, LiveBatchRepository
from giftflow.realtime import outbox

__all__ = [
    "CloseCombos",
    "ComboRow",
    "announce_combo",
    "end_all_combos",
    "end_combo",
    "gift_view",
    "load_combo",
    "save_combo",
    "sender_view",
]


def sender_view(facts: UserFacts) -> dict[str, str]:
    return {"id": facts.id, "name": facts.name}


def gift_view(gift: GiftRow) -> dict[str, Any]:
    return {"id": gift.id, "name": gift.name, "tier": gift.tier, "image": gift.image}


_copy_combo = copier(ComboRow)


# --- combos ------------------------------------------------------------------------------------
_ANNOUNCED = ("live.combos",)


def announce_combo(ctx: BatchContext, key: tuple[int, str, str]) -> None:
    """From ``account_hints``: a streak this command may continue (read with all the batch's
    others in one query)."""
    keys: set[tuple[int, str, str]] = ctx.book.memo.setdefault(_ANNOUNCED, set())
    keys.add(key)


def _prefetch_combos(ctx: BatchContext) -> Iterable[Read]:
    """The announced streaks in the batch's first round trip (``ledger.prefetch``), as
    ``load_combo`` reads them."""
    memo = ctx.book.memo
    wanted = prefetch.unread(ctx, _ANNOUNCED, "live.combo")
    if not wanted:
        return ()

    def into(found: dict[tuple[int, str, str], ComboRow]) -> None:
        for k in wanted:
            memo[("live.combo", k)] = found.get(k)  # read under the rooms' locks

    return (LiveBatchRepository.combos_read(wanted, into),)


prefetch.register(30, "live.combos", _prefetch_combos)  # after the rooms (10) and wallets (20)


def load_combo(ctx: BatchContext, key: tuple[int, str, str]) -> ComboRow | None:
    memo_key = ("live.combo", key)
    if memo_key not in ctx.book.memo:
        announced: set[tuple[int, str, str]] = ctx.book.memo.get(_ANNOUNCED, set())
        wanted = {k for k in announced | {key} if ("live.combo", k) not in ctx.book.memo}
        found = rooms.repo(ctx).combos(wanted)
        for k in wanted:
            ctx.book.memo[("live.combo", k)] = found.get(k)  # read under the rooms' locks
    row: ComboRow | None = ctx.book.memo[memo_key]
    return _copy_combo(row) if row is not None else None


def save_combo(ctx: BatchContext, key: tuple[int, str, str], row: ComboRow | None) -> None:
    saved = _copy_combo(row) if row is not None else None  # the caller may change ``row`` again
    ctx.book.remember(("live.combo", key), saved)
    ctx.book.stage(LIVE_WRITES, ("combo", saved) if saved else ("combo_delete", key))


def end_combo(ctx: BatchContext, combo: ComboRow, gift: GiftRow | None) -> int:
    """The streak is over: its final ``combo`` event, and the open row goes."""
    sender = rooms.user(ctx, combo.user_id)
    seq = outbox.append(
        ctx,
        combo.live_id,
        "combo",
        {
            "sender": sender_view(sender) if sender else {"id": combo.user_id, "name": ""},
            "gift": gift_view(gift) if gift else {"id": combo.gift_id},
            "combo_id": str(combo.combo_id),
            "combo_count": combo.combo_count,
            "coins": combo.coins,
            "combo_end": True,
        },
    )
    save_combo(ctx, combo.key, None)
    return seq


class CloseCombos(Command):
    """End the streaks whose window passed (from the realtime loop, a few times a second).

    Candidates are read before locking; each is re-read under its room's lock and ended only if
    no send extended it meanwhile."""

    kind = "live.combo.close"
    success_status = 200

    def __init__(self, candidates: list[ComboRow], window: timedelta) -> None:
        self.candidates = candidates
        self.window = window

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        for c in self.candidates:
            rooms.announce(ctx, c.live_id, c.user_id)
        return ()

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        ended = 0
        gifts = ctx.repository(GiftBatchRepository)
        for candidate in self.candidates:
            rooms.live(ctx, candidate.live_id)  # locks the rooms
            combo = load_combo(ctx, candidate.key)
            if combo is None or ctx.now - combo.last_at <= self.window:
                continue
            end_combo(ctx, combo, gifts.gift(combo.gift_id))
            ended += 1
        return {"ended": ended}


def end_all_combos(ctx: BatchContext, live_id: int) -> None:
    """A live that ends closes its open streaks first (their final events precede
    ``live_ended``)."""
    gifts = ctx.repository(GiftBatchRepository)
    keys = {c.key for c in rooms.repo(ctx).combos_of(live_id)}
    # and the streaks this batch opened, not stored yet
    keys.update(
        k[1]
        for k, row in ctx.book.memo.items()
        if isinstance(k, tuple) and k[0] == "live.combo" and row is not None and k[1][0] == live_id
    )
    open_ = [c for c in (load_combo(ctx, k) for k in keys) if c is not None]
    for current in sorted(open_, key=lambda c: c.combo_id):
        end_combo(ctx, current, gifts.gift(current.gift_id))
