"""Battles as one batch sees them: read under the sides' room locks, kept in the book's memo.

Announced from ``account_hints`` (the lives of a batch's gifts — with their rooms,
``rooms.announce`` — and the battles its commands name),
read together on first use: one statement finds every open battle of the batch's lives (a gift
batch with no battle going on costs only that), one more loads those battles with their sides
and scores. Changes go through ``ctx.book.remember`` (a refused command's changes are undone with
it, later commands of the batch see earlier ones') and are staged for ``BATTLE_WRITES``.

Memo keys: ``("battles.live", live_id)`` → ids of the open battles the live is a side of;
``("battles.row", id)`` → ``BattleRow`` (None: no such battle); ``("battles.score", id,
live_id)`` → the side's running score; ``("battles.sup", id, live_id, user_id)`` → (points
added in this batch, sequence of the last gift), indexed by ``("battles.sup_keys", id)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from giftflow.ledger import prefetch
from giftflow.ledger.commands import BatchContext
from giftflow.ledger.prefetch import Read
from giftflow.live.battles.model import BattleRow, Supporter
from giftflow.live.battles.repository import BATTLE_WRITES, BattleBatchRepository, LoadedBattle
from giftflow.live.rooms import batch as rooms

_LIVES = ("battles.announced.lives",)
_IDS = ("battles.announced.ids",)


def announce_live(ctx: BatchContext, live_id: int) -> None:
    lives: set[int] = ctx.book.memo.setdefault(_LIVES, set())
    lives.add(live_id)


def announce_battle(ctx: BatchContext, battle_id: int) -> None:
    ids: set[int] = ctx.book.memo.setdefault(_IDS, set())
    ids.add(battle_id)


def _repo(ctx: BatchContext) -> BattleBatchRepository:
    return ctx.repository(BattleBatchRepository)


def _keep(memo: dict[Any, Any], loaded: dict[int, LoadedBattle]) -> None:
    """Rows read under the lock; a row this batch already holds (maybe changed) wins."""
    for battle_id, found in loaded.items():
        if ("battles.row", battle_id) in memo:
            continue
        memo[("battles.row", battle_id)] = found.battle
        for live_id, score in found.scores.items():
            memo.setdefault(("battles.score", battle_id, live_id), score)


def _prefetch_battles(ctx: BatchContext) -> Iterable[Read]:
    """Which announced lives have an open battle, in the batch's first round trip
    (``ledger.prefetch``). When none has (the common case) that answers ``of_live``; otherwise
    ``of_live`` reads them and their battles itself, as without a prefetch."""
    memo = ctx.book.memo
    wanted = prefetch.unread(ctx, _LIVES, "battles.live")
    if not wanted:
        return ()

    def into(index: dict[int, list[int]]) -> None:
        if any(index.values()):
            return
        for i in wanted:
            memo[("battles.live", i)] = ()

    return (BattleBatchRepository.open_of_lives_read(wanted, into),)


prefetch.register(41, "live.battles", _prefetch_battles)


def of_live(ctx: BatchContext, live_id: int) -> tuple[int, ...]:
    """The open battles (invited or active when read, or created in this batch) ``live_id`` is
    a side of. The caller holds the live's room lock."""
    memo = ctx.book.memo
    found: tuple[int, ...] | None = memo.get(("battles.live", live_id))
    if found is not None:
        return found
    announced: set[int] = memo.get(_LIVES, set())
    every = announced | rooms.announced(ctx) | {live_id}
    wanted = {i for i in every if ("battles.live", i) not in memo}
    index = _repo(ctx).open_of_lives(wanted)
    needed = {b for ids in index.values() for b in ids if ("battles.row", b) not in memo}
    if needed:
        _keep(memo, _repo(ctx).battles(needed))
    for i in wanted:
        memo[("battles.live", i)] = tuple(sorted(index.get(i, ())))
    result: tuple[int, ...] = memo[("battles.live", live_id)]
    return result


