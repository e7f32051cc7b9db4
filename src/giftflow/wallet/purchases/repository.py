"""The purchases feature's SQL: purchase rows, wallet counters, spend windows, disputes.

``PurchaseBatchRepository`` is what wallet commands read inside a batch (built with
``ctx.repository(...)``; purchase and wallet rows are locked ``FOR UPDATE`` after the batch's
accounts). ``WalletWrites`` is the batch extension that writes what they staged: purchase rows in
command order (rare), wallet counters once per user and spend windows once per (user, counter,
day) per batch — the part every gift touches is set-based. The reader functions at the bottom
serve the read endpoints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, literal, select, text, tuple_, update

from giftflow.db import upsert_insert
from giftflow.ledger.prefetch import Read
from giftflow.schema import (
    disputes,
    payment_events,
    purchases,
    spend_windows,
    users,
    wallet_state,
)
from giftflow.wallet.purchases.lots import Segment, Shift, segments, shifted
from giftflow.wallet.purchases.states import PurchaseState

_CREATE_WALLETS_PG = text(  # for users that exist only (see lock_wallets)
    "INSERT INTO wallet_state (user_id, paid_total, paid_spent, updated_at) "
    "SELECT u.id, 0, 0, CAST(:now AS timestamptz) "
    "FROM users u JOIN unnest(CAST(:users AS text[])) AS w(id) ON u.id = w.id "
    "ON CONFLICT DO NOTHING"
)
_LOCK_WALLETS_PG = text(
    "SELECT s.user_id, s.paid_total, s.paid_spent, s.frozen_reason "
    "FROM wallet_state s JOIN unnest(CAST(:users AS text[])) AS w(u) "
    "ON s.user_id = w.u ORDER BY s.user_id FOR UPDATE OF s"
)


@dataclass(slots=True)
class PurchaseRow:
    id: int
    user_id: str
    channel: str
    provider: str
    region: str
    currency: str
    pack_coins: int | None
    coins: int
    bonus_coins: int
    price_minor: int
    store_fee_minor: int
    policy_version: str
    state: PurchaseState
    provider_ref: str | None
    failure_reason: str | None
    refund_reason: str | None
    credit_txn_id: int | None
    lot_start: int | None
    coins_removed: int
    restored_start: int | None
    restored_coins: int
    created_at: datetime
    updated_at: datetime
    succeeded_at: datetime | None
    provider_refund_due_at: datetime | None = None

    def segments(self) -> list[Segment]:
        return segments(
            self.lot_start,
            self.coins,
            self.coins_removed,
            self.restored_start,
            self.restored_coins,
        )

    def values(self) -> dict[str, Any]:
        out = {f: getattr(self, f) for f in self.__slots__}
        out["state"] = self.state.value
        return out


@dataclass(slots=True)
class WalletState:
    user_id: str
    paid_total: int
    paid_spent: int
    frozen_reason: str | None


def purchase_row(row: Any) -> PurchaseRow:
    values = dict(row)
    values["state"] = PurchaseState(values["state"])
    return PurchaseRow(**{f: values[f] for f in PurchaseRow.__slots__})


class PurchaseBatchRepository:
    """Reads and row locks of the wallet inside one batch; staged writes go to ``WALLET``."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def lock_purchase(self, purchase_id: int) -> PurchaseRow | None:
        row = (
            self.conn.execute(
                select(purchases).where(purchases.c.id == purchase_id).with_for_update()
            )
            .mappings()
            .first()
        )
        return purchase_row(row) if row is not None else None

    def purchase_by_ref(self, provider: str, provider_ref: str) -> int | None:
        found = self.conn.execute(
            select(purchases.c.id).where(
                purchases.c.provider == provider, purchases.c.provider_ref == provider_ref
            )
        ).scalar_one_or_none()
        return int(found) if found is not None else None

    def lock_wallets(self, user_ids: Iterable[str], now: datetime) -> dict[str, WalletState]:
        """Several users' counters, created if missing and locked in id order, in two
        statements whatever their number (the gift batch locks all its senders at once).

        Only users the platform created get a row: a batch announces the wallets of every
        command before it refuses those naming unknown users, and an id that is not a user must
        not leave a wallet behind."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        if self.conn.dialect.name == "postgresql":
            # arrays and a join: no statement text per batch size, no plan that scans
            self.conn.execute(_CREATE_WALLETS_PG, {"users": wanted, "now": now})
            rows = self.conn.execute(_LOCK_WALLETS_PG, {"users": wanted})
        else:
            known = select(
                users.c.id,
                literal(0),
                literal(0),
                literal(now, type_=wallet_state.c.updated_at.type),
            ).where(users.c.id.in_(wanted))
            self.conn.execute(
                upsert_insert(self.conn, wallet_state)
                .from_select(["user_id", "paid_total", "paid_spent", "updated_at"], known)
                .on_conflict_do_nothing()
            )
            rows = self.conn.execute(
                select(wallet_state)
                .where(wallet_state.c.user_id.in_(wanted))
                .order_by(wallet_state.c.user_id)
                .with_for_update()
            )
        return {
            r.user_id: WalletState(r.user_id, r.paid_total, r.paid_spent, r.frozen_reason)
            for r in rows
        }

    @staticmethod
    def wallets_reads(
        user_ids: Iterable[str], now: datetime, into: Callable[[dict[str, WalletState]], None]
    ) -> list[Read]:
        """``lock_wallets`` as two reads of the batch's first round trip (``ledger.prefetch``)."""
        wanted = sorted(set(user_ids))

        def done(rows: list[dict[str, Any]]) -> None:
            into(
                {
                    r["user_id"]: WalletState(
                        r["user_id"], r["paid_total"], r["paid_spent"], r["frozen_reason"]
                    )
                    for r in rows
                }
            )

        return [
            Read(_CREATE_WALLETS_PG, {"users": wanted, "now": now}),
            Read(_LOCK_WALLETS_PG, {"users": wanted}, done),
        ]

    def window_sum(self, user_id: str, counter: str, first: date, last: date) -> int:
        total = self.conn.execute(
            select(func.coalesce(func.sum(spend_windows.c.coins), 0)).where(
                spend_windows.c.user_id == user_id,
                spend_windows.c.counter == counter,
                spend_windows.c.day >= first,
                spend_windows.c.day <= last,
            )
        ).scalar_one()
        return int(total)

    def bought(self, user_id: str, provider: str | None, start: datetime, end: datetime) -> int:
        """Coins in purchases created in [start, end) that did not fail (for purchase caps)."""
        stmt = select(func.coalesce(func.sum(purchases.c.coins), 0)).where(
            purchases.c.user_id == user_id,
            purchases.c.created_at >= start,
            purchases.c.created_at < end,
            purchases.c.state.not_in([PurchaseState.FAILED.value, PurchaseState.CANCELED.value]),
        )
        if provider is not None:
            stmt = stmt.where(purchases.c.provider == provider)
        return int(self.conn.execute(stmt).scalar_one())

    def has_purchased(self, user_id: str) -> bool:
        return has_purchased(self.conn, user_id)

    def open_dispute(self, purchase_id: int) -> dict[str, Any] | None:
        row = (
            self.conn.execute(select(disputes).where(disputes.c.purchase_id == purchase_id))
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    def event_seen(self, provider: str, event_id: str) -> bool:
        found = self.conn.execute(
            select(payment_events.c.event_id).where(
                payment_events.c.provider == provider, payment_events.c.event_id == event_id
            )
        ).first()
        return found is not None


@dataclass(frozen=True, slots=True)
class Window:
    user_id: str
    counter: str
    day: date
    coins: int


class WalletWrites:
    """Batch extension: the wallet's rows, flushed after the ledger's in the same transaction.

    Rows are ``(op, value)``: ``purchase`` (insert or update, in order), ``shift`` (move later
    lots down), ``wallet`` (the latest state per user), ``window`` (summed per key),
    ``dispute`` (insert or update) and ``event`` (a provider event, once).
    """

    name = "wallet"

    def flush(self, conn: Connection, rows: list[tuple[str, Any]]) -> None:
        inserted: set[int] = set()
        latest_wallet: dict[str, WalletState] = {}
        windows: dict[tuple[str, str, date], int] = {}
        for op, value in rows:
            if op == "purchase_insert":
                conn.execute(purchases.insert().values(**value.values()))
                inserted.add(value.id)
            elif op == "purchase":
                conn.execute(
                    update(purchases).where(purchases.c.id == value.id).values(**value.values())
                )
            elif op == "shift":
                user_id, shift = value
                _shift(conn, user_id, shift)
            elif op == "wallet":
                latest_wallet[value.user_id] = value
            elif op == "window":
                key = (value.user_id, value.counter, value.day)
                windows[key] = windows.get(key, 0) + value.coins
            elif op == "dispute_insert":
                conn.execute(disputes.insert().values(**value))
            elif op == "dispute":
                value = dict(value)
                dispute_id = value.pop("id")
                conn.execute(update(disputes).where(disputes.c.id == dispute_id).values(**value))
            elif op == "event":
                conn.execute(payment_events.insert().values(**value))
        if latest_wallet:
            _write_wallets(conn, list(latest_wallet.values()))
        if windows:
            _add_windows(conn, windows)


# On PostgreSQL the two kinds of row every gift stages go in as one statement over arrays each,
# not one execution per row (``executemany`` cost ~30-45 µs of the writer's Python per gift).
_WALLETS_PG = text(
    "UPDATE wallet_state SET paid_total = v.total, paid_spent = v.spent, frozen_reason = v.frozen "
    "FROM unnest(CAST(:users AS text[]), CAST(:totals AS bigint[]), CAST(:spent AS bigint[]), "
    "CAST(:frozen AS text[])) AS v(u, total, spent, frozen) WHERE wallet_state.user_id = v.u"
)
_WINDOWS_PG = text(
    "INSERT INTO spend_windows (user_id, counter, day, coins) "
    "SELECT * FROM unnest(CAST(:users AS text[]), CAST(:counters AS text[]), "
    "CAST(:days AS date[]), CAST(:coins AS bigint[])) "
    "ON CONFLICT (user_id, counter, day) DO UPDATE SET coins = spend_windows.coins + excluded.coins"
)


def _write_wallets(conn: Connection, states: list[WalletState]) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(
            _WALLETS_PG,
            {
                "users": [w.user_id for w in states],
                "totals": [w.paid_total for w in states],
                "spent": [w.paid_spent for w in states],
                "frozen": [w.frozen_reason for w in states],
            },
        )
        return
    conn.execute(
        update(wallet_state)
        .where(wallet_state.c.user_id == bindparam("w_user"))
        .values(
            paid_total=bindparam("w_total"),
            paid_spent=bindparam("w_spent"),
            frozen_reason=bindparam("w_frozen"),
        ),
        [
            {
                "w_user": w.user_id,
                "w_total": w.paid_total,
                "w_spent": w.paid_spent,
                "w_frozen": w.frozen_reason,
            }
            for w in states
        ],
    )


def _add_windows(conn: Connection, windows: dict[tuple[str, str, date], int]) -> None:
    """Add coins to each (user, counter, day) window, creating it when missing."""
    keys = sorted(windows)  # one order for every writer: upserts lock rows in it
    if conn.dialect.name == "postgresql":
        conn.execute(
            _WINDOWS_PG,
            {
                "users": [k[0] for k in keys],
                "counters": [k[1] for k in keys],
                "days": [k[2] for k in keys],
                "coins": [windows[k] for k in keys],
            },
        )
        return
    stmt = upsert_insert(conn, spend_windows)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["user_id", "counter", "day"],
            set_={"coins": spend_windows.c.coins + stmt.excluded.coins},
        ),
        [{"user_id": u, "counter": c, "day": d, "coins": windows[(u, c, d)]} for u, c, d in keys],
    )


