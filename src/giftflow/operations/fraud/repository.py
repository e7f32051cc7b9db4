"""The fraud scan's SQL: what is new in a time range, the bounded look-backs the detectors
ask for, the flags themselves and the scan's checkpoint in ``job_state``.

Every range query is indexed: gifts, refunds, chargebacks and withdrawal requests are ledger
transactions found by ``transactions (kind, created_at)``; paid purchases by
``purchases (state, succeeded_at)`` and ``(payment_fingerprint)``. A look-back over one user's
gifts goes from ``accounts (owner_id)`` through ``postings (debit_account_id, txn_id)`` from
the first gift transaction of the window on (``txn_id >= min(id)`` of the window's gifts, a
scalar subquery on ``transactions (kind, created_at)``), so its cost is the window's, not the
user's whole history.

A gift transaction is ``user:{v}:coins[:bonus|:exchanged] → platform:revenue:gifts`` (COIN)
and ``platform:diamonds:issued → creator:{c}:diamonds[:pending]`` (DIAMOND): the sender owns
the COIN debit accounts, the recipient the DIAMOND credit account. A gift that issued no
diamonds (a 0% share) names no recipient in the ledger and is left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, func, select, update

from giftflow.db import upsert_insert
from giftflow.operations.fraud.model import (
    FlagDraft,
    FlagState,
    Gift,
    MethodChange,
    NewEdge,
    PaidPurchase,
    RefundEvent,
    WithdrawalRequest,
)
from giftflow.schema import (
    accounts,
    fraud_flags,
    job_state,
    payout_methods,
    postings,
    purchases,
    transactions,
    users,
    withdrawals,
)

CHECKPOINT = "fraud_scan"
GIFT = "gift"
REFUND_KINDS = ("purchase_refund", "purchase_provider_refund", "purchase_dispute")
WITHDRAWAL_KIND = "pending"  # a withdrawal's id is the id of its pending transfer's transaction
PAID_STATES = ("succeeded", "refunded", "disputed", "won", "lost")
CHUNK = 500  # users per IN list


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    items = sorted(set(values))
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


# --- gifts ---------------------------------------------------------------------------------------
def _gifts(conn: Connection, txn_ids: Select[Any] | None, where: list[Any]) -> list[Gift]:
    """Gift transactions matching ``where`` (and ``txn_ids`` when given), assembled from their
    postings: the sender, the recipient and the coins."""
    t, p = transactions.c, postings.c
    debit, credit = accounts.alias("debit"), accounts.alias("credit")
    stmt = (
        select(t.id, t.created_at, p.asset, p.amount, debit.c.owner_id, credit.c.owner_id)
        .select_from(
            transactions.join(postings, p.txn_id == t.id)
            .join(debit, debit.c.id == p.debit_account_id)
            .join(credit, credit.c.id == p.credit_account_id)
        )
        .where(t.kind == GIFT, *where)
    )
    if txn_ids is not None:
        stmt = stmt.where(t.id.in_(txn_ids))
    found: dict[int, list[Any]] = {}
    for txn_id, at, asset, amount, payer, payee in conn.execute(stmt):
        g = found.setdefault(int(txn_id), [at, None, None, 0])
        if asset == "COIN" and payer is not None:
            g[1] = payer
            g[3] += int(amount)
        elif asset == "DIAMOND" and payee is not None:
            g[2] = payee
    return sorted(
        (
            Gift(txn_id, at, sender, recipient, total)
            for txn_id, (at, sender, recipient, total) in found.items()
            if sender is not None and recipient is not None and total > 0
        ),
        key=lambda g: (g.at, g.txn_id),
    )


def new_edges(conn: Connection, since: datetime, until: datetime) -> list[NewEdge]:
    """Who gifted whom in ``(since, until]`` (one row per pair, aggregated in the database)."""
    t = transactions.c
    coin, diamond = postings.alias("coin"), postings.alias("diamond")
    payer, payee = accounts.alias("payer"), accounts.alias("payee")
    rows = conn.execute(
        select(payer.c.owner_id, payee.c.owner_id, func.min(t.created_at), func.max(t.created_at))
        .select_from(
            transactions.join(coin, (coin.c.txn_id == t.id) & (coin.c.asset == "COIN"))
            .join(payer, payer.c.id == coin.c.debit_account_id)
            .join(diamond, (diamond.c.txn_id == t.id) & (diamond.c.asset == "DIAMOND"))
            .join(payee, payee.c.id == diamond.c.credit_account_id)
        )
        .where(
            t.kind == GIFT,
            t.created_at > since,
            t.created_at <= until,
            payer.c.owner_id.is_not(None),
            payee.c.owner_id.is_not(None),
        )
        .group_by(payer.c.owner_id, payee.c.owner_id)
    ).all()
    # min() and max() keep the column's type: the times come back aware (UTC) on both databases
    return sorted(NewEdge(s, r, first, last) for s, r, first, last in rows)


def _first_gift_id(start: datetime) -> Any:
    """The smallest id of a gift made at or after ``start`` (a scalar subquery): every gift of
    the window has an id at least this, whichever writer numbered it."""
    t = transactions.c
    return select(func.min(t.id)).where(t.kind == GIFT, t.created_at >= start).scalar_subquery()


def gifts_sent_by(
    conn: Connection, senders: Iterable[str], start: datetime, end: datetime
) -> list[Gift]:
    """Gifts sent by ``senders`` made within ``[start, end]``."""
    t, p, a = transactions.c, postings.c, accounts.c
    out: list[Gift] = []
    for chunk in _chunks(senders):
        paid_by = (
            select(p.txn_id)
            .select_from(postings.join(accounts, a.id == p.debit_account_id))
            .where(
                a.owner_id.in_(chunk),
                a.asset == "COIN",
                p.txn_id >= _first_gift_id(start),
            )
        )
        out.extend(_gifts(conn, paid_by, [t.created_at >= start, t.created_at <= end]))
    return sorted(out, key=lambda g: (g.at, g.txn_id))


# --- refunds and chargebacks ---------------------------------------------------------------------
def refund_events(conn: Connection, since: datetime, until: datetime) -> list[RefundEvent]:
    """Refunds (giftflow's and the provider's) and chargebacks made in ``(since, until]``, with
    the purchase each took back (``meta.purchase``)."""
    t = transactions.c
    rows = conn.execute(
        select(t.id, t.kind, t.created_at, t.meta).where(
            t.kind.in_(REFUND_KINDS), t.created_at > since, t.created_at <= until
        )
    ).all()
    wanted: dict[int, tuple[int, str, datetime]] = {}
    for txn_id, kind, at, meta in rows:
        purchase_id = _meta_int(meta, "purchase")
        if purchase_id is not None:
            wanted[int(txn_id)] = (purchase_id, kind, at)
    if not wanted:
        return []
    pc = purchases.c
    bought = {
        int(r.id): r
        for r in conn.execute(
            select(
                pc.id,
                pc.user_id,
                pc.coins,
                pc.bonus_coins,
                pc.price_minor,
                pc.currency,
                pc.provider,
            ).where(pc.id.in_(sorted({w[0] for w in wanted.values()})))
        )
    }
    out = []
    for txn_id, (purchase_id, kind, at) in sorted(wanted.items()):
        row = bought.get(purchase_id)
        if row is None:
            continue
        out.append(
            RefundEvent(
                txn_id=txn_id,
                txn_kind=kind,
                at=at,
                purchase_id=purchase_id,
                user_id=row.user_id,
                coins=int(row.coins),
                bonus_coins=int(row.bonus_coins),
                price_minor=int(row.price_minor),
                currency=row.currency,
                provider=row.provider,
            )
        )
    return out


def _meta_int(meta: str | None, key: str) -> int | None:
    try:
        value = json.loads(meta or "{}").get(key)
    except (ValueError, AttributeError):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


# --- payment fingerprints ------------------------------------------------------------------------
def new_fingerprints(
    conn: Connection, since: datetime, until: datetime
) -> list[tuple[str, datetime]]:
    """Each fingerprint paid with in ``(since, until]``, with its latest payment time."""
    pc = purchases.c
    rows = conn.execute(
        select(pc.payment_fingerprint, func.max(pc.succeeded_at))
        .where(
            pc.state.in_(PAID_STATES),
            pc.succeeded_at > since,
            pc.succeeded_at <= until,
            pc.payment_fingerprint.is_not(None),
        )
        .group_by(pc.payment_fingerprint)
    ).all()
    # max() keeps the column's type, so the time comes back aware (UTC) on both databases
    return [(str(fp), last) for fp, last in rows if last is not None]


def purchases_with_fingerprint(
    conn: Connection, fingerprint: str, start: datetime, end: datetime
) -> list[PaidPurchase]:
    pc = purchases.c
    rows = conn.execute(
        select(pc.id, pc.user_id, pc.succeeded_at, pc.price_minor, pc.currency, pc.provider)
        .where(
            pc.payment_fingerprint == fingerprint,
            pc.state.in_(PAID_STATES),
            pc.succeeded_at >= start,
            pc.succeeded_at <= end,
        )
        .order_by(pc.succeeded_at, pc.id)
    ).all()
    return [
        PaidPurchase(
            id=int(r.id),
            user_id=r.user_id,
            at=r.succeeded_at,
            price_minor=int(r.price_minor),
            currency=r.currency,
            provider=r.provider,
            fingerprint=fingerprint,
        )
        for r in rows
    ]


# --- withdrawals and payout methods --------------------------------------------------------------
def new_withdrawals(conn: Connection, since: datetime, until: datetime) -> list[WithdrawalRequest]:
    """Withdrawals requested in ``(since, until]``: their pending transfers' transactions."""
    t, w = transactions.c, withdrawals.c
    rows = conn.execute(
        select(
            w.id,
            w.user_id,
            w.method_id,
            w.created_at,
            w.diamonds,
            w.gross_minor,
            w.currency,
            w.state,
        )
        .select_from(transactions.join(withdrawals, w.id == t.id))
        .where(t.kind == WITHDRAWAL_KIND, t.created_at > since, t.created_at <= until)
        .order_by(w.id)
    ).all()
    return [
        WithdrawalRequest(
            id=int(r.id),
            user_id=r.user_id,
            method_id=int(r.method_id),
            at=r.created_at,
            diamonds=int(r.diamonds),
            gross_minor=int(r.gross_minor),
            currency=r.currency,
            state=r.state,
        )
        for r in rows
    ]


