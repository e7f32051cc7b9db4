"""The periodic ``leaderboard`` snapshot of a live: a command through the writer, because it
appends to the live's room (numbered under the room's lock) and must see exactly the gifts
before it.

For each live asked about, in the batch: skip it if it has ended (``live_ended`` is a room's
last event), if its last snapshot (or, before the first, the live's start) is younger than the
policy's ``snapshot_seconds``, or if its top N is the same as in that snapshot; otherwise
append ``leaderboard`` with the top N and remember the snapshot (``SnapshotMark``). The top N
is the stored board plus the gifts applied earlier in the same batch (still staged, not yet
written), so a snapshot at sequence S shows exactly the gifts before S.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.model import AccountRef
from giftflow.live.gifting.hooks import GiftFact
from giftflow.live.leaderboards.repository import (
    LEADERBOARD_WRITES,
    Entry,
    LeaderboardBatchRepository,
    SnapshotMark,
)
from giftflow.live.rooms import batch as rooms
from giftflow.live.rooms.model import LiveState
from giftflow.realtime import outbox

Signature = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class _Mark:
    at: datetime
    seq: int
    signature: Signature | None  # None: not read yet


def signature(top: list[dict[str, Any]]) -> Signature:
    """What makes two snapshots the same: who is where, with how many coins."""
    return tuple((str(e["user"]["id"]), int(e["coins"])) for e in top)


def _deltas(ctx: BatchContext, live_id: int) -> dict[str, tuple[int, int, datetime, int]]:
    """What the batch's gifts so far (staged, not yet written) add to the live's board: per
    viewer, coins, gifts and the (time, seq) of the last one."""
    entry = ctx.book.staged.get(LEADERBOARD_WRITES.name)
    out: dict[str, tuple[int, int, datetime, int]] = {}
    for row in entry[1] if entry is not None else ():
        if type(row) is GiftFact and row.live_id == live_id:
            coins, gifts, _, _ = out.get(row.viewer_id, (0, 0, row.at, row.seq))
            out[row.viewer_id] = (coins + row.coins, gifts + row.count, row.at, row.seq)
    return out


def merged_top(ctx: BatchContext, live_id: int, limit: int) -> list[Entry]:
    """The live's top ``limit`` as of now in this batch: the stored board, plus the deltas of
    the gifts of this batch so far. Only the stored top and the viewers who gave in this batch
    can be in the merged top: everyone else is unchanged and behind the stored top."""
    repo = ctx.repository(LeaderboardBatchRepository)
    stored = {e.id: e for e in repo.top(live_id, limit)}
    deltas = _deltas(ctx, live_id)
    if deltas:
        stored.update(repo.entries(live_id, [w for w in deltas if w not in stored]))
        for who, (coins, gifts, at, seq) in deltas.items():
            base = stored.get(who)
            stored[who] = Entry(
                id=who,
                name=None,
                coins=coins + (base.coins if base else 0),
                gifts=gifts + ((base.gifts or 0) if base else 0),
                reached_at=at,
                reached_seq=seq,
            )
    ranked = sorted(stored.values(), key=lambda e: (-e.coins, e.reached_at, e.reached_seq, e.id))
    return ranked[:limit]


class SnapshotLeaderboards(Command):
    kind = "live.leaderboard.snapshot"
    success_status = 200

    def __init__(self, live_ids: Sequence[int], *, top: int, every: timedelta) -> None:
        self.live_ids = sorted(set(live_ids))
        self.top = top
        self.every = every
        self._known: list[int] = []

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        self._known = [i for i in self.live_ids if rooms.creator_of(ctx, i) is not None]
        for live_id in self._known:
            rooms.announce(ctx, live_id)  # their rooms are locked with the batch's others
        return ()

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        started = {
            live.id: live.started_at
            for live in (rooms.live(ctx, i) for i in self._known)
            if live.state is LiveState.ACTIVE
        }
        marks = self._marks(ctx, list(started))
        appended: dict[str, int] = {}
        waiting: list[str] = []
        for live_id, started_at in started.items():
            mark = marks.get(live_id)
            if ctx.now - (mark.at if mark is not None else started_at) < self.every:
                waiting.append(str(live_id))  # the first one comes an interval after the start
                continue
            top = self._view(ctx, merged_top(ctx, live_id, self.top))
            if not top:
                continue
            sig = signature(top)
            if mark is not None and sig == self._signature(ctx, live_id, mark):
                continue
            seq = outbox.append(ctx, live_id, "leaderboard", {"live_id": str(live_id), "top": top})
            ctx.book.remember(("leaderboards.mark", live_id), _Mark(ctx.now, seq, sig))
            ctx.book.stage(LEADERBOARD_WRITES, SnapshotMark(live_id, ctx.now, seq))
            appended[str(live_id)] = seq
        return {"appended": appended, "waiting": waiting}

    def _marks(self, ctx: BatchContext, live_ids: list[int]) -> dict[int, _Mark]:
        """Each live's last snapshot: this batch's, else the stored mark (read under the lock,
        kept in the memo for the batch's other snapshot commands)."""
        missing = [i for i in live_ids if ("leaderboards.mark", i) not in ctx.book.memo]
        if missing:
            found = ctx.repository(LeaderboardBatchRepository).marks(missing)
            for live_id in missing:
                at_seq = found.get(live_id)
                mark = _Mark(at_seq[0], at_seq[1], None) if at_seq is not None else None
                ctx.book.memo[("leaderboards.mark", live_id)] = mark
        return {
            i: m for i in live_ids if (m := ctx.book.memo[("leaderboards.mark", i)]) is not None
        }

    def _signature(self, ctx: BatchContext, live_id: int, mark: _Mark) -> Signature | None:
        if mark.signature is not None:
            return mark.signature
        event = ctx.repository(LeaderboardBatchRepository).event(live_id, mark.seq)
        if event is None or event.get("type") != "leaderboard":
            return None  # purged: take a new snapshot
        return signature(event.get("top", []))

    def _view(self, ctx: BatchContext, entries: list[Entry]) -> list[dict[str, Any]]:
        names = ctx.repository(LeaderboardBatchRepository).names(e.id for e in entries)
        return [
            {
                "rank": i,
                "user": {"id": e.id, "name": names.get(e.id) or e.id},
                "coins": e.coins,
                "gifts": e.gifts or 0,
            }
            for i, e in enumerate(entries, start=1)
        ]
