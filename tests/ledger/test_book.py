"""The batch book on its own, without a database: running balances, per-command rollback,
shard spreading, balance limits and the lock-everything-first rule."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from giftflow.errors import AmountLimitExceeded, InsufficientFunds
from giftflow.ledger.accounts import classify
from giftflow.ledger.book import Book, LateAccount
from giftflow.ledger.model import AccountKey, AccountRef, AccountState, Posting, ShardSet
from giftflow.money.amounts import MAX_AMOUNT

POLICY = "standard@1"


class MemorySource:
    """Accounts in a dict; what the repository does against the database."""

    def __init__(self) -> None:
        self.rows: dict[AccountKey, AccountState] = {}
        self.ids = itertools.count(1)
        self.lock_calls: list[list[AccountRef]] = []

    def row(self, key: AccountKey, balance: int = 0) -> AccountState:
        if key not in self.rows:
            spec = classify(key.path)
            self.rows[key] = AccountState(
                next(self.ids), key, spec.may_go_negative, balance, balance
            )
        return self.rows[key]

    def lock(self, refs: Sequence[AccountRef], shard: int) -> list[AccountState]:
        self.lock_calls.append(list(refs))
        out = []
        for r in refs:
            if isinstance(r, AccountKey):
                out.append(self.row(r))
            elif isinstance(r, ShardSet):
                out.append(self.row(AccountKey(r.path, r.asset, shard)))
                out += [s for k, s in self.rows.items() if (k.path, k.asset) == (r.path, r.asset)]
            else:
                out += [s for s in self.rows.values() if s.id == r]
        return out


def new_book(*paths: str, shard: int = 3, source: MemorySource | None = None) -> Book:
    counter = itertools.count(100)
    book = Book(
        source or MemorySource(),
        shard=shard,
        now=datetime(2026, 1, 1, tzinfo=UTC),
        next_id=lambda: next(counter),
    )
    book.preload(
        ref for path in paths for ref in (book.debit_ref(path, "COIN"), book.key_for(path, "COIN"))
    )
    return book


def test_running_balance_refuses_second_overdraft_only() -> None:
    book = new_book("platform:equity:grants", "user:a:coins", "platform:revenue:gifts")
    book.begin_command()
    book.post(
        "grant",
        [Posting("platform:equity:grants", "user:a:coins", "COIN", 10)],
        policy_version=POLICY,
    )
    book.begin_command()
    book.post(
        "spend",
        [Posting("user:a:coins", "platform:revenue:gifts", "COIN", 7)],
        policy_version=POLICY,
    )
    book.begin_command()
    with pytest.raises(InsufficientFunds) as exc:
        book.post(
            "spend",
            [Posting("user:a:coins", "platform:revenue:gifts", "COIN", 7)],
            policy_version=POLICY,
        )
    book.rollback_command()
    assert exc.value.details == {
        "account": "user:a:coins",
        "asset": "COIN",
        "available": 3,
        "required": 7,
    }
    assert book.balance("user:a:coins", "COIN") == 3
    assert len(book.transactions) == 2
    assert {t.policy_version for t in book.transactions} == {POLICY}


def test_rollback_undoes_a_whole_command() -> None:
    book = new_book("platform:equity:grants", "user:a:coins", "platform:revenue:gifts")
    book.begin_command()
    book.post(
        "grant",
        [Posting("platform:equity:grants", "user:a:coins", "COIN", 5)],
        policy_version=POLICY,
    )
    book.begin_command()
    book.post(
        "spend",
        [Posting("user:a:coins", "platform:revenue:gifts", "COIN", 5)],
        policy_version=POLICY,
    )
    book.remember("x", 1)
    book.rollback_command()
    assert book.balance("user:a:coins", "COIN") == 5
    assert book.balance("platform:revenue:gifts", "COIN") == 0
    assert "x" not in book.memo and len(book.transactions) == 1


def test_account_may_receive_and_send_within_one_transaction() -> None:
    book = new_book("platform:equity:grants", "user:a:coins", "platform:revenue:gifts")
    book.begin_command()
    book.post(
        "relay",
        [
            Posting("platform:equity:grants", "user:a:coins", "COIN", 4),
            Posting("user:a:coins", "platform:revenue:gifts", "COIN", 4),
        ],
        policy_version=POLICY,
    )
    assert book.balance("platform:revenue:gifts", "COIN") == 4


def test_hot_platform_accounts_use_the_writers_shard() -> None:
    book = new_book(shard=3)
    assert book.key_for("platform:revenue:gifts", "COIN") == AccountKey(
        "platform:revenue:gifts", "COIN", 3
    )
    assert book.key_for("user:a:coins", "COIN").shard == 0
    # a guarded sharded account is debited from every shard; others from their own row
    assert book.debit_ref("platform:revenue:gifts", "COIN") == ShardSet(
        "platform:revenue:gifts", "COIN"
    )
    assert book.debit_ref("platform:coins:issued", "COIN") == AccountKey(
        "platform:coins:issued", "COIN", 3
    )


def test_debit_of_a_sharded_account_draws_on_other_shards() -> None:
    """Revenue earned by writers 5 and 9 is refundable by writer 3 (restarted, empty shard)."""
    source = MemorySource()
    source.row(AccountKey("platform:revenue:gifts", "COIN", 5), 30)
    source.row(AccountKey("platform:revenue:gifts", "COIN", 9), 50)
    book = new_book("platform:revenue:gifts", "user:a:coins", shard=3, source=source)
    book.begin_command()
    txn = book.post(
        "refund",
        [Posting("platform:revenue:gifts", "user:a:coins", "COIN", 70)],
        policy_version=POLICY,
    )
    taken = sorted((p.debit.key.shard, p.amount) for p in txn.postings)
    assert taken == [(5, 30), (9, 40)]
    assert book.balance("user:a:coins", "COIN") == 70
    assert sum(s.balance for s in book.shards("platform:revenue:gifts", "COIN")) == 10
    book.begin_command()
    with pytest.raises(InsufficientFunds) as exc:
        book.post(
            "refund",
            [Posting("platform:revenue:gifts", "user:a:coins", "COIN", 11)],
            policy_version=POLICY,
        )
    assert exc.value.details["available"] == 10


def test_an_account_not_locked_up_front_is_refused_not_locked_late() -> None:
    source = MemorySource()
    book = new_book("user:a:coins", source=source)
    book.begin_command()
    with pytest.raises(LateAccount) as exc:
        book.post(
            "grant",
            [Posting("platform:equity:grants", "user:a:coins", "COIN", 1)],
            policy_version=POLICY,
        )
    assert exc.value.ref == AccountKey("platform:equity:grants", "COIN")
    assert len(source.lock_calls) == 1  # the book itself never locked anything more


def test_balance_past_the_maximum_is_refused() -> None:
    book = new_book("platform:equity:grants", "user:a:coins")
    book.begin_command()
    book.post(
        "grant",
        [Posting("platform:equity:grants", "user:a:coins", "COIN", MAX_AMOUNT)],
        policy_version=POLICY,
    )
    book.begin_command()
    with pytest.raises(AmountLimitExceeded):
        book.post(
            "grant",
            [Posting("platform:equity:grants", "user:a:coins", "COIN", 1)],
            policy_version=POLICY,
        )
    assert book.balance("user:a:coins", "COIN") == MAX_AMOUNT
