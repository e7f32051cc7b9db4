"""Policy versions stored in the database are immutable, and the book picks the active one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from giftflow.db import make_engine, unit_of_work
from giftflow.errors import InvalidPolicy
from giftflow.money.policy import load_profile
from giftflow.money.repository import load_policy_book, store_policy, stored_versions

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Engine:
    return make_engine(database_url, pool_size=1)


def test_versions_are_stored_once_and_never_rewritten(engine: Engine) -> None:
    v1 = load_profile("standard")
    v2 = v1.model_copy(
        update={
            "version": 2,
            "effective_from": datetime(2026, 6, 1, tzinfo=UTC),
            "refund_window_days": 7,
        }
    )
    with unit_of_work(engine) as conn:
        assert store_policy(conn, v1, NOW) is True
        assert store_policy(conn, v1, NOW) is False
        assert store_policy(conn, v2, NOW) is True
    changed = v1.model_copy(update={"refund_window_days": 30})
    with pytest.raises(InvalidPolicy), unit_of_work(engine) as conn:
        store_policy(conn, changed, NOW)
    with engine.connect() as conn:
        book = load_policy_book(conn, "standard")
        assert [(p, v) for p, v, _ in stored_versions(conn)] == [("standard", 1), ("standard", 2)]
    assert book is not None
    assert book.active_at(datetime(2026, 5, 1, tzinfo=UTC)).refund_window_days == 14
    assert book.active_at(datetime(2026, 7, 1, tzinfo=UTC)).refund_window_days == 7
    engine.dispose()
