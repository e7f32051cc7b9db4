"""Response models of the audit log endpoint."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class AuditEntryOut(BaseModel):
    id: str
    object: str = "audit_entry"
    at: str
    actor: str = Field(
        description="The credential: `apikey:3 ops-key` (an admin console "
        "session speaks as the key it was opened with)."
    )
    action: str = Field(description="Declared (`withdrawal.approve`), else `METHOD /route`.")
    target: str | None = Field(description="`withdrawal:12`, `user:alice`, …")
    method: str
    path: str
    status_code: int
    request: Any = Field(description="The JSON body sent, secret-looking fields redacted.")
    before: Any = Field(description="The resource before the action, as the route read it.")
    after: Any = Field(description="The JSON answer.")


class AuditPage(BaseModel):
    object: str = "list"
    data: list[AuditEntryOut]
    next_cursor: str | None
