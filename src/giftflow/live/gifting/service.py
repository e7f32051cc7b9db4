"""Sending a gift: the request builds one ``SendGift`` command under the policy in force and the
writer does everything else in one commit. No database read happens on the request path: the
live, the gift, both users and the balances are read inside the batch, together with every other
gift of the batch."""

from __future__ import annotations

from giftflow.context import AppContext
from giftflow.errors import ValidationFailed
from giftflow.live.gifting.commands import GiftOrder, SendGift
from giftflow.live.gifting.schemas import GiftIn


def gift_command(ctx: AppContext, live_id: int, user_id: str, body: GiftIn) -> SendGift:
    policy = ctx.policies.in_force(ctx.clock.now())
    if body.count > policy.gifts.max_count:
        raise ValidationFailed(
            f"At most {policy.gifts.max_count} gifts in one send.",
            field="count",
            maximum=policy.gifts.max_count,
        )
    order = GiftOrder(
        live_id=live_id,
        user_id=user_id,
        gift_id=body.gift_id,
        count=body.count,
        recipient=body.recipient,
    )
    return SendGift(order, policy=policy)
