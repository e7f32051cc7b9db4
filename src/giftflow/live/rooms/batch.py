"""Live rooms as commands see them inside one batch.

A command announces its live (the room) and the users it needs from ``account_hints``; the first
read of the batch locks every announced room's sequence row in one ordered statement
(``realtime.outbox``) and then reads all their lives, and all announced users' facts, in one
query each. Rows read under the lock stay in the book's memo for the batch (later commands see
earlier ones' changes); a refused command's changes are undone by the book.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING

from giftflow.copying import copier
from giftflow.errors import NotFound
from giftflow.ledger import prefetch
from giftflow.ledger.commands import BatchContext
from giftflow.ledger.prefetch import Read
from giftflow.live.rooms.model import LiveRow, UserFacts
from giftflow.live.rooms.repository import LIVE_WRITES, LiveBatchRepository
from giftflow.realtime import outbox

if TYPE_CHECKING:
    from sqlalchemy import Engine

_USERS = ("live.users",)
_copy_live = copier(LiveRow)
_LIVES = ("live.announced",)
# a live's creator never changes: safe to keep, per database (live ids restart in another one)
_CREATORS: weakref.WeakKeyDictionary[Engine, dict[int, str]] = weakref.WeakKeyDictionary()


def repo(ctx: BatchContext) -> LiveBatchRepository:
    return ctx.repository(LiveBatchRepository)


def creator_of(ctx: BatchContext, live_id: int) -> str | None:
    """The live's creator (for account hints, before any lock)."""
    known = _CREATORS.setdefault(ctx.repo.conn.engine, {})
    found = known.get(live_id)
    if found is None:
        found = repo(ctx).creator_of(live_id)
        if found is not None:
            if len(known) > 100_000:
                known.clear()
            known[live_id] = found
    return found


def announce(ctx: BatchContext, live_id: int, *user_ids: str) -> None:
    """From ``account_hints``: this command will read ``live_id`` and these users."""
    outbox.announce(ctx, live_id)
    lives: set[int] = ctx.book.memo.setdefault(_LIVES, set())
    lives.add(live_id)
    users: set[str] = ctx.book.memo.setdefault(_USERS, set())
    users.update(user_ids)


def announced(ctx: BatchContext) -> set[int]:
    """Every live announced in this batch so far (other features read theirs with the rooms)."""
    lives: set[int] = ctx.book.memo.get(_LIVES, set())
    return lives


# --- the batch's first round trip (PostgreSQL, ``ledger.prefetch``): the same reads as below ----
def _prefetch_lives(ctx: BatchContext) -> Iterable[Read]:
    memo = ctx.book.memo
    wanted = prefetch.unread(ctx, _LIVES, "live.row")
    if not wanted:
        return ()

    def into(found: dict[int, LiveRow]) -> None:
        for found_id, row in found.items():  # read under the room's lock (prefetched first)
            memo[("live.row", found_id)] = row

    return (LiveBatchRepository.lives_read(wanted, into),)


def _prefetch_users(ctx: BatchContext) -> Iterable[Read]:
    memo = ctx.book.memo
    wanted = prefetch.unread(ctx, _USERS, "live.user")
    if not wanted:
        return ()

    def into(found: dict[str, UserFacts]) -> None:
        for u in wanted:
            memo[("live.user", u)] = found.get(u)

    return (LiveBatchRepository.users_read(wanted, into),)


prefetch.register(11, "live.lives", _prefetch_lives)  # after their rooms (10)
prefetch.register(12, "live.users", _prefetch_users)


def live(ctx: BatchContext, live_id: int) -> LiveRow:
    """The live as this batch sees it, its room locked; 404 if there is no such live."""
    key = ("live.row", live_id)
    cached: LiveRow | None = ctx.book.memo.get(key)
    if cached is not None:
        return _copy_live(cached)
    try:
        outbox.last_seq(ctx, live_id)  # locks every announced room, in order
    except NotFound:
        raise NotFound("No such live.", id=str(live_id)) from None
    announced: set[int] = ctx.book.memo.get(_LIVES, set())
    wanted = {i for i in announced | {live_id} if ("live.row", i) not in ctx.book.memo}
    for found_id, row in repo(ctx).lives(wanted).items():
        ctx.book.memo[("live.row", found_id)] = row  # a read under the lock, kept on rollback
    found: LiveRow | None = ctx.book.memo.get(key)
    if found is None:
        raise NotFound("No such live.", id=str(live_id))
    return _copy_live(found)


def save_live(ctx: BatchContext, row: LiveRow) -> None:
    saved = _copy_live(row)  # the memo hands out copies and the flush only reads: one will do
    ctx.book.remember(("live.row", row.id), saved)
    ctx.book.stage(LIVE_WRITES, ("live", saved))


def user(ctx: BatchContext, user_id: str) -> UserFacts | None:
    """A user's facts (all announced users read in one query per batch)."""
    key = ("live.user", user_id)
    if key not in ctx.book.memo:
        announced: set[str] = ctx.book.memo.get(_USERS, set())
        wanted = {u for u in announced | {user_id} if ("live.user", u) not in ctx.book.memo}
        found = repo(ctx).users(wanted)
        for u in wanted:
            ctx.book.memo[("live.user", u)] = found.get(u)
    facts: UserFacts | None = ctx.book.memo[key]
    return facts
