"""Readiness: the database answers, migrations are current and the ledger writer runs."""

from __future__ import annotations

import time

from giftflow.context import AppContext
from giftflow.db import is_sqlite
from giftflow.operations.repository import migration_check, ping


def readiness(ctx: AppContext) -> tuple[bool, dict[str, object]]:
    """(ready, body): every check by name, ``ok`` or why not."""
    checks: dict[str, str] = {}
    started = time.perf_counter()
    try:
        ping(ctx.engine)
        checks["database"] = "ok"
        checks["migrations"] = migration_check(ctx.settings.database_url, ctx.engine)
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["writer"] = "ok" if ctx.writer.running else "stopped"
    ready = all(v == "ok" for v in checks.values())
    return ready, {
        "status": "ready" if ready else "not_ready",
        "checks": checks,
        "backend": "sqlite" if is_sqlite(ctx.settings.database_url) else "postgresql",
        "elapsed_ms": round((time.perf_counter() - started) * 1000),
    }
