"""The in-process API key memory: hits within the TTL, misses after it, bounded in size."""

from __future__ import annotations

from giftflow.auth.apikeys import ApiKeyRecord
from giftflow.auth.keycache import ApiKeyCache

RECORD = ApiKeyRecord(1, "ops", "gfk_abcdefgh", frozenset({"admin"}))


def test_hit_within_ttl_and_miss_after() -> None:
    cache = ApiKeyCache(ttl_seconds=60)
    assert cache.get("d1") is None
    cache.put("d1", RECORD)
    assert cache.get("d1") == RECORD
    expired = ApiKeyCache(ttl_seconds=-1)
    expired.put("d1", RECORD)
    assert expired.get("d1") is None


def test_size_is_bounded() -> None:
    cache = ApiKeyCache(ttl_seconds=60, max_entries=3)
    for n in range(4):
        cache.put(f"d{n}", RECORD)
    assert cache.get("d3") == RECORD
    assert sum(cache.get(f"d{n}") is not None for n in range(4)) <= 3
