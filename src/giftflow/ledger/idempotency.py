"""Idempotency keys: request fingerprints, the in-process in-flight registry, stored outcomes.

A key is scoped to its caller and route template. The fingerprint is the SHA-256 of the canonical
JSON of the request (path parameters, query and body), so the same request always gives the same
hash and the same key on another transaction id is a different request. The first
*final* outcome (success or a business refusal) is stored in the same transaction as the effect;
failures that may be retried (401/403/422/429/5xx, a failed batch) are never stored.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from giftflow.errors import GiftflowError, IdempotencyKeyInFlight, IdempotencyKeyReused

NOT_STORED_STATUSES = frozenset({400, 401, 403, 413, 415, 422, 429})


@dataclass(frozen=True, slots=True)
class IdempotencyRequest:
    scope: str  # the caller and the route template: "apikey:3 POST /v1/admin/transfers"
    key: str
    request_hash: str

    @property
    def ident(self) -> tuple[str, str]:
        return (self.scope, self.key)


def fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(slots=True)
class Outcome:
    """What a command's caller gets: an HTTP status and a JSON body, and whether it was replayed."""

    status: int
    body: dict[str, Any]
    replayed: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_error(cls, error: GiftflowError) -> Outcome:
        return cls(error.status, error.to_body(), headers=error.headers())

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def error_code(self) -> str | None:
        err = self.body.get("error")
        return err.get("code") if isinstance(err, dict) else None

    def storable(self) -> bool:
        return self.status < 500 and self.status not in NOT_STORED_STATUSES


def replay(
    request: IdempotencyRequest, stored_hash: str, status: int, body: dict[str, Any]
) -> Outcome:
    if stored_hash != request.request_hash:
        return Outcome.from_error(
            IdempotencyKeyReused(
                "This Idempotency-Key was first used with a different request.", key=request.key
            )
        )
    return Outcome(status, body, replayed=True)


class InFlightRegistry:
    """Keys being processed in this process; a second request with one gets 409 + Retry-After."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: set[tuple[str, str]] = set()

    def acquire(self, request: IdempotencyRequest) -> None:
        with self._lock:
            if request.ident in self._keys:
                raise IdempotencyKeyInFlight(key=request.key)
            self._keys.add(request.ident)

    def release(self, request: IdempotencyRequest) -> None:
        with self._lock:
            self._keys.discard(request.ident)
