"""A bounded in-process memory of user tokens that passed verification.

Verifying an HS256 token (base64, JSON, HMAC, the claim checks) costs tens of microseconds on
every request; a viewer sending gifts presents the same token hundreds of times during its
15 minutes. So a token that passed ``verify_user_token`` is remembered with its ``sub``, ``iat``
and ``exp`` under the secret and the maximum lifetime it was checked with. A later request with
exactly the same token string, under the same secret and maximum, skips the signature and the
claim checks, but the time checks are made again against the clock of that request (with its
leeway): once the token is expired (or, with a clock moved back, not yet issued) the entry is
dropped and the full verification runs and refuses it with the same reason as ever.

Nothing that failed verification is remembered. The memory is bounded (``max_entries``): when full,
expired entries go first, then the oldest. A changed secret or maximum lifetime never matches an
old entry.
"""

from __future__ import annotations

from datetime import datetime

from giftflow.auth.tokens import verify_user_token_claims

_Entry = tuple[str, int, str, int, int]  # secret, max ttl, sub, iat, exp


class VerifiedTokens:
    """token → the facts of its successful verification, at most ``max_entries`` of them."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def verify(
        self,
        token: str,
        secret: str,
        now: datetime,
        leeway_seconds: int = 30,
        *,
        max_ttl_seconds: int,
    ) -> str:
        """The user id ``token`` speaks for, as ``verify_user_token`` answers it."""
        entry = self._entries.get(token)
        if entry is not None and entry[0] == secret and entry[1] == max_ttl_seconds and secret:
            moment = now.timestamp()
            if entry[3] <= moment + leeway_seconds and moment <= entry[4] + leeway_seconds:
                return entry[2]
            del self._entries[token]  # out of its time: verify again, which refuses it
        sub, iat, exp = verify_user_token_claims(
            token, secret, now, leeway_seconds, max_ttl_seconds=max_ttl_seconds
        )
        self._remember(token, (secret, max_ttl_seconds, sub, iat, exp), now, leeway_seconds)
        return sub

    def _remember(self, token: str, entry: _Entry, now: datetime, leeway_seconds: int) -> None:
        entries = self._entries
        if len(entries) >= self.max_entries:
            moment = now.timestamp()
            for stale in [t for t, e in entries.items() if moment > e[4] + leeway_seconds]:
                del entries[stale]
            while len(entries) >= self.max_entries:
                del entries[next(iter(entries))]  # the oldest remembered
        entries[token] = entry