def battle(ctx: BatchContext, battle_id: int) -> BattleRow | None:
    """The battle (None: no such battle); the caller has locked its sides' rooms."""
    memo = ctx.book.memo
    key = ("battles.row", battle_id)
    if key not in memo:
        announced: set[int] = memo.get(_IDS, set())
        wanted = {b for b in announced | {battle_id} if ("battles.row", b) not in memo}
        loaded = _repo(ctx).battles(wanted)
        _keep(memo, loaded)
        for b in wanted - set(loaded):
            memo[("battles.row", b)] = None
    row: BattleRow | None = memo[key]
    return row


def scores(ctx: BatchContext, row: BattleRow) -> dict[int, int]:
    """Every side's running score (stored, plus what this batch's gifts added)."""
    memo = ctx.book.memo
    return {s.live_id: int(memo.get(("battles.score", row.id, s.live_id), 0)) for s in row.sides}


def save(ctx: BatchContext, row: BattleRow, *, sides: bool = True) -> None:
    """The battle's new state (with ``sides``: its sides' states too)."""
    ctx.book.remember(("battles.row", row.id), row)
    ctx.book.stage(BATTLE_WRITES, ("battle", row, False))
    if sides:
        for side in row.sides:
            ctx.book.stage(BATTLE_WRITES, ("side", row.id, side, False))


def create(ctx: BatchContext, row: BattleRow) -> None:
    """A new battle: its row, its sides (score 0) and the index of each side's live."""
    for side in row.sides:
        current = of_live(ctx, side.live_id)
        ctx.book.remember(("battles.live", side.live_id), (*current, row.id))
        ctx.book.remember(("battles.score", row.id, side.live_id), 0)
        ctx.book.stage(BATTLE_WRITES, ("side", row.id, side, True))
    ctx.book.remember(("battles.row", row.id), row)
    ctx.book.stage(BATTLE_WRITES, ("battle", row, True))


def add_points(
    ctx: BatchContext, battle_id: int, live_id: int, user_id: str, points: int, seq: int
) -> None:
    """A gift scored ``points`` for ``live_id``'s side, sent by ``user_id`` (event ``seq``)."""
    memo, book = ctx.book.memo, ctx.book
    key = ("battles.score", battle_id, live_id)
    book.remember(key, int(memo.get(key, 0)) + points)
    backer = ("battles.sup", battle_id, live_id, user_id)
    before: tuple[int, int] | None = memo.get(backer)
    book.remember(backer, ((before[0] if before else 0) + points, seq))
    keys: set[tuple[int, str]] = memo.setdefault(("battles.sup_keys", battle_id), set())
    keys.add((live_id, user_id))  # a superset: a rolled-back gift's key has no value left
    book.stage(BATTLE_WRITES, ("score", battle_id, live_id, points))
    book.stage(BATTLE_WRITES, ("supporter", battle_id, live_id, user_id, points, seq))


def supporters(ctx: BatchContext, row: BattleRow) -> dict[int, list[Supporter]]:
    """Every side's supporters: the stored ones (read under the locks) plus this batch's."""
    stored = _repo(ctx).supporters(row.id)
    by_key = {(lid, s.user_id): s for lid, found in stored.items() for s in found}
    memo = ctx.book.memo
    for live_id, user_id in memo.get(("battles.sup_keys", row.id), set()):
        added: tuple[int, int] | None = memo.get(("battles.sup", row.id, live_id, user_id))
        if added is None:
            continue
        was = by_key.get((live_id, user_id))
        score = (was.score if was else 0) + added[0]
        by_key[(live_id, user_id)] = Supporter(user_id, score, added[1])
    out: dict[int, list[Supporter]] = {s.live_id: [] for s in row.sides}
    for (live_id, _), s in by_key.items():
        out.setdefault(live_id, []).append(s)
    return out
