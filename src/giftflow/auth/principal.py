"""The caller of a request and what it may touch.

Wrong scope → 403. Another user's resource → 404, so a user cannot learn what exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from giftflow.errors import Forbidden, NotFound


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str  # "api_key" or "user"
    ident: str  # stable id used to scope idempotency keys: "apikey:3", "user:42"
    scopes: frozenset[str] = frozenset()
    user_id: str | None = None
    name: str = ""  # an API key's name, for the audit log

    @property
    def actor(self) -> str:
        """Who acted, as the audit log writes it: ``apikey:3 ops-key`` or ``user:alice``."""
        return f"{self.ident} {self.name}" if self.name else self.ident

    def require_scope(self, *any_of: str) -> None:
        if self.kind != "api_key" or not self.scopes.intersection(any_of):
            raise Forbidden(f"This needs an API key with scope {' or '.join(any_of)}.")

    def require_user(self) -> str:
        if self.user_id is None:
            raise Forbidden("This needs a user token.")
        return self.user_id

    def require_owner_or_scope(self, user_id: str, *any_of: str) -> None:
        """A user may act on their own resources; platform keys with a scope on anyone's."""
        if self.kind == "api_key":
            self.require_scope(*any_of)
        elif self.user_id != user_id:
            raise NotFound()
