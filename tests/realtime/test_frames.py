"""Coalescing inside a frame: combo gifts merge at the last one's position; counts add up."""

from __future__ import annotations

from typing import Any

from giftflow.realtime.frames import Frame, coalesce, merge


def ev(seq: int, type_: str = "gift", combo: str | None = "c", **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"type": type_, "seq": seq, "room_id": "7", "at": "t"}
    if type_ == "gift":
        event.update(
            count=fields.get("count", 1),
            coins=fields.get("coins", 5),
            diamonds=fields.get("diamonds", 250),
            combo_id=combo,
            combo_count=fields.get("combo_count", seq),
            combo_end=fields.get("combo_end", False),
        )
    return event


def test_gifts_of_one_combo_merge_at_the_last_position() -> None:
    events = [
        ev(1, combo="a", combo_count=1),
        ev(2, "viewer_count"),
        ev(3, combo="b", combo_count=1),
        ev(4, combo="a", combo_count=2, count=2, coins=10, diamonds=500),
        ev(5, combo=None),
        ev(6, combo="a", combo_count=4, combo_end=True),
        ev(7, combo=None),
    ]
    out = coalesce(events)
    assert [e["seq"] for e in out] == [2, 3, 5, 6, 7]
    merged = out[3]
    assert merged["seq_from"] == 1 and merged["seq"] == 6
    assert (merged["count"], merged["coins"], merged["diamonds"]) == (4, 20, 1000)
    assert merged["combo_count"] == 4 and merged["combo_end"] is True
    assert "seq_from" not in out[1]  # a lone combo gift passes unchanged
    assert events[0]["count"] == 1  # nothing is changed in place
    gifts = [e for e in events if e["type"] == "gift"]
    assert sum(e["count"] for e in out if e["type"] == "gift") == sum(e["count"] for e in gifts)


def test_nothing_to_merge_passes_everything_in_order() -> None:
    events = [ev(1, "live_started"), ev(2, combo=None), ev(3, combo=None), ev(4, "combo")]
    assert coalesce(events) == events


def test_merging_frames_again_keeps_the_first_seq_and_the_sums() -> None:
    first = Frame.build([ev(1, combo="a"), ev(2, combo="a"), ev(3, "viewer_count")])
    second = Frame.build([ev(4, combo="a"), ev(5, combo="a", combo_count=9)])
    both = merge(first, second)
    assert both.seq == 5 and both.raw_count == 5
    assert [e["seq"] for e in both.events] == [3, 5]
    assert both.events[1]["seq_from"] == 1 and both.events[1]["count"] == 4
    assert both.events[1]["combo_count"] == 9
    assert both.text.startswith('{"type":"events","seq":5,')
