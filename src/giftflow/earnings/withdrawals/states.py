"""The withdrawal state machine: states, the transitions allowed between them, and how a payout
provider's status maps onto them.

::

    requested ──approve──▶ approved ──submit──▶ submitted ──▶ in_transit ──▶ paid
        │                     │                     │              │           │
        ├─reject / cancel─────┤                     ├── failed ◀───┤           ├─▶ returned
                                                    └── returned ◀─┘           └─▶ reversed

A withdrawal under the policy's ``auto_approve_below_minor`` starts ``approved``. ``submitted``
may jump straight to ``paid`` or ``failed`` when the provider answers at once; an unclaimed
PayPal payout comes back ``returned`` without ever being paid. ``paid`` is not final: the
provider may still return or reverse it, and then the diamonds come back.

What each transition does to the ledger is in ``commands.py``; this module is pure.
"""

from __future__ import annotations

from enum import StrEnum

from giftflow.errors import InvalidTransition
from giftflow.payouts.providers import PayoutStatus


class WithdrawalState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    SUBMITTED = "submitted"
    IN_TRANSIT = "in_transit"
    PAID = "paid"
    REJECTED = "rejected"
    CANCELED = "canceled"
    FAILED = "failed"
    RETURNED = "returned"
    REVERSED = "reversed"


S = WithdrawalState

TRANSITIONS: dict[WithdrawalState, frozenset[WithdrawalState]] = {
    S.REQUESTED: frozenset({S.APPROVED, S.REJECTED, S.CANCELED}),
    S.APPROVED: frozenset({S.SUBMITTED, S.REJECTED, S.CANCELED}),
    S.SUBMITTED: frozenset({S.IN_TRANSIT, S.PAID, S.FAILED, S.RETURNED}),
    S.IN_TRANSIT: frozenset({S.PAID, S.FAILED, S.RETURNED}),
    S.PAID: frozenset({S.RETURNED, S.REVERSED}),
    S.REJECTED: frozenset(),
    S.CANCELED: frozenset(),
    S.FAILED: frozenset(),
    S.RETURNED: frozenset(),
    S.REVERSED: frozenset(),
}

# the diamonds are still the creator's, reserved by the pending transfer
RESERVED = frozenset({S.REQUESTED, S.APPROVED})
# handed to the provider, not settled: the poll job watches these
AT_PROVIDER = frozenset({S.SUBMITTED, S.IN_TRANSIT})
# nothing more can happen
FINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
# the diamonds came back to the creator (or never left): not counted as withdrawn
GIVEN_BACK = frozenset({S.REJECTED, S.CANCELED, S.FAILED, S.RETURNED, S.REVERSED})
# never took money at all: daily and weekly limits ignore them
NOT_COUNTED_FOR_LIMITS = frozenset({S.REJECTED, S.CANCELED, S.FAILED})


def check(current: WithdrawalState, target: WithdrawalState, withdrawal_id: int) -> None:
    """Raise ``invalid_transition`` unless ``current → target`` is in the table."""
    if target not in TRANSITIONS[current]:
        allowed = sorted(TRANSITIONS[current])
        raise InvalidTransition(
            f"A withdrawal that is {current} cannot become {target}.",
            id=str(withdrawal_id),
            state=str(current),
            to=str(target),
            allowed=[str(a) for a in allowed],
        )


# what a provider's status means for us (None: nothing new to record)
STATUS_TARGET: dict[PayoutStatus, WithdrawalState] = {
    PayoutStatus.PENDING: S.IN_TRANSIT,
    PayoutStatus.UNCLAIMED: S.IN_TRANSIT,
    PayoutStatus.ONHOLD: S.IN_TRANSIT,
    PayoutStatus.SUCCESS: S.PAID,
    PayoutStatus.FAILED: S.FAILED,
    PayoutStatus.BLOCKED: S.FAILED,
    PayoutStatus.DENIED: S.FAILED,
    PayoutStatus.RETURNED: S.RETURNED,
    PayoutStatus.REFUNDED: S.RETURNED,
    PayoutStatus.REVERSED: S.REVERSED,
}


def target_for(current: WithdrawalState, status: PayoutStatus) -> WithdrawalState | None:
    """The state a provider's ``status`` moves a withdrawal in ``current`` to, or None when it
    says nothing new (already there, or a stale status arriving after a later one)."""
    target = STATUS_TARGET[status]
    if target == current or target not in TRANSITIONS[current]:
        return None
    return target