def method_changes(conn: Connection, user_ids: Iterable[str]) -> list[MethodChange]:
    """When each payout method of the users was added, and last changed (an update that was
    not its removal: a removal sets ``updated_at`` and ``removed_at`` together)."""
    m = payout_methods.c
    out: list[MethodChange] = []
    for chunk in _chunks(user_ids):
        rows = conn.execute(
            select(m.id, m.user_id, m.kind, m.masked, m.created_at, m.updated_at, m.removed_at)
            .where(m.user_id.in_(chunk))
            .order_by(m.id)
        ).all()
        for r in rows:
            common = {"method_id": int(r.id), "user_id": r.user_id, "kind": r.kind}
            out.append(MethodChange(**common, masked=r.masked, change="added", at=r.created_at))
            if r.updated_at != r.created_at and r.updated_at != r.removed_at:
                out.append(
                    MethodChange(**common, masked=r.masked, change="changed", at=r.updated_at)
                )
    return out


# --- users ---------------------------------------------------------------------------------------
def users_created(conn: Connection, user_ids: Iterable[str]) -> dict[str, datetime]:
    u = users.c
    out: dict[str, datetime] = {}
    for chunk in _chunks(user_ids):
        for user_id, created in conn.execute(select(u.id, u.created_at).where(u.id.in_(chunk))):
            out[user_id] = created
    return out


