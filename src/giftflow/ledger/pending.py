"""Two-phase pending transfers: value reserved now, posted to its destination or voided later.

Creating one moves the amount from the source into this writer's shard of the holding account, so
it cannot be spent twice; posting moves it on to the destination, voiding moves it back. Expiry
voids a pending transfer that is still pending, unless it was marked ``submitted`` (handed to an
outside party such as a payout provider), which expiry never touches.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from giftflow.errors import (
    InvalidAmount,
    NotFound,
    PendingTransferExpired,
    PendingTransferNotPending,
)
from giftflow.ledger.accounts import HOLDING_PENDING
from giftflow.ledger.book import Book
from giftflow.ledger.commands import BatchContext, Command, staged_view
from giftflow.ledger.idempotency import IdempotencyRequest
from giftflow.ledger.model import AccountKey, Posting
from giftflow.ledger.repository import aware
from giftflow.ledger.views import pending_view
from giftflow.schema import pending_transfers


class PendingWrites:
    """Batch extension: inserts and state changes of pending transfers, set-based."""

    name = "ledger.pending"

    def flush(self, conn: Connection, rows: list[tuple[str, dict[str, Any]]]) -> None:
        inserts = [r for op, r in rows if op == "insert"]
        if inserts:
            conn.execute(pending_transfers.insert(), inserts)
        # a pending transfer may change twice in one batch (create, then void): keep the last
        latest: dict[int, dict[str, Any]] = {}
        for op, r in rows:
            if op == "update":
                latest[r["p_id"]] = r
        if latest:
            from sqlalchemy import bindparam

            conn.execute(
                update(pending_transfers)
                .where(pending_transfers.c.id == bindparam("p_id"))
                .values(
                    state=bindparam("p_state"),
                    submitted=bindparam("p_submitted"),
                    resolved_txn_id=bindparam("p_resolved"),
                    updated_at=bindparam("p_updated"),
                ),
                list(latest.values()),
            )


PENDING_WRITES = PendingWrites()


def _load(ctx: BatchContext, pending_id: int) -> dict[str, Any]:
    """The pending row as this batch sees it (locked on PostgreSQL), or 404."""
    memo_key = ("ledger.pending", pending_id)
    cached = ctx.book.memo.get(memo_key)
    if cached is not None:
        return dict(cached)
    row = (
        ctx.conn.execute(
            select(pending_transfers).where(pending_transfers.c.id == pending_id).with_for_update()
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("No such pending transfer.", id=str(pending_id))
    out = dict(row)
    if out["expires_at"] is not None:
        out["expires_at"] = aware(out["expires_at"])
    return out


def _save(ctx: BatchContext, row: dict[str, Any], *, insert: bool = False) -> None:
    ctx.book.remember(("ledger.pending", row["id"]), dict(row))
    if insert:
        ctx.book.stage(PENDING_WRITES, ("insert", dict(row)))
    else:
        ctx.book.stage(
            PENDING_WRITES,
            (
                "update",
                {
                    "p_id": row["id"],
                    "p_state": row["state"],
                    "p_submitted": row["submitted"],
                    "p_resolved": row["resolved_txn_id"],
                    "p_updated": ctx.now,
                },
            ),
        )


def _view(ctx: BatchContext, row: dict[str, Any]) -> dict[str, Any]:
    book = ctx.book
    paths = {
        row[c]: book.account_by_id(row[c]).key.path
        for c in ("debit_account_id", "credit_account_id")
    }
    return pending_view(row, paths)


class CreatePending(Command):
    kind = "pending.create"

    def __init__(
        self,
        source: str,
        destination: str,
        asset: str,
        amount: int,
        *,
        expires_at: datetime | None,
        memo: str | None = None,
        idempotency: IdempotencyRequest | None = None,
    ) -> None:
        super().__init__(idempotency=idempotency)
        Posting(source, destination, asset, amount).validate()
        self.source, self.destination, self.asset, self.amount = source, destination, asset, amount
        self.expires_at = expires_at
        self.memo = memo

    def account_hints(self, book: Book) -> Iterable[AccountKey]:
        yield book.key_for(self.source, self.asset)
        yield book.key_for(self.destination, self.asset)
        yield book.key_for(HOLDING_PENDING, self.asset)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        if self.expires_at is not None and self.expires_at <= ctx.now:
            raise InvalidAmount("expires_at is in the past.", expires_at=str(self.expires_at))
        book = ctx.book
        hold = book.account(book.key_for(HOLDING_PENDING, self.asset))
        dest = book.account(book.key_for(self.destination, self.asset))
        txn = book.post(
            "pending",
            [Posting(self.source, HOLDING_PENDING, self.asset, self.amount)],
            memo=self.memo,
        )
        row = {
            "id": txn.id,
            "debit_account_id": txn.postings[0].debit.id,
            "credit_account_id": dest.id,
            "hold_account_id": hold.id,
            "asset": self.asset,
            "amount": self.amount,
            "state": "pending",
            "expires_at": self.expires_at,
            "submitted": False,
            "resolved_txn_id": None,
            "created_at": ctx.now,
            "updated_at": ctx.now,
        }
        _save(ctx, row, insert=True)
        return {**_view(ctx, row), "transaction": staged_view(txn)}


class ResolvePending(Command):
    """Post (to the destination) or void (back to the source) a pending transfer."""

    kind = "pending.resolve"
    success_status = 200

    def __init__(
        self, pending_id: int, action: str, *, idempotency: IdempotencyRequest | None = None
    ) -> None:
        super().__init__(idempotency=idempotency)
        if action not in ("post", "void", "expire", "submit"):
            raise ValueError(action)
        self.pending_id = pending_id
        self.action = action

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        row = _load(ctx, self.pending_id)
        if row["state"] != "pending":
            raise PendingTransferNotPending(
                f"The pending transfer is already {row['state']}.",
                id=str(row["id"]),
                state=row["state"],
            )
        expired = row["expires_at"] is not None and row["expires_at"] <= ctx.now
        if self.action == "submit":
            if expired:
                raise PendingTransferExpired(id=str(row["id"]))
            row["submitted"] = True
            _save(ctx, row)
            return _view(ctx, row)
        if self.action == "post" and expired and not row["submitted"]:
            raise PendingTransferExpired(id=str(row["id"]))
        book = ctx.book
        hold = book.account_by_id(row["hold_account_id"])
        target_id = row["credit_account_id" if self.action == "post" else "debit_account_id"]
        target = book.account_by_id(target_id)
        kind = {"post": "pending_post", "void": "pending_void", "expire": "pending_expire"}
        txn = book.post(
            kind[self.action],
            [(hold, target, row["asset"], row["amount"])],
            meta={"pending_transfer": str(row["id"])},
        )
        row["state"] = "posted" if self.action == "post" else "voided"
        row["resolved_txn_id"] = txn.id
        _save(ctx, row)
        return {**_view(ctx, row), "transaction": staged_view(txn)}


class ExpirePending(Command):
    """Void every pending transfer past its expiry that was not submitted (keyless, repeatable)."""

    kind = "pending.expire"
    success_status = 200

    def __init__(self, limit: int = 500) -> None:
        super().__init__()
        self.limit = limit

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        stmt = (
            select(pending_transfers.c.id)
            .where(
                pending_transfers.c.state == "pending",
                pending_transfers.c.submitted.is_(False),
                pending_transfers.c.expires_at <= ctx.now,
            )
            .order_by(pending_transfers.c.expires_at)
            .limit(self.limit)
        )
        voided: list[str] = []
        for pending_id in ctx.conn.execute(stmt).scalars():
            row = _load(ctx, pending_id)
            if row["state"] != "pending":
                continue
            ResolvePending(pending_id, "expire").apply(ctx)
            voided.append(str(pending_id))
        return {"voided": voided}