def _shift(conn: Connection, user_id: str, shift: Shift) -> None:
    """Every later position of the user's paid sequence moves down by ``shift.by``."""
    for column in (purchases.c.lot_start, purchases.c.restored_start):
        conn.execute(
            update(purchases)
            .where(purchases.c.user_id == user_id, column > shift.after)
            .values({column.name: column - shift.by})
        )


WALLET = WalletWrites()


def apply_shifts(row: PurchaseRow, shifts: list[Shift]) -> PurchaseRow:
    """A row read from the database, as the batch sees it after its earlier shifts."""
    if not shifts:
        return row
    return replace(
        row,
        lot_start=shifted(row.lot_start, shifts),
        restored_start=shifted(row.restored_start, shifts),
    )


# --- reads for the endpoints ------------------------------------------------------------------
def get_purchase(conn: Connection, purchase_id: int) -> PurchaseRow | None:
    row = conn.execute(select(purchases).where(purchases.c.id == purchase_id)).mappings().first()
    return purchase_row(row) if row is not None else None


def list_purchases(
    conn: Connection, user_id: str, *, limit: int, before_id: int | None
) -> list[PurchaseRow]:
    stmt = select(purchases).where(purchases.c.user_id == user_id)
    if before_id is not None:
        stmt = stmt.where(purchases.c.id < before_id)
    rows = conn.execute(stmt.order_by(purchases.c.id.desc()).limit(limit)).mappings()
    return [purchase_row(r) for r in rows]


