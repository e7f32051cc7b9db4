"""Adding and removing a co-host: commands in the writer's batch that lock the live's room
(``rooms.announce`` from ``account_hints``, ``rooms.live`` in ``apply``) before reading its
co-hosts, exactly as a gift naming a co-host does, so a change of co-hosts and a gift to the
same live never pass each other: a gift after the removal is ``recipient_not_in_live``, a gift
after the addition may choose the new co-host. Each change is an event on the room's stream
(``cohost_added``, ``cohost_removed``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from giftflow.errors import (
    CreatorNotEligible,
    Forbidden,
    InvalidTransition,
    LiveNotActive,
    NotFound,
    UserNotFound,
    ValidationFailed,
)
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.model import AccountRef
from giftflow.live.cohosts import batch as cohosts
from giftflow.live.rooms import batch as rooms
from giftflow.live.rooms.model import LiveRow, LiveState, UserFacts, ineligibility
from giftflow.money.policy import Policy
from giftflow.realtime import outbox

MAX_COHOSTS = 8  # per live at once (no policy field for it yet)


def _user_view(user_id: str, facts: UserFacts | None) -> dict[str, str]:
    return {"id": user_id, "name": facts.name if facts is not None else user_id}


def _answer(
    live: LiveRow,
    user_id: str,
    facts: UserFacts | None,
    after: frozenset[str],
    *,
    changed: bool,
    seq: int | None,
) -> dict[str, Any]:
    return {
        "object": "cohost",
        "live_id": str(live.id),
        "user_id": user_id,
        "name": _user_view(user_id, facts)["name"],
        "cohost": user_id in after,
        "changed": changed,
        "seq": seq,
        "cohosts": sorted(after),
    }


class _OnCohost(Command):
    def __init__(self, live_id: int, user_id: str, *, by: str) -> None:
        self.live_id = live_id
        self.user_id = user_id
        self.by = by

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        if rooms.creator_of(ctx, self.live_id) is None:
            raise NotFound("No such live.", id=str(self.live_id))
        rooms.announce(ctx, self.live_id, self.user_id)
        cohosts.announce(ctx, self.live_id)
        return ()


class AddCohost(_OnCohost):
    """The live's creator adds a co-host: an existing user, not the host, who can receive gifts
    under the policy in force (as a creator starting a live must), while the live is on air.
    Adding a current co-host changes nothing (no event, ``changed: false``)."""

    kind = "live.cohost.add"

    def __init__(self, live_id: int, user_id: str, *, by: str, policy: Policy) -> None:
        super().__init__(live_id, user_id, by=by)
        self.policy = policy

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        live = rooms.live(ctx, self.live_id)
        if live.creator_id != self.by:
            raise Forbidden("Only the live's creator can add co-hosts.")
        if live.state is not LiveState.ACTIVE:
            raise LiveNotActive(live_id=str(live.id))
        if self.user_id == live.creator_id:
            raise ValidationFailed("The host is not a co-host of their own live.", field="user_id")
        facts = rooms.user(ctx, self.user_id)
        if facts is None:
            raise UserNotFound(user_id=self.user_id)
        policy = self.policy
        reason = ineligibility(facts, policy, policy.local_date(ctx.now))
        if reason is not None:
            raise CreatorNotEligible(
                reason=reason,
                creator_id=self.user_id,
                followers_needed=policy.gifts.followers_to_receive,
            )
        before = cohosts.current(ctx, live.id)
        if self.user_id in before:
            return _answer(live, self.user_id, facts, before, changed=False, seq=None)
        if len(before) >= MAX_COHOSTS:
            raise InvalidTransition(
                f"A live has at most {MAX_COHOSTS} co-hosts.", state="full", maximum=MAX_COHOSTS
            )
        after = cohosts.change(ctx, live.id, self.user_id, added=True)
        seq = outbox.append(
            ctx,
            live.id,
            "cohost_added",
            {
                "live_id": str(live.id),
                "user": _user_view(self.user_id, facts),
                "cohosts": sorted(after),
            },
        )
        return _answer(live, self.user_id, facts, after, changed=True, seq=seq)


class RemoveCohost(_OnCohost):
    """The live's creator removes a co-host, or a co-host leaves. Gifts to them are refused from
    the next command on (``recipient_not_in_live``)."""

    kind = "live.cohost.remove"
    success_status = 200

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        live = rooms.live(ctx, self.live_id)
        if self.by not in (live.creator_id, self.user_id):
            raise Forbidden("Only the live's creator, or the co-host themselves, can do this.")
        before = cohosts.current(ctx, live.id)
        if self.user_id not in before:
            raise NotFound("Not a co-host of this live.", id=self.user_id)
        if live.state is not LiveState.ACTIVE:
            raise LiveNotActive(live_id=str(live.id))
        facts = rooms.user(ctx, self.user_id)
        after = cohosts.change(ctx, live.id, self.user_id, added=False)
        seq = outbox.append(
            ctx,
            live.id,
            "cohost_removed",
            {
                "live_id": str(live.id),
                "user": _user_view(self.user_id, facts),
                "by": "host" if self.by == live.creator_id else "self",
                "cohosts": sorted(after),
            },
        )
        return _answer(live, self.user_id, facts, after, changed=True, seq=seq)
