"""Frames: what a subscriber receives, and the coalescing of combo gifts inside one frame (pure).

A frame is ``{"type": "events", "seq": <last seq covered>, "events": [...]}``. Inside a frame,
``gift`` events with the same non-null ``combo_id`` become one event at the position of the last
of them: ``count``, ``coins`` and ``diamonds`` summed, ``combo_count`` the highest, ``seq`` the
last, ``seq_from`` the first merged, ``combo_end`` true if any was. Every other event (and a gift
without a combo) passes unchanged and in order, so the counts a client adds up are always those
that were appended. Coalescing an already coalesced list again is the same operation (a merged
event's ``seq_from`` is kept), which is how a slow subscriber's queued frames are merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from giftflow import jsontext

Event = dict[str, Any]

SUMMED = ("count", "coins", "diamonds")


def _combo_key(event: Event) -> str | None:
    if event.get("type") != "gift":
        return None
    combo = event.get("combo_id")
    return None if combo is None else str(combo)


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _first_seq(event: Event) -> int:
    first = event.get("seq_from")
    return first if isinstance(first, int) else int(event["seq"])


def _merge(group: list[Event]) -> Event:
    last = group[-1]
    merged = dict(last)
    for name in SUMMED:
        merged[name] = sum(_number(e.get(name)) for e in group)
    merged["combo_count"] = max(_number(e.get("combo_count")) for e in group)
    merged["seq_from"] = min(_first_seq(e) for e in group)
    merged["combo_end"] = any(bool(e.get("combo_end")) for e in group)
    return merged


def coalesce(events: Sequence[Event]) -> list[Event]:
    """Merge the gifts of each combo into one event at the last one's position (see module)."""
    groups: dict[str, list[Event]] = {}
    for event in events:
        key = _combo_key(event)
        if key is not None:
            groups.setdefault(key, []).append(event)
    if all(len(g) == 1 for g in groups.values()):
        return list(events)
    out: list[Event] = []
    for event in events:
        key = _combo_key(event)
        if key is None:
            out.append(event)
            continue
        group = groups[key]
        if event is group[-1]:
            out.append(_merge(group) if len(group) > 1 else event)
    return out


@dataclass(slots=True)
class Frame:
    """One message of ``events``; its JSON text is built once for every subscriber."""

    seq: int
    events: list[Event]
    raw_count: int = 0  # events before coalescing (what a replay chunk or a flush covered)
    _text: str | None = field(default=None, repr=False)

    @classmethod
    def build(cls, events: Sequence[Event]) -> Frame:
        """A frame of ``events`` (in seq order, at least one), coalesced."""
        return cls(seq=int(events[-1]["seq"]), events=coalesce(events), raw_count=len(events))

    def message(self) -> dict[str, Any]:
        return {"type": "events", "seq": self.seq, "events": self.events}

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = jsontext.dumps(self.message())
        return self._text


def merge(first: Frame, second: Frame) -> Frame:
    """``second`` appended to ``first`` and coalesced again (a slow subscriber's queue)."""
    return Frame(
        seq=second.seq,
        events=coalesce([*first.events, *second.events]),
        raw_count=first.raw_count + second.raw_count,
    )