class FraudRepository:
    """The ``FraudReader`` the detectors use, on one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def gifts_sent_by(self, users: Iterable[str], start: datetime, end: datetime) -> list[Gift]:
        return gifts_sent_by(self.conn, users, start, end)

    def users_created(self, users: Iterable[str]) -> Mapping[str, datetime]:
        return users_created(self.conn, users)

    def purchases_with_fingerprint(
        self, fingerprint: str, start: datetime, end: datetime
    ) -> list[PaidPurchase]:
        return purchases_with_fingerprint(self.conn, fingerprint, start, end)

    def method_changes(self, users: Iterable[str]) -> list[MethodChange]:
        return method_changes(self.conn, users)


# --- the checkpoint ------------------------------------------------------------------------------
def checkpoint(conn: Connection) -> datetime | None:
    """Where the last scan ended (``job_state.fraud_scan``: ``{"until": RFC 3339}``)."""
    value = conn.execute(
        select(job_state.c.value).where(job_state.c.name == CHECKPOINT)
    ).scalar_one_or_none()
    if value is None:
        return None
    try:
        until = json.loads(value).get("until")
        return datetime.fromisoformat(until.replace("Z", "+00:00")) if until else None
    except (ValueError, AttributeError):
        return None


def save_checkpoint(conn: Connection, value: dict[str, Any], now: datetime) -> None:
    stmt = upsert_insert(conn, job_state).values(
        name=CHECKPOINT, value=json.dumps(value, sort_keys=True), updated_at=now
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
    )


# --- flags ---------------------------------------------------------------------------------------
def insert_flags(conn: Connection, drafts: Sequence[FlagDraft], now: datetime) -> list[int]:
    """Insert each draft unless its ``dedupe_key`` is already flagged; the new flags' ids."""
    created: list[int] = []
    for d in drafts:
        stmt = (
            upsert_insert(conn, fraud_flags)
            .values(
                kind=d.kind.value,
                subject=d.subject[:200],
                dedupe_key=d.dedupe_key[:200],
                details=json.dumps(d.details, sort_keys=True, ensure_ascii=False),
                state=FlagState.OPEN.value,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(fraud_flags.c.id)
        )
        new_id = conn.execute(stmt).scalar_one_or_none()
        if new_id is not None:
            created.append(int(new_id))
    return created


def _flag(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out["details"] = json.loads(out["details"])
    return out


def get_flag(conn: Connection, flag_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(fraud_flags).where(fraud_flags.c.id == flag_id)).first()
    return _flag(row) if row is not None else None


def list_flags(
    conn: Connection,
    *,
    state: str | None,
    kind: str | None,
    limit: int,
    before: int | None,
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first; ``(flags, cursor of the next page)``."""
    f = fraud_flags.c
    where: list[ColumnElement[bool]] = []
    if state is not None:
        where.append(f.state == state)
    if kind is not None:
        where.append(f.kind == kind)
    if before is not None:
        where.append(f.id < before)
    rows = conn.execute(
        select(fraud_flags).where(*where).order_by(f.id.desc()).limit(limit + 1)
    ).all()
    flags = [_flag(r) for r in rows[:limit]]
    more = len(rows) > limit
    return flags, (int(flags[-1]["id"]) if more and flags else None)


def resolve_flag(
    conn: Connection, flag_id: int, *, resolution: str, note: str, by: str, now: datetime
) -> bool:
    """Resolve an open flag; False when it is not open (resolved already, or no such flag)."""
    f = fraud_flags.c
    done = conn.execute(
        update(fraud_flags)
        .where(f.id == flag_id, f.state == FlagState.OPEN.value)
        .values(
            state=FlagState.RESOLVED.value,
            resolution=resolution,
            note=note,
            resolved_by=by[:200],
            resolved_at=now,
        )
    )
    return done.rowcount == 1


def open_counts(conn: Connection) -> dict[str, int]:
    """Open flags by kind (the ``state`` index)."""
    f = fraud_flags.c
    rows = conn.execute(
        select(f.kind, func.count()).where(f.state == FlagState.OPEN.value).group_by(f.kind)
    ).all()
    return {kind: int(n) for kind, n in rows}
