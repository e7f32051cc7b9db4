"""The writer's SQL: account locking, set-based writes, id blocks and stored idempotency outcomes.

Account rows are created with ``INSERT … ON CONFLICT DO NOTHING`` and then every row a batch
needs is locked with one ``SELECT … FOR UPDATE`` in id order (a fixed order, so two writers cannot
deadlock on them). A process-wide cache maps account keys to ids, so a warm batch locks its
accounts in one statement. Reads that commands make inside a batch live in ``batch_repository``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from giftflow.db import pg_pipeline
from giftflow.jsontext import dumps_sorted
from giftflow.ledger.accounts import classify
from giftflow.ledger.book import Book
from giftflow.ledger.model import AccountKey, AccountRef, AccountState, ShardSet
from giftflow.ledger.prefetch import Read
from giftflow.ledger.prefetch import run as run_reads
from giftflow.schema import accounts, id_blocks, idempotency_keys, postings, transactions, users

_TXN_TYPES = {
    "id": "bigint",
    "kind": "text",
    "reverses_id": "bigint",
    "policy_version": "text",
    "memo": "text",
    "meta": "text",
}
_POSTING_TYPES = {
    "txn_id": "bigint",
    "seq": "smallint",
    "asset": "text",
    "amount": "bigint",
    "debit_account_id": "bigint",
    "credit_account_id": "bigint",
}
_KEY_TYPES = {
    "scope": "text",
    "key": "text",
    "request_hash": "text",
    "status_code": "smallint",
    "response": "text",
}


# what identifies an account row and its class, as selected when locking
_IDENTITY = (
    accounts.c.id,
    accounts.c.path,
    accounts.c.asset,
    accounts.c.shard,
    accounts.c.may_go_negative,
)


# A join, not ``id = ANY(:ids)``: under a generic plan made while the table was small the
# latter became a sequential scan testing every row against the whole array (auto_explain:
# 140-575 ms per batch of 1,000-4,000 accounts); a join on unnest is fine under any plan.
_LOCK_PG = text(
    "SELECT a.id, a.path, a.asset, a.shard, a.may_go_negative, a.balance FROM accounts a "
    "JOIN unnest(CAST(:ids AS bigint[])) AS w(id) ON a.id = w.id ORDER BY a.id FOR UPDATE OF a"
)


_IDENTITY_PG = text("SELECT txid_current() AS txid, pg_backend_pid() AS pid")
_OUTCOMES_PG = text(
    "SELECT k.scope, k.key, k.request_hash, k.status_code, k.response "
    "FROM idempotency_keys k JOIN unnest(CAST(:scopes AS text[]), "
    "CAST(:keys AS text[])) AS w(scope, key) "
    "ON k.scope = w.scope AND k.key = w.key"
)


# the writer's array inserts, by table (their columns never change)
_ARRAY_INSERTS: dict[str, Any] = {}


class AccountCache:
    """key → (id, may_go_negative), shared by batches; filled only from committed rows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: dict[AccountKey, tuple[int, bool]] = {}

    def get(self, key: AccountKey) -> tuple[int, bool] | None:
        return self._ids.get(key)

    def update(self, entries: dict[AccountKey, tuple[int, bool]]) -> None:
        with self._lock:
            self._ids.update(entries)


@dataclass(slots=True)
class StoredOutcome:
    request_hash: str
    status_code: int
    response: dict[str, Any]


