"""The audit log of admin actions: who, what, when, before and after (append-only table).

A route declares what it does with ``Depends(audited(action, target, before))``; the audit
middleware writes one row per admin request that changes something, with the response as
``after``. Requests that declare nothing are still written (action = method and route).

- ``intent.py``: ``audited`` (the dependency) and ``AuditIntent`` (what it leaves in the scope);
- ``middleware.py``: ``AuditLog`` and ``install_audit``;
- ``loaders.py``: ready-made ``before`` loaders (a table's row, a transaction, balances);
- ``values.py``: redaction of secrets and JSON conversion;
- ``repository.py``: the table's INSERT and its filtered list.
"""

from __future__ import annotations

from giftflow.audit.intent import BeforeLoader, audit_target, audited
from giftflow.audit.middleware import install_audit

__all__ = ["BeforeLoader", "audit_target", "audited", "install_audit"]
