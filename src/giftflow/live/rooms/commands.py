"""Commands on a live that write room events, so they run in the writer's batch (events get
their sequence numbers there): ending a live, and viewers joining and leaving."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from giftflow.errors import Forbidden, LiveNotActive, NotFound, SubscribersOnly
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.model import AccountRef
from giftflow.live.rooms import batch as rooms
from giftflow.live.rooms.combos import end_all_combos
from giftflow.live.rooms.model import LiveRow, LiveState
from giftflow.live.rooms.repository import LIVE_WRITES, ViewerRow
from giftflow.live.subscriptions import batch as subscriptions
from giftflow.realtime import outbox


def totals(live: LiveRow) -> dict[str, Any]:
    return {
        "viewer_count": live.viewer_count,
        "peak_viewers": live.peak_viewers,
        "gifts_count": live.gifts_count,
        "coins_total": live.coins_total,
        "diamonds_total": live.diamonds_total,
    }


def _seconds(viewer: ViewerRow, until: Any) -> int:
    assert viewer.joined_at is not None
    return max(0, int((until - viewer.joined_at).total_seconds()))


def _watching(ctx: BatchContext, live_id: int) -> list[ViewerRow]:
    """Who watches the live now: the stored rows, as this batch has changed them (joins and
    leaves earlier in the batch are only in the memo)."""
    rows = {v.user_id: v for v in rooms.repo(ctx).watching(live_id)}
    for key, viewer in ctx.book.memo.items():
        if isinstance(key, tuple) and key[0] == "live.viewer" and key[1] == live_id:
            rows[key[2]] = viewer
    return [replace(v) for _, v in sorted(rows.items()) if v.joined_at is not None]


class EndLive(Command):
    """The creator (or an admin: ``creator_id`` None) ends the live: open streaks end, viewers'
    watch time is closed, ``live_ended`` with the totals is the room's last event."""

    kind = "live.end"
    success_status = 200

    def __init__(self, live_id: int, *, creator_id: str | None) -> None:
        self.live_id = live_id
        self.creator_id = creator_id

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        creator = rooms.creator_of(ctx, self.live_id)
        if creator is None:
            raise NotFound("No such live.", id=str(self.live_id))
        rooms.announce(ctx, self.live_id, creator)
        return ()

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        live = rooms.live(ctx, self.live_id)
        if self.creator_id is not None and live.creator_id != self.creator_id:
            raise Forbidden("Only the live's creator or an admin can end it.")
        if live.state is LiveState.ENDED:
            raise LiveNotActive(live_id=str(live.id))
        end_all_combos(ctx, live.id)
        for viewer in _watching(ctx, live.id):
            viewer.watch_seconds += _seconds(viewer, ctx.now)
            viewer.joined_at = None
            ctx.book.remember(("live.viewer", live.id, viewer.user_id), viewer)
            ctx.book.stage(LIVE_WRITES, ("viewer", viewer))
        live.state = LiveState.ENDED
        live.ended_at = ctx.now
        live.viewer_count = 0
        seq = outbox.append(ctx, live.id, "live_ended", {"live_id": str(live.id), **totals(live)})
        rooms.save_live(ctx, live)
        return {"live_id": str(live.id), "seq": seq}


class ViewerChange(Command):
    """A viewer joins or leaves: the live's viewer count (and peak) and the viewer's watch time;
    a ``viewer_count`` event when the count changes. Joining twice or leaving without having
    joined changes nothing (idempotent by nature). A subscriber-only live refuses a joining
    non-subscriber (``subscribers_only``, nothing changed); leaving is always allowed."""

    kind = "live.viewer"
    success_status = 200

    def __init__(self, live_id: int, user_id: str, *, join: bool) -> None:
        self.live_id = live_id
        self.user_id = user_id
        self.join = join

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        creator = rooms.creator_of(ctx, self.live_id)
        if creator is None:
            raise NotFound("No such live.", id=str(self.live_id))
        rooms.announce(ctx, self.live_id, self.user_id)
        if self.join:  # read only if the live is subscriber-only
            subscriptions.announce(ctx, self.user_id, creator)
        return ()

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        live = rooms.live(ctx, self.live_id)
        key = ("live.viewer", live.id, self.user_id)
        viewer: ViewerRow | None = ctx.book.memo.get(key) or rooms.repo(ctx).viewer(
            live.id, self.user_id
        )
        changed = False
        if self.join:
            if live.state is not LiveState.ACTIVE:
                raise LiveNotActive(live_id=str(live.id))
            if (
                live.subscribers_only
                and self.user_id != live.creator_id
                and not subscriptions.is_subscriber(ctx, self.user_id, live.creator_id)
            ):
                raise SubscribersOnly(live_id=str(live.id), creator_id=live.creator_id)
            if viewer is None:
                viewer = ViewerRow(live.id, self.user_id, ctx.now, ctx.now, 0)
                changed = True
            elif viewer.joined_at is None:
                viewer = ViewerRow(
                    live.id, self.user_id, ctx.now, viewer.first_joined_at, viewer.watch_seconds
                )
                changed = True
        elif viewer is not None and viewer.joined_at is not None:
            viewer = ViewerRow(
                live.id,
                self.user_id,
                None,
                viewer.first_joined_at,
                viewer.watch_seconds + _seconds(viewer, ctx.now),
            )
            changed = True
        seq = None
        if changed and viewer is not None:
            ctx.book.remember(key, viewer)
            ctx.book.stage(LIVE_WRITES, ("viewer", viewer))
            live.viewer_count += 1 if self.join else -1
            live.peak_viewers = max(live.peak_viewers, live.viewer_count)
            rooms.save_live(ctx, live)
            seq = outbox.append(
                ctx,
                live.id,
                "viewer_count",
                {"viewer_count": live.viewer_count, "peak_viewers": live.peak_viewers},
            )
        return {
            "live_id": str(live.id),
            "user_id": self.user_id,
            "watching": viewer is not None and viewer.joined_at is not None,
            "watch_seconds": viewer.watch_seconds if viewer is not None else 0,
            "viewer_count": live.viewer_count,
            "seq": seq,
        }
