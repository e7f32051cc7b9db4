"""Coin lots without a row per spend: FIFO from two counters (pure).

Every paid coin a user ever received has a position in the user's *paid sequence*. A purchase's
lot occupies ``[lot_start, lot_start + coins - coins_removed)`` and, after a won chargeback, a
second segment ``[restored_start, restored_start + restored_coins)``. ``paid_spent`` (the
wallet's counter) says how far spending has consumed the sequence, oldest first, so a gift
advances one counter and each lot's remainder follows from it.

When coins leave the sequence other than by spending (a refund of an untouched lot, the remaining
coins of a charged-back lot) every later position moves down by that many coins (``Shift``), so
the sequence stays gap-free and ``paid_total - paid_spent`` always equals the paid coins held.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Shift:
    """Positions above ``after`` move down by ``by`` (applied in order, in then-current terms)."""

    after: int
    by: int

    def apply(self, position: int) -> int:
        return position - self.by if position > self.after else position


@dataclass(frozen=True, slots=True)
class Segment:
    start: int
    coins: int

    def consumed(self, paid_spent: int) -> int:
        return min(max(paid_spent - self.start, 0), self.coins)

    def remaining(self, paid_spent: int) -> int:
        return self.coins - self.consumed(paid_spent)


def segments(
    lot_start: int | None,
    coins: int,
    coins_removed: int,
    restored_start: int | None,
    restored_coins: int,
) -> list[Segment]:
    out = []
    if lot_start is not None and coins - coins_removed > 0:
        out.append(Segment(lot_start, coins - coins_removed))
    if restored_start is not None and restored_coins > 0:
        out.append(Segment(restored_start, restored_coins))
    return out


def remaining(segs: list[Segment], paid_spent: int) -> int:
    return sum(s.remaining(paid_spent) for s in segs)


def consumed(segs: list[Segment], paid_spent: int) -> int:
    return sum(s.consumed(paid_spent) for s in segs)


def shifted(position: int | None, shifts: list[Shift]) -> int | None:
    if position is None:
        return None
    for s in shifts:
        position = s.apply(position)
    return position
