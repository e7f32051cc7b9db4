"""The in-memory book of one batch: running balances and everything staged for the commit.

Commands apply to the book in order. Each command either succeeds, and its postings and rows join
the batch, or fails, and the book rolls back exactly what that command did, so one overdraft fails
only itself. The book checks balances after each whole transaction (an account may receive and
send within one transaction) against the running balance, which already includes earlier commands
of the same batch. Account rows are loaded, created and locked through an ``AccountSource``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from giftflow.errors import InsufficientFunds
from giftflow.ledger.accounts import classify
from giftflow.ledger.model import (
    AccountKey,
    AccountState,
    Posting,
    StagedPosting,
    StagedTransaction,
)
from giftflow.money.amounts import format_amount
from giftflow.money.assets import get_asset


class AccountSource(Protocol):
    """Loads (creating when missing) and locks account rows for the current batch."""

    def lock(self, keys: Sequence[AccountKey]) -> dict[AccountKey, AccountState]: ...

    def lock_ids(self, ids: Sequence[int]) -> dict[int, AccountState]: ...


class BatchExtension(Protocol):
    """A feature's own set-based writes, flushed inside the batch transaction after the ledger's.

    Commands stage rows with ``book.stage(extension, row)``; the writer calls ``flush`` once per
    batch with the rows of every command that succeeded, in command order.
    """

    name: str

    def flush(self, conn: Any, rows: list[Any]) -> None: ...


class Book:
    def __init__(
        self, source: AccountSource, *, shard: int, now: datetime, next_id: Callable[[], int]
    ) -> None:
        self._source = source
        self.shard = shard
        self.now = now
        self._next_id = next_id
        self.accounts: dict[AccountKey, AccountState] = {}
        self._by_id: dict[int, AccountState] = {}
        self.transactions: list[StagedTransaction] = []
        self.staged: dict[str, tuple[BatchExtension, list[Any]]] = {}
        self.memo: dict[Any, Any] = {}
        # per-command journal, so a failing command is undone exactly
        self._undo_balances: dict[int, int] = {}
        self._cmd_txns = 0
        self._cmd_rows: list[tuple[str, int]] = []
        self._cmd_memo: list[tuple[Any, Any, bool]] = []

    # --- accounts ---------------------------------------------------------------------------
    def key_for(self, path: str, asset: str) -> AccountKey:
        """The balance row a command should post to: this writer's shard for sharded classes."""
        return AccountKey(path, asset, self.shard if classify(path).sharded else 0)

    def preload(self, keys: Iterable[AccountKey]) -> None:
        missing = sorted({k for k in keys if k not in self.accounts})
        if missing:
            self._remember(self._source.lock(missing).values())

    def account(self, key: AccountKey) -> AccountState:
        state = self.accounts.get(key)
        if state is None:
            self.preload([key])
            state = self.accounts[key]
        return state

    def account_by_id(self, account_id: int) -> AccountState:
        state = self._by_id.get(account_id)
        if state is None:
            self._remember(self._source.lock_ids([account_id]).values())
            state = self._by_id[account_id]
        return state

    def _remember(self, states: Iterable[AccountState]) -> None:
        for s in states:
            self.accounts[s.key] = s
            self._by_id[s.id] = s

    def balance(self, path: str, asset: str) -> int:
        return self.account(self.key_for(path, asset)).balance

    # --- commands ---------------------------------------------------------------------------
    def begin_command(self) -> None:
        self._undo_balances = {}
        self._cmd_txns = len(self.transactions)
        self._cmd_rows = []
        self._cmd_memo = []

    def rollback_command(self) -> None:
        for account_id, balance in self._undo_balances.items():
            self._by_id[account_id].balance = balance
        del self.transactions[self._cmd_txns :]
        for name, count in reversed(self._cmd_rows):
            del self.staged[name][1][-count:]
        for key, old, existed in reversed(self._cmd_memo):
            if existed:
                self.memo[key] = old
            else:
                self.memo.pop(key, None)
        self.begin_command()

    def remember(self, key: Any, value: Any) -> None:
        """Batch-local memory (e.g. 'pending transfer 12 is now posted'), undone on failure."""
        self._cmd_memo.append((key, self.memo.get(key), key in self.memo))
        self.memo[key] = value

    def stage(self, extension: BatchExtension, row: Any) -> None:
        entry = self.staged.setdefault(extension.name, (extension, []))
        entry[1].append(row)
        self._cmd_rows.append((extension.name, 1))

    # --- postings ---------------------------------------------------------------------------
    def post(
        self,
        kind: str,
        postings: Sequence[Posting | tuple[AccountState, AccountState, str, int]],
        *,
        memo: str | None = None,
        meta: dict[str, Any] | None = None,
        reverses_id: int | None = None,
        policy_version: str | None = None,
    ) -> StagedTransaction:
        """Stage one balanced transaction; refuse it whole if a guarded balance would go below 0."""
        staged: list[StagedPosting] = []
        for seq, p in enumerate(postings):
            if isinstance(p, Posting):
                debit = self.account(self.key_for(p.source, p.asset))
                credit = self.account(self.key_for(p.destination, p.asset))
                asset, amount = p.asset, p.amount
            else:
                debit, credit, asset, amount = p
            staged.append(StagedPosting(seq, asset, amount, debit, credit))
        touched: dict[int, AccountState] = {}
        before: dict[int, int] = {}
        for sp in staged:
            for acc, delta in ((sp.debit, -sp.amount), (sp.credit, sp.amount)):
                before.setdefault(acc.id, acc.balance)
                acc.balance += delta
                touched[acc.id] = acc
        short = [a for a in touched.values() if not a.may_go_negative and a.balance < 0]
        if short:
            acc = short[0]
            unit = get_asset(acc.key.asset)
            available, required = before[acc.id], before[acc.id] - acc.balance
            for account_id, balance in before.items():
                touched[account_id].balance = balance
            raise InsufficientFunds(
                f"{acc.key.path} holds {format_amount(available, unit)} {unit.code}; "
                f"this needs {format_amount(required, unit)}.",
                account=acc.key.path,
                asset=unit.code,
                available=available,
                required=required,
            )
        for account_id, balance in before.items():
            self._undo_balances.setdefault(account_id, balance)
        txn = StagedTransaction(
            id=self._next_id(),
            kind=kind,
            created_at=self.now,
            postings=staged,
            memo=memo,
            meta=meta,
            reverses_id=reverses_id,
            policy_version=policy_version,
        )
        self.transactions.append(txn)
        return txn

    def changed_accounts(self) -> list[AccountState]:
        return [a for a in self.accounts.values() if a.balance != a.committed_balance]
