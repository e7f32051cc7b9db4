"""The in-memory book of one batch: running balances and everything staged for the commit.

Commands apply to the book in order. Each command either succeeds, and its postings and rows join
the batch, or fails, and the book rolls back exactly what that command did, so one overdraft fails
only itself. The book checks balances after each whole transaction (an account may receive and
send within one transaction) against the running balance, which already includes earlier commands
of the same batch, and refuses a balance past ``MAX_AMOUNT`` either way.

Every account row a batch touches is locked once, up front, in id order (``preload``); a command
that asks for an account it did not announce raises ``LateAccount`` and the writer locks the
whole set again in order, so writers never take row locks out of order.

A debit of a sharded account that may not go negative (revenue, fees) draws on this writer's shard
first and then on the other shards, so it succeeds whenever the sum over shards allows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from giftflow.errors import AmountLimitExceeded, InsufficientFunds
from giftflow.ledger.accounts import classify
from giftflow.ledger.model import (
    AccountKey,
    AccountRef,
    AccountState,
    Posting,
    ShardSet,
    StagedPosting,
    StagedTransaction,
)
from giftflow.money.amounts import MAX_AMOUNT, format_amount
from giftflow.money.assets import get_asset

if TYPE_CHECKING:  # the book itself runs no SQL; extensions get the batch's connection
    from sqlalchemy import Connection


class AccountSource(Protocol):
    """Loads (creating when missing) and locks account rows: one statement, in id order."""

    def lock(self, refs: Sequence[AccountRef], shard: int) -> list[AccountState]: ...


class LateAccount(Exception):
    """A command needs an account that was not locked with the batch: relock everything."""

    def __init__(self, ref: AccountRef) -> None:
        super().__init__(f"account {ref!r} was not announced before locking")
        self.ref = ref


class BatchExtension(Protocol):
    """A feature's own set-based writes, flushed inside the batch transaction after the ledger's.

    Commands stage rows with ``book.stage(extension, row)``; the writer calls ``flush`` once per
    batch with the rows of every command that succeeded, in command order. An extension lives in
    its feature's ``repository.py``: it is the one place that feature's batch SQL is written.
    """

    name: str

    def flush(self, conn: Connection, rows: list[Any]) -> None: ...


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
        # what key_for and debit_ref answer for (path, asset): pure for a given shard, and every
        # gift asks them a dozen times for the same few paths
        self._keys: dict[tuple[str, str], AccountKey] = {}
        self._debit_refs: dict[tuple[str, str], AccountKey | ShardSet] = {}
        self._shard_sets: set[ShardSet] = set()
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
        key = self._keys.get((path, asset))
        if key is None:
            key = AccountKey(path, asset, self.shard if classify(path).sharded else 0)
            self._keys[(path, asset)] = key
        return key

    def debit_ref(self, path: str, asset: str) -> AccountKey | ShardSet:
        """What to lock to debit ``path``: every shard if it is sharded and may not go negative."""
        ref = self._debit_refs.get((path, asset))
        if ref is None:
            spec = classify(path)
            if spec.sharded and not spec.may_go_negative:
                ref = ShardSet(path, asset)
            else:
                ref = self.key_for(path, asset)
            self._debit_refs[(path, asset)] = ref
        return ref

    def preload(self, refs: Iterable[AccountRef]) -> None:
        """Lock every announced account in one ordered statement (once per batch attempt)."""
        wanted = set(refs)
        if wanted:
            # the source locks in id order whatever the order of the refs
            for state in self._source.lock(list(wanted), self.shard):
                self.accounts[state.key] = state
                self._by_id[state.id] = state
        self._shard_sets.update(r for r in wanted if isinstance(r, ShardSet))

    def account(self, key: AccountKey) -> AccountState:
        state = self.accounts.get(key)
        if state is None:
            raise LateAccount(key)
        return state

    def account_by_id(self, account_id: int) -> AccountState:
        state = self._by_id.get(account_id)
        if state is None:
            raise LateAccount(account_id)
        return state

    def shards(self, path: str, asset: str) -> list[AccountState]:
        """Every locked shard row of a sharded account, this writer's first, then by id."""
        if ShardSet(path, asset) not in self._shard_sets:
            raise LateAccount(ShardSet(path, asset))
        rows = [s for k, s in self.accounts.items() if k.path == path and k.asset == asset]
        return sorted(rows, key=lambda s: (s.key.shard != self.shard, s.id))

    def balance(self, path: str, asset: str) -> int:
        key = self._keys.get((path, asset)) or self.key_for(path, asset)
        state = self.accounts.get(key)
        if state is None:
            raise LateAccount(key)
        return state.balance

    def next_id(self) -> int:
        """A fresh id from the ledger's id blocks, for a feature row written in this batch."""
        return self._next_id()

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
        policy_version: str,
        memo: str | None = None,
        meta: dict[str, Any] | None = None,
        reverses_id: int | None = None,
    ) -> StagedTransaction:
        """Stage one balanced transaction; refuse it whole if a guarded balance would go below 0
        or any balance past ``MAX_AMOUNT``. ``policy_version`` names the policy it was computed
        under (every transaction records one)."""
        staged: list[StagedPosting] = []
        for p in postings:
            if isinstance(p, Posting):
                credit = self.account(self.key_for(p.destination, p.asset))
                for debit, amount in self._debit_rows(p):
                    staged.append(StagedPosting(len(staged), p.asset, amount, debit, credit))
            else:
                debit, credit, asset, amount = p
                staged.append(StagedPosting(len(staged), asset, amount, debit, credit))
        touched: dict[int, AccountState] = {}  # in the order first touched: debit, then credit
        before: dict[int, int] = {}
        for sp in staged:
            debit, credit, amount = sp.debit, sp.credit, sp.amount
            if debit.id not in before:
                before[debit.id] = debit.balance
                touched[debit.id] = debit
            debit.balance -= amount
            if credit.id not in before:
                before[credit.id] = credit.balance
                touched[credit.id] = credit
            credit.balance += amount
        short = [a for a in touched.values() if not a.may_go_negative and a.balance < 0]
        over = [a for a in touched.values() if a.balance > MAX_AMOUNT or -a.balance > MAX_AMOUNT]
        if short or over:
            refusal: Exception
            if short:
                acc = short[0]
                refusal = _insufficient(acc.key, before[acc.id], before[acc.id] - acc.balance)
            else:
                refusal = AmountLimitExceeded(
                    f"This would take {over[0].key.path} past the maximum balance {MAX_AMOUNT}.",
                    account=over[0].key.path,
                    asset=over[0].key.asset,
                    maximum=MAX_AMOUNT,
                )
            for account_id, balance in before.items():
                touched[account_id].balance = balance
            raise refusal
        for account_id, balance in before.items():
            self._undo_balances.setdefault(account_id, balance)
        txn = StagedTransaction(
            id=self._next_id(),
            kind=kind,
            created_at=self.now,
            postings=staged,
            policy_version=policy_version,
            memo=memo,
            meta=meta,
            reverses_id=reverses_id,
        )
        self.transactions.append(txn)
        return txn

    def _debit_rows(self, p: Posting) -> list[tuple[AccountState, int]]:
        """Which rows a posting debits: its own shard, or several shards of a guarded account."""
        ref = self.debit_ref(p.source, p.asset)
        if not isinstance(ref, ShardSet):
            return [(self.account(ref), p.amount)]
        rows = self.shards(p.source, p.asset)
        if rows and rows[0].key.shard == self.shard and rows[0].balance >= p.amount:
            return [(rows[0], p.amount)]  # the common case: this writer's shard suffices
        total = sum(max(r.balance, 0) for r in rows)
        if total < p.amount:
            raise _insufficient(AccountKey(p.source, p.asset), total, p.amount)
        out: list[tuple[AccountState, int]] = []
        remaining = p.amount
        for row in rows:
            take = min(max(row.balance, 0), remaining)
            if take:
                out.append((row, take))
                remaining -= take
            if not remaining:
                break
        return out

    def changed_accounts(self) -> list[AccountState]:
        return [a for a in self.accounts.values() if a.balance != a.committed_balance]


def _insufficient(key: AccountKey, available: int, required: int) -> InsufficientFunds:
    unit = get_asset(key.asset)
    return InsufficientFunds(
        f"{key.path} holds {format_amount(available, unit)} {unit.code}; "
        f"this needs {format_amount(required, unit)}.",
        account=key.path,
        asset=unit.code,
        available=available,
        required=required,
    )