def refunds_due(conn: Connection, *, before: datetime, limit: int) -> list[PurchaseRow]:
    """Purchases giftflow refunded whose provider refund is still unconfirmed since ``before``."""
    rows = conn.execute(
        select(purchases)
        .where(purchases.c.provider_refund_due_at <= before)
        .order_by(purchases.c.provider_refund_due_at)
        .limit(limit)
    ).mappings()
    return [purchase_row(r) for r in rows]


def lots(conn: Connection, user_id: str) -> tuple[list[PurchaseRow], int]:
    """The user's purchases that are lots, oldest first, and ``paid_spent``."""
    rows = conn.execute(
        select(purchases)
        .where(purchases.c.user_id == user_id, purchases.c.lot_start.is_not(None))
        .order_by(purchases.c.lot_start)
    ).mappings()
    spent = conn.execute(
        select(wallet_state.c.paid_spent).where(wallet_state.c.user_id == user_id)
    ).scalar_one_or_none()
    return [purchase_row(r) for r in rows], int(spent or 0)


def has_purchased(conn: Connection, user_id: str) -> bool:
    """Whether the user ever completed a purchase (their next one is not a first purchase)."""
    credited = [s.value for s in PurchaseState if s not in _NEVER_CREDITED]
    found = conn.execute(
        select(purchases.c.id).where(
            purchases.c.user_id == user_id, purchases.c.state.in_(credited)
        )
    ).first()
    return found is not None


