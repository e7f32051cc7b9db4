"""The batch book on its own, without a database: running balances and per-command rollback."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from giftflow.errors import InsufficientFunds
from giftflow.ledger.accounts import classify
from giftflow.ledger.book import Book
from giftflow.ledger.model import AccountKey, AccountState, Posting


class MemorySource:
    """Accounts in a dict; what the repository does against the database."""

    def __init__(self) -> None:
        self.rows: dict[AccountKey, AccountState] = {}
        self.ids = itertools.count(1)

    def lock(self, keys: Sequence[AccountKey]) -> dict[AccountKey, AccountState]:
        for k in keys:
            if k not in self.rows:
                spec = classify(k.path)
                self.rows[k] = AccountState(next(self.ids), k, spec.may_go_negative, 0, 0)
        return {k: self.rows[k] for k in keys}

    def lock_ids(self, ids: Sequence[int]) -> dict[int, AccountState]:
        return {s.id: s for s in self.rows.values() if s.id in ids}


def new_book(shard: int = 3) -> Book:
    counter = itertools.count(100)
    return Book(
        MemorySource(),
        shard=shard,
        now=datetime(2026, 1, 1, tzinfo=UTC),
        next_id=lambda: next(counter),
    )


def test_running_balance_refuses_second_overdraft_only() -> None:
    book = new_book()
    book.begin_command()
    book.post("grant", [Posting("platform:equity:grants", "user:a:coins", "COIN", 10)])
    book.begin_command()
    book.post("spend", [Posting("user:a:coins", "platform:revenue:gifts", "COIN", 7)])
    book.begin_command()
    with pytest.raises(InsufficientFunds) as exc:
        book.post("spend", [Posting("user:a:coins", "platform:revenue:gifts", "COIN", 7)])
    book.rollback_command()
    assert exc.value.details == {
        "account": "user:a:coins",
        "asset": "COIN",
        "available": 3,
        "required": 7,
    }
    assert book.balance("user:a:coins", "COIN") == 3
    assert len(book.transactions) == 2


def test_rollback_undoes_a_whole_command() -> None:
    book = new_book()
    book.begin_command()
    book.post("grant", [Posting("platform:equity:grants", "user:a:coins", "COIN", 5)])
    book.begin_command()
    book.post("spend", [Posting("user:a:coins", "user:b:coins", "COIN", 5)])
    book.remember("x", 1)
    book.rollback_command()
    assert book.balance("user:a:coins", "COIN") == 5
    assert book.balance("user:b:coins", "COIN") == 0
    assert "x" not in book.memo and len(book.transactions) == 1


def test_account_may_receive_and_send_within_one_transaction() -> None:
    book = new_book()
    book.begin_command()
    book.post(
        "relay",
        [
            Posting("platform:equity:grants", "user:a:coins", "COIN", 4),
            Posting("user:a:coins", "user:b:coins", "COIN", 4),
        ],
    )
    assert book.balance("user:b:coins", "COIN") == 4


def test_hot_platform_accounts_use_the_writers_shard() -> None:
    book = new_book(shard=3)
    assert book.key_for("platform:revenue:gifts", "COIN") == AccountKey(
        "platform:revenue:gifts", "COIN", 3
    )
    assert book.key_for("user:a:coins", "COIN").shard == 0
