"""Diamonds → coins: the exchange under the policy in force, built here, applied in the writer.

The whole multiples come from ``Policy.exchange_diamonds`` (SPEC §10 example 8: under
``standard`` 12 diamonds give 5 coins, 13 diamonds exchange 12 and keep 1). A request too small
for one unit is a 422 ``validation_error`` decided here (nothing reaches the writer or the key
store); whether the policy offers exchange to the user's region is decided in the batch
(``ExchangeDiamonds``), so that refusal is stored and replayed under its key.
"""

from __future__ import annotations

from giftflow.context import AppContext
from giftflow.earnings.exchange.commands import ExchangeDiamonds
from giftflow.errors import ValidationFailed
from giftflow.money.amounts import amount_view


def exchange_command(ctx: AppContext, user_id: str, diamonds: int) -> ExchangeDiamonds:
    policy = ctx.policies.in_force(ctx.clock.now())
    ex = policy.exchange_diamonds(diamonds)
    if ex.coins == 0:
        unit = amount_view("DIAMOND", policy.exchange.diamond_hundredths)
        raise ValidationFailed(
            f"Exchange takes whole multiples of {unit['display']} diamonds; "
            f"{amount_view('DIAMOND', diamonds)['display']} is less than one.",
            diamonds=diamonds,
            minimum=policy.exchange.diamond_hundredths,
        )
    return ExchangeDiamonds(user_id, diamonds, ex, policy)
