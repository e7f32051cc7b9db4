"""Prometheus metrics of the room streams (per process, exposed at /metrics with the rest)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

SUBSCRIBERS = Gauge("giftflow_realtime_subscribers", "Open room stream subscribers.")
ROOMS = Gauge("giftflow_realtime_rooms", "Rooms with a hub (at least one subscriber).")
FRAMES_SENT = Counter(
    "giftflow_realtime_frames_total", "Event frames handed to subscribers.", ["source"]
)
SUBSCRIBERS_DROPPED = Counter(
    "giftflow_realtime_subscribers_dropped_total",
    "Subscribers dropped for being too slow (they resume with after=SEQ).",
)
GAP_FILLS = Counter(
    "giftflow_realtime_gap_fills_total",
    "Outbox reads by a hub to fill a gap in what the bus delivered (cause: gap = a later event "
    "came first; poll = the outbox poll found events the bus never brought).",
    ["cause"],
)
BUS_ERRORS = Counter(
    "giftflow_realtime_bus_errors_total", "Redis errors (publish or subscribe).", ["side"]
)
