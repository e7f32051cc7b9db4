"""A short-lived in-process memory of API keys, so a request with a known key reads no table."""

from __future__ import annotations

import time

from giftflow.auth.apikeys import ApiKeyRecord


class ApiKeyCache:
    """digest → key record for ``ttl_seconds``; a revoked key stops working within the TTL."""

    def __init__(self, ttl_seconds: int = 30, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[ApiKeyRecord, float]] = {}

    def get(self, key_digest: str) -> ApiKeyRecord | None:
        entry = self._entries.get(key_digest)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, key_digest: str, record: ApiKeyRecord) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key_digest] = (record, time.monotonic() + self.ttl)
