"""The two queries readiness needs."""

from __future__ import annotations

from sqlalchemy import Engine, text

from giftflow.db import migration_status


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def migration_check(url: str, engine: Engine) -> str:
    current, head = migration_status(url, engine)
    return "ok" if current == head else f"at {current}, head is {head}"