class WriterRepository:
    """Queries of one batch transaction. Implements the book's ``AccountSource``."""

    def __init__(self, conn: Connection, cache: AccountCache, now: datetime) -> None:
        self.conn = conn
        self.cache = cache
        self.now = now
        self.is_pg = conn.dialect.name == "postgresql"
        self.new_cache_entries: dict[AccountKey, tuple[int, bool]] = {}
        # keys in hand for ids about to be locked (``lock``): reused, not built again per row
        self._known_keys: dict[int, AccountKey] = {}

    # --- accounts ---------------------------------------------------------------------------
    def _insert(self) -> Any:
        return (postgresql.insert if self.is_pg else sqlite.insert)(accounts)

    def lock(self, refs: Sequence[AccountRef], shard: int) -> list[AccountState]:
        """Create what is missing, then lock every row the refs name in one ordered statement.

        A ``ShardSet`` names every existing shard row of an account plus this writer's own.
        """
        keys: list[AccountKey] = []
        sets: list[ShardSet] = []
        ids: list[int] = []
        for r in refs:
            if isinstance(r, AccountKey):
                keys.append(r)
            elif isinstance(r, ShardSet):
                sets.append(r)
            else:
                ids.append(r)
        keys += [AccountKey(s.path, s.asset, shard) for s in sets]
        self._create(keys)
        cached = self.cache.get
        known = self._known_keys
        for k in keys:
            entry = cached(k) or self.new_cache_entries[k]
            ids.append(entry[0])
            known[entry[0]] = k
        if sets:
            ids += self._shard_ids(sets)
        return list(self.lock_ids(ids).values())

    def _create(self, keys: Sequence[AccountKey]) -> None:
        unknown = sorted(
            {k for k in keys if self.cache.get(k) is None and k not in self.new_cache_entries}
        )
        if not unknown:
            return
        rows = []
        for k in unknown:
            spec = classify(k.path)
            rows.append(
                {
                    "path": k.path,
                    "asset": k.asset,
                    "shard": k.shard,
                    "owner_id": spec.owner_id,
                    "may_go_negative": spec.may_go_negative,
                    "balance": 0,
                    "created_at": self.now,
                }
            )
        self.conn.execute(self._insert().on_conflict_do_nothing(), rows)
        found = self.conn.execute(
            select(*_IDENTITY).where(
                tuple_(accounts.c.path, accounts.c.asset, accounts.c.shard).in_(
                    [(k.path, k.asset, k.shard) for k in unknown]
                )
            )
        )
        for r in found:
            self.new_cache_entries[AccountKey(r.path, r.asset, r.shard)] = (
                r.id,
                bool(r.may_go_negative),
            )

    def _shard_ids(self, sets: Sequence[ShardSet]) -> list[int]:
        rows = self.conn.execute(
            select(accounts.c.id).where(
                tuple_(accounts.c.path, accounts.c.asset).in_([(s.path, s.asset) for s in sets])
            )
        )
        return [r.id for r in rows]

    def missing_owners(self, refs: Iterable[AccountRef]) -> set[str]:
        """Owners named by account keys this process has never seen that are not users.

        A known account row proves its owner existed when it was created, so a warm batch asks
        nothing; only first uses of an account look the owner up.
        """
        owners = set()
        for r in refs:
            if isinstance(r, AccountKey) and self.cache.get(r) is None:
                owner = classify(r.path).owner_id
                if owner is not None:
                    owners.add(owner)
        if not owners:
            return set()
        found = self.conn.execute(select(users.c.id).where(users.c.id.in_(sorted(owners))))
        return owners - {r.id for r in found}

    def lock_ids(self, ids: Sequence[int]) -> dict[int, AccountState]:
        """Lock account rows in id order (so writers never deadlock) and read their balances."""
        wanted = sorted(set(ids))
        if self.is_pg:
            # one array parameter instead of an expanded IN list of a thousand
            rows = self.conn.execute(_LOCK_PG, {"ids": wanted})
        else:
            rows = self.conn.execute(
                select(*_IDENTITY, accounts.c.balance)
                .where(accounts.c.id.in_(wanted))
                .order_by(accounts.c.id)
            )
        out: dict[int, AccountState] = {}
        known = self._known_keys
        cached = self.cache.get
        for id_, path, asset, shard, negative, balance in rows:
            key = known.get(id_)
            if key is None or key.path != path or key.asset != asset or key.shard != shard:
                key = AccountKey(path, asset, shard)
            may_go_negative = bool(negative)
            out[id_] = AccountState(id_, key, may_go_negative, balance, balance)
            if cached(key) is None:
                self.new_cache_entries[key] = (id_, may_go_negative)
        return out

    # --- idempotency ------------------------------------------------------------------------
    def start(
        self, keys: Iterable[tuple[str, str]]
    ) -> tuple[tuple[int, int] | None, dict[tuple[str, str], StoredOutcome]]:
        """The batch's first round trip: its transaction's identity (PostgreSQL, to settle an
        unknown COMMIT) and the stored outcomes of its idempotency keys. On PostgreSQL both go
        with the transaction's BEGIN in one pipeline."""
        if not self.is_pg:
            return None, self.load_outcomes(keys)
        wanted = list(set(keys))
        found: dict[str, Any] = {}
        reads = [Read(_IDENTITY_PG, {}, lambda rows: found.update(identity=rows[0]))]
        if wanted:
            params = {"scopes": [w[0] for w in wanted], "keys": [w[1] for w in wanted]}
            reads.append(Read(_OUTCOMES_PG, params, lambda rows: found.update(outcomes=rows)))
        run_reads(self.conn, reads)
        identity = found["identity"]
        stored = {
            (r["scope"], r["key"]): StoredOutcome(
                r["request_hash"], r["status_code"], json.loads(r["response"])
            )
            for r in found.get("outcomes", ())
        }
        return (int(identity["txid"]), int(identity["pid"])), stored

    def load_outcomes(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredOutcome]:
        wanted = list(set(keys))
        if not wanted:
            return {}
        if self.is_pg:
            found = self.conn.execute(
                _OUTCOMES_PG,
                {"scopes": [w[0] for w in wanted], "keys": [w[1] for w in wanted]},
            )
            return {
                (r.scope, r.key): StoredOutcome(
                    r.request_hash, r.status_code, json.loads(r.response)
                )
                for r in found
            }
        rows = self.conn.execute(
            select(
                idempotency_keys.c.scope,
                idempotency_keys.c.key,
                idempotency_keys.c.request_hash,
                idempotency_keys.c.status_code,
                idempotency_keys.c.response,
            ).where(tuple_(idempotency_keys.c.scope, idempotency_keys.c.key).in_(wanted))
        )
        return {
            (r.scope, r.key): StoredOutcome(r.request_hash, r.status_code, json.loads(r.response))
            for r in rows
        }

    # --- writing the batch ------------------------------------------------------------------
    def write(self, book: Book, outcomes: list[dict[str, Any]]) -> None:
        """Everything the batch staged, set-based: transactions, postings, balances, keys.

        On PostgreSQL each table gets one statement over arrays (``unnest``), and all of them —
        the ledger's and the extensions' — go to the server in one pipeline: none of them reads a
        result, so the batch waits for one round trip instead of a dozen (an error in any of them
        is raised when the pipeline ends, before COMMIT, and fails the batch as ever). On SQLite
        the driver's executemany is already a tight C loop in-process.
        """
        if not self.is_pg:
            self._write(book, outcomes)
            return
        with pg_pipeline(self.conn):
            self._write(book, outcomes)

    def _write(self, book: Book, outcomes: list[dict[str, Any]]) -> None:
        txns = book.transactions
        txn_rows: dict[str, list[Any]] = {
            "id": [t.id for t in txns],
            "kind": [t.kind for t in txns],
            "reverses_id": [t.reverses_id for t in txns],
            "policy_version": [t.policy_version for t in txns],
            "memo": [t.memo for t in txns],
            "meta": [dumps_sorted(t.meta) if t.meta else None for t in txns],
        }
        plist = [(t.id, p) for t in txns for p in t.postings]
        posting_rows: dict[str, list[Any]] = {
            "txn_id": [tid for tid, _ in plist],
            "seq": [p.seq for _, p in plist],
            "asset": [p.asset for _, p in plist],
            "amount": [p.amount for _, p in plist],
            "debit_account_id": [p.debit.id for _, p in plist],
            "credit_account_id": [p.credit.id for _, p in plist],
        }
        changed = sorted(book.changed_accounts(), key=lambda a: a.id)
        key_rows = {
            c: [o[c] for o in outcomes]
            for c in ("scope", "key", "request_hash", "status_code", "response")
        }
        write = self._write_pg if self.is_pg else self._write_many
        if txns:
            write(transactions, txn_rows, len(txns), _TXN_TYPES)
            write(postings, posting_rows, len(plist), _POSTING_TYPES)
        if changed:
            # one UPDATE per touched balance per batch, however many commands moved it
            self._update_balances([a.id for a in changed], [a.balance for a in changed])
        if outcomes:
            write(idempotency_keys, key_rows, len(outcomes), _KEY_TYPES)
        for extension, rows in book.staged.values():
            if rows:
                extension.flush(self.conn, rows)

    def _write_many(
        self, table: Any, columns: dict[str, list[Any]], count: int, _: dict[str, str]
    ) -> None:
        names = list(columns)
        rows = [{**{n: columns[n][i] for n in names}, "created_at": self.now} for i in range(count)]
        self.conn.execute(table.insert(), rows)

    def _write_pg(
        self, table: Any, columns: dict[str, list[Any]], count: int, types: dict[str, str]
    ) -> None:
        statement = _ARRAY_INSERTS.get(table.name)
        if statement is None:
            names = list(columns)
            arrays = ", ".join(f"CAST(:{n} AS {types[n]}[])" for n in names)
            statement = _ARRAY_INSERTS[table.name] = text(
                f"INSERT INTO {table.name} ({', '.join(names)}, created_at) "
                f"SELECT *, CAST(:created_at AS timestamptz) FROM unnest({arrays})"
            )
        self.conn.execute(statement, {**columns, "created_at": self.now})

    def _update_balances(self, ids: list[int], balances: list[int]) -> None:
        if self.is_pg:
            self.conn.execute(
                text(
                    "UPDATE accounts SET balance = v.b FROM unnest(CAST(:ids AS bigint[]), "
                    "CAST(:bals AS bigint[])) AS v(id, b) WHERE accounts.id = v.id"
                ),
                {"ids": ids, "bals": balances},
            )
        else:
            self.conn.execute(
                update(accounts)
                .where(accounts.c.id == bindparam("b_id"))
                .values(balance=bindparam("b_bal")),
                [{"b_id": i, "b_bal": b} for i, b in zip(ids, balances, strict=True)],
            )

    def transaction_status(self, txid: int) -> str | None:
        """``committed``, ``aborted``, ``in progress`` or None (unknown) for a PostgreSQL txid."""
        found = self.conn.execute(text("SELECT txid_status(:x)"), {"x": txid}).scalar()
        return str(found) if found is not None else None

    def terminate_backend(self, pid: int) -> None:
        self.conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})

    def transaction_exists(self, txn_id: int) -> bool:
        found = self.conn.execute(select(transactions.c.id).where(transactions.c.id == txn_id))
        return found.first() is not None

    def allocate_ids(self, block: int) -> int:
        """Reserve ``block`` ids; returns the first. Runs in its own short transaction."""
        row = self.conn.execute(
            update(id_blocks)
            .where(id_blocks.c.name == "ledger")
            .values(next_value=id_blocks.c.next_value + block)
            .returning(id_blocks.c.next_value)
        ).one()
        return int(row[0]) - block