_NEVER_CREDITED = frozenset({PurchaseState.PENDING, PurchaseState.FAILED, PurchaseState.CANCELED})


def wallet_frozen(conn: Connection, user_id: str) -> str | None:
    found = conn.execute(
        select(wallet_state.c.frozen_reason).where(wallet_state.c.user_id == user_id)
    ).scalar_one_or_none()
    return str(found) if found else None


def list_disputes(
    conn: Connection, *, state: str | None, limit: int, before_id: int | None = None
) -> list[dict[str, Any]]:
    stmt = select(disputes)
    if state is not None:
        stmt = stmt.where(disputes.c.state == state)
    if before_id is not None:
        stmt = stmt.where(disputes.c.id < before_id)
    return [
        dict(r) for r in conn.execute(stmt.order_by(disputes.c.id.desc()).limit(limit)).mappings()
    ]


def get_dispute(conn: Connection, dispute_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(disputes).where(disputes.c.id == dispute_id)).mappings().first()
    return dict(row) if row is not None else None


def set_provider_ref(
    conn: Connection,
    purchase_id: int,
    ref: str,
    now: datetime,
    fingerprint: str | None = None,
) -> None:
    """Record the provider's payment reference, and the payment fingerprint when the provider
    answered one (no value moves; a unit of work)."""
    conn.execute(
        update(purchases)
        .where(purchases.c.id == purchase_id, purchases.c.provider_ref.is_(None))
        .values(provider_ref=ref, updated_at=now)
    )
    if fingerprint is not None:
        set_fingerprint(conn, purchase_id, fingerprint)


def set_fingerprint(conn: Connection, purchase_id: int, fingerprint: str) -> None:
    """Record who paid, without the card (``payment_fingerprint``, read by the fraud scan). The
    column is outside ``PurchaseRow``, so the writer's updates of the row never overwrite it."""
    conn.execute(
        update(purchases)
        .where(purchases.c.id == purchase_id)
        .values(payment_fingerprint=fingerprint[:64])
    )


def profile(conn: Connection, user_id: str) -> dict[str, Any] | None:
    """The facts the platform gave about a user (region, birth date), or None."""
    from giftflow.schema import users

    row = conn.execute(
        select(users.c.id, users.c.region, users.c.birth_date).where(users.c.id == user_id)
    ).mappings()
    found = row.first()
    return dict(found) if found is not None else None


def list_events(
    conn: Connection,
    *,
    outcome: str | None,
    event_type: str | None,
    limit: int,
    before: tuple[datetime, str, str] | None = None,
) -> list[dict[str, Any]]:
    """Provider events as received, newest first (the audit trail and the admins' queue),
    ordered by ``(received_at, provider, event_id)``; ``before`` is the last key of the
    previous page."""
    c = payment_events.c
    stmt = select(c.provider, c.event_id, c.event_type, c.purchase_id, c.outcome, c.received_at)
    if outcome is not None:
        stmt = stmt.where(c.outcome == outcome)
    if event_type is not None:
        stmt = stmt.where(c.event_type == event_type)
    key = tuple_(c.received_at, c.provider, c.event_id)
    if before is not None:
        stmt = stmt.where(key < before)  # a row comparison: the index's order on both databases
    rows = conn.execute(stmt.order_by(*(col.desc() for col in key.clauses)).limit(limit))
    return [dict(r) for r in rows.mappings()]
