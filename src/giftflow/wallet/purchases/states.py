"""Purchase states and the transitions between them (each guard stated once, here).

    pending ─▶ succeeded ─▶ refunded            (by the user/admin, or the provider;
       │                   │      │           a provider refund may even precede confirmation)
       │                   │      └─(provider reverses its refund)─▶ won
       │                   └──────▶ disputed ─▶ won ─▶ (disputed again …)
       ├─▶ failed                  └─▶ lost
       └─▶ canceled

A provider event for a transition that is no longer possible (``succeeded`` after ``refunded``,
a second ``dispute_opened``) changes nothing and is recorded as ``no_longer_possible``.
"""

from __future__ import annotations

from enum import StrEnum


class PurchaseState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    REFUNDED = "refunded"
    DISPUTED = "disputed"
    WON = "won"
    LOST = "lost"


class PurchaseEvent(StrEnum):
    CONFIRM = "confirm"
    FAIL = "fail"
    CANCEL = "cancel"
    REFUND = "refund"  # giftflow refunds an untouched lot through the provider
    PROVIDER_REFUND = "provider_refund"  # the provider returned the money on its own
    DISPUTE_OPEN = "dispute_open"
    DISPUTE_WIN = "dispute_win"
    DISPUTE_LOSE = "dispute_lose"


S, E = PurchaseState, PurchaseEvent
TRANSITIONS: dict[tuple[PurchaseState, PurchaseEvent], PurchaseState] = {
    (S.PENDING, E.CONFIRM): S.SUCCEEDED,
    (S.PENDING, E.FAIL): S.FAILED,
    # a failed attempt at Stripe is not the end: the buyer may pay the same PaymentIntent again,
    # and its later success must still credit the coins
    (S.FAILED, E.CONFIRM): S.SUCCEEDED,
    (S.PENDING, E.CANCEL): S.CANCELED,
    # the provider's refund can arrive before its confirmation (no order is guaranteed): the
    # purchase ends refunded and the late confirmation finds nothing to do
    (S.PENDING, E.PROVIDER_REFUND): S.REFUNDED,
    (S.SUCCEEDED, E.REFUND): S.REFUNDED,
    (S.SUCCEEDED, E.PROVIDER_REFUND): S.REFUNDED,
    (S.WON, E.PROVIDER_REFUND): S.REFUNDED,
    (S.SUCCEEDED, E.DISPUTE_OPEN): S.DISPUTED,
    (S.WON, E.DISPUTE_OPEN): S.DISPUTED,
    (S.DISPUTED, E.DISPUTE_WIN): S.WON,
    # the provider reversed its own refund (App Store REFUND_REVERSED): the money is back, and so
    # are the coins; only a purchase with a provider case may take it (``close_dispute`` checks)
    (S.REFUNDED, E.DISPUTE_WIN): S.WON,
    (S.DISPUTED, E.DISPUTE_LOSE): S.LOST,
}

# states whose coins were credited and still count as a lot
LOT_STATES = frozenset({S.SUCCEEDED, S.DISPUTED, S.WON, S.LOST})


def next_state(state: PurchaseState, event: PurchaseEvent) -> PurchaseState | None:
    """The state ``event`` leads to from ``state``, or None if it is no longer possible."""
    return TRANSITIONS.get((state, event))
