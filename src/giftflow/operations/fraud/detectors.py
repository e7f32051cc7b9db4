"""The five fraud detectors: from what happened in the scanned range to flags for an operator.

Each detector is a function of what is new since the last scan (read by the repository with
indexed range queries) and of a ``FraudReader`` for the bounded look-back it needs; it returns
``FlagDraft``s and changes nothing. A draft's ``dedupe_key`` is a function of the evidence only
(never of when the scan ran), so scanning the same range again proposes the same keys and the
unique key keeps one flag per signal. Thresholds come from the policy's ``fraud`` section.

- **Gifting ring**: a new gift ``a → b`` closes a cycle ``a → b → … → a`` of at most
  ``rings.max_length`` users in which every edge carried at least ``rings.min_coins`` coins
  within ``rings.window_hours`` (ending at the newest gift scanned). One flag per set of users
  per window period (``floor(end / window)``).
- **New-account burst**: an account younger than ``account_age_hours`` (since the platform
  created it) sends, within any ``window_minutes``, more than ``max_coins`` coins or more than
  ``max_gifts`` gift requests. One flag per account.
- **Refund after gifting**: a purchase refunded, refunded by the provider or charged back
  within ``within_hours`` after its buyer gifted at least ``min_gifted_coins`` coins. One flag
  per refund or chargeback transaction.
- **Shared payment fingerprint**: at least ``min_users`` distinct users paid with one payment
  fingerprint within ``window_days``. One flag per fingerprint per window period.
- **Withdrawal after method change**: a withdrawal requested within ``within_hours`` after one
  of the creator's payout methods was added or changed. One flag per withdrawal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from giftflow.clock import rfc3339
from giftflow.money.amounts import amount_view
from giftflow.money.policy import (
    FraudRules,
    MethodChangeRules,
    NewAccountBurstRules,
    RefundAfterGiftingRules,
    RingRules,
    SharedFingerprintRules,
)
from giftflow.operations.fraud.model import (
    FlagDraft,
    FlagKind,
    FraudReader,
    Gift,
    NewEdge,
    PaidPurchase,
    RefundEvent,
    WithdrawalRequest,
)

MAX_LISTED = 100  # transaction ids (or purchases) listed per piece of evidence
SUBJECT_CHARS = 200
KEY_CHARS = 200

REFUND_EVENTS = {
    "purchase_refund": "refund",
    "purchase_provider_refund": "provider_refund",
    "purchase_dispute": "chargeback",
}


def coins(amount: int) -> dict[str, Any]:
    return amount_view("COIN", amount)


def dedupe_key(kind: FlagKind, *parts: str) -> str:
    """``kind:part:part``; a key that would pass the column's 200 characters (long user ids)
    becomes ``kind:sha256(parts)`` instead, still a function of the parts alone."""
    raw = f"{kind.value}:{':'.join(parts)}"
    if len(raw) <= KEY_CHARS:
        return raw
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"{kind.value}:sha256:{digest}"


def period(at: datetime, length: timedelta) -> str:
    """The number of the window-long period ``at`` falls in (counted from the Unix epoch)."""
    return str(int(at.timestamp()) // int(length.total_seconds()))


def subject(text: str) -> str:
    return text if len(text) <= SUBJECT_CHARS else text[: SUBJECT_CHARS - 1] + "…"


def _ids(gifts: Sequence[Gift]) -> list[str]:
    return [str(g.txn_id) for g in sorted(gifts, key=lambda g: g.txn_id)[:MAX_LISTED]]


def _gift_summary(gifts: Sequence[Gift]) -> dict[str, Any]:
    """Coins, count, first and last time and the transaction ids of some gifts."""
    ordered = sorted(gifts, key=lambda g: (g.at, g.txn_id))
    return {
        "coins": coins(sum(g.coins for g in ordered)),
        "gifts": len(ordered),
        "first_at": rfc3339(ordered[0].at) if ordered else None,
        "last_at": rfc3339(ordered[-1].at) if ordered else None,
        "transactions": _ids(ordered),
        "transactions_total": len(ordered),
    }


def _recipients(gifts: Iterable[Gift]) -> list[dict[str, Any]]:
    """Who received the gifts: coins and count per recipient, most coins first."""
    totals: dict[str, list[int]] = {}
    for g in gifts:
        t = totals.setdefault(g.recipient, [0, 0])
        t[0] += g.coins
        t[1] += 1
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1][0], kv[0]))
    return [{"user": u, "coins": coins(c), "gifts": n} for u, (c, n) in ranked]


def _unique(users: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(users))


# --- gifting rings -------------------------------------------------------------------------------
def detect_rings(
    reader: FraudReader, rules: RingRules, new_edges: Sequence[NewEdge]
) -> list[FlagDraft]:
    """Each new edge ``a → b`` is checked in the window that ends at its newest new gift: the
    cycle's every edge must carry ``min_coins`` within that window."""
    if not rules.enabled or not new_edges:
        return []
    window = timedelta(hours=rules.window_hours)
    closing = {(e.sender, e.recipient): e.last_at for e in new_edges}
    start, end = min(closing.values()) - window, max(closing.values())
    edges = _load_edges(reader, sorted(closing), rules, start, end)
    adjacency: dict[str, list[str]] = {}
    for s, r in sorted(edges):
        adjacency.setdefault(s, []).append(r)
    found: dict[str, tuple[list[str], datetime, datetime]] = {}
    for (a, b), until in sorted(closing.items()):
        since = until - window

        def heavy(edge: tuple[str, str], since: datetime = since, until: datetime = until) -> bool:
            return _coins_within(edges.get(edge, []), since, until) >= rules.min_coins

        if not heavy((a, b)):
            continue
        for path in _paths(adjacency, heavy, b, a, rules.max_length - 1, frozenset({a, b})):
            cycle = _rotate([a, b, *path[:-1]])
            key = dedupe_key(FlagKind.GIFTING_RING, ",".join(sorted(cycle)), period(until, window))
            found.setdefault(key, (cycle, since, until))
    drafts = []
    for key, (cycle, since, until) in sorted(found.items()):
        ring = [(cycle[i], cycle[(i + 1) % len(cycle)]) for i in range(len(cycle))]
        within = {e: [g for g in edges[e] if since <= g.at <= until] for e in ring}
        drafts.append(
            FlagDraft(
                kind=FlagKind.GIFTING_RING,
                dedupe_key=key,
                subject=subject(" → ".join([*cycle, cycle[0]])),
                users=list(cycle),
                details={
                    "cycle": list(cycle),
                    "length": len(cycle),
                    "window": {"from": rfc3339(since), "to": rfc3339(until)},
                    "edges": [
                        {"from": s, "to": r, **_gift_summary(within[(s, r)])} for s, r in ring
                    ],
                    "total_coins": coins(sum(g.coins for gifts in within.values() for g in gifts)),
                    "thresholds": {
                        "min_coins_per_edge": coins(rules.min_coins),
                        "window_hours": rules.window_hours,
                        "max_length": rules.max_length,
                    },
                },
            )
        )
    return drafts


def _coins_within(gifts: Iterable[Gift], since: datetime, until: datetime) -> int:
    return sum(g.coins for g in gifts if since <= g.at <= until)


def _load_edges(
    reader: FraudReader,
    pairs: Sequence[tuple[str, str]],
    rules: RingRules,
    start: datetime,
    end: datetime,
) -> dict[tuple[str, str], list[Gift]]:
    """The window's gifts out of every user a cycle through a new edge can pass: the new
    edges' ends, then, hop by hop, whoever they gifted heavily (``max_length - 1`` hops)."""
    edges: dict[tuple[str, str], list[Gift]] = {}
    expanded: set[str] = set()
    frontier = {u for pair in pairs for u in pair}
    for _ in range(rules.max_length - 1):
        todo = sorted(frontier - expanded)
        if not todo:
            break
        for g in reader.gifts_sent_by(todo, start, end):
            edges.setdefault((g.sender, g.recipient), []).append(g)
        expanded.update(todo)
        frontier = {
            r
            for (s, r), gifts in edges.items()
            if s in todo and sum(g.coins for g in gifts) >= rules.min_coins
        }
    return edges


def _paths(
    adjacency: dict[str, list[str]],
    heavy: Callable[[tuple[str, str]], bool],
    node: str,
    target: str,
    hops: int,
    seen: frozenset[str],
) -> Iterator[list[str]]:
    """Simple paths of heavy edges from ``node`` to ``target`` of at most ``hops`` edges (the
    nodes after ``node``, ending with ``target``)."""
    for nxt in adjacency.get(node, ()):
        if not heavy((node, nxt)):
            continue
        if nxt == target:
            yield [nxt]
        elif hops > 1 and nxt not in seen:
            for rest in _paths(adjacency, heavy, nxt, target, hops - 1, seen | {nxt}):
                yield [nxt, *rest]


def _rotate(cycle: list[str]) -> list[str]:
    """The cycle started at its smallest user id (direction kept)."""
    first = cycle.index(min(cycle))
    return cycle[first:] + cycle[:first]


# --- bursts from new accounts --------------------------------------------------------------------
def detect_bursts(
    reader: FraudReader, rules: NewAccountBurstRules, new_edges: Sequence[NewEdge]
) -> list[FlagDraft]:
    """Senders of new gifts who sent one while their account was new."""
    if not rules.enabled or not new_edges:
        return []
    youth = timedelta(hours=rules.account_age_hours)
    window = timedelta(minutes=rules.window_minutes)
    created = reader.users_created(sorted({e.sender for e in new_edges}))
    young = {
        e.sender: created[e.sender]
        for e in new_edges
        if e.sender in created and e.first_at < created[e.sender] + youth
    }
    if not young:
        return []
    end = max(e.last_at for e in new_edges)
    sent: dict[str, list[Gift]] = {}
    for g in reader.gifts_sent_by(sorted(young), min(young.values()), end):
        born = young[g.sender]
        if born <= g.at < born + youth:
            sent.setdefault(g.sender, []).append(g)
    drafts = []
    for user, gifts in sorted(sent.items()):
        gifts.sort(key=lambda g: (g.at, g.txn_id))
        burst = _first_burst(gifts, window, rules)
        if burst is None:
            continue
        total = sum(g.coins for g in burst)
        reasons = [
            reason
            for reason, over in (
                ("coins", total > rules.max_coins),
                ("gifts", len(burst) > rules.max_gifts),
            )
            if over
        ]
        receivers = _recipients(burst)
        drafts.append(
            FlagDraft(
                kind=FlagKind.NEW_ACCOUNT_BURST,
                dedupe_key=dedupe_key(FlagKind.NEW_ACCOUNT_BURST, user),
                subject=subject(user),
                users=_unique([user, *(r["user"] for r in receivers)]),
                details={
                    "user": user,
                    "account_created_at": rfc3339(young[user]),
                    "reasons": reasons,
                    "window": {"from": rfc3339(burst[0].at), "to": rfc3339(burst[-1].at)},
                    "burst": _gift_summary(burst),
                    "recipients": receivers,
                    "sent_while_new": {
                        "coins": coins(sum(g.coins for g in gifts)),
                        "gifts": len(gifts),
                    },
                    "thresholds": {
                        "account_age_hours": rules.account_age_hours,
                        "window_minutes": rules.window_minutes,
                        "max_coins": coins(rules.max_coins),
                        "max_gifts": rules.max_gifts,
                    },
                },
            )
        )
    return drafts


def _first_burst(
    gifts: Sequence[Gift], window: timedelta, rules: NewAccountBurstRules
) -> list[Gift] | None:
    """The first run of gifts within ``window`` (``(last - window, last]``) carrying more than
    the maximum coins or gift requests, or None."""
    left, total = 0, 0
    for right, g in enumerate(gifts):
        total += g.coins
        while gifts[left].at <= g.at - window:
            total -= gifts[left].coins
            left += 1
        if total > rules.max_coins or right - left + 1 > rules.max_gifts:
            return list(gifts[left : right + 1])
    return None


# --- refunds and chargebacks after heavy gifting -------------------------------------------------
def detect_refunds(
    reader: FraudReader,
    rules: RefundAfterGiftingRules,
    events: Sequence[RefundEvent],
) -> list[FlagDraft]:
    if not rules.enabled or not events:
        return []
    within = timedelta(hours=rules.within_hours)
    buyers = sorted({e.user_id for e in events})
    start = min(e.at for e in events) - within
    end = max(e.at for e in events)
    gifts = reader.gifts_sent_by(buyers, start, end)
    drafts = []
    for e in sorted(events, key=lambda e: e.txn_id):
        before = [g for g in gifts if g.sender == e.user_id and e.at - within <= g.at <= e.at]
        gifted = sum(g.coins for g in before)
        if gifted < rules.min_gifted_coins:
            continue
        receivers = _recipients(before)
        event = REFUND_EVENTS.get(e.txn_kind, e.txn_kind)
        drafts.append(
            FlagDraft(
                kind=FlagKind.REFUND_AFTER_GIFTING,
                dedupe_key=dedupe_key(FlagKind.REFUND_AFTER_GIFTING, str(e.txn_id)),
                subject=subject(e.user_id),
                users=_unique([e.user_id, *(r["user"] for r in receivers)]),
                details={
                    "user": e.user_id,
                    "event": {
                        "type": event,
                        "transaction_id": str(e.txn_id),
                        "at": rfc3339(e.at),
                    },
                    "purchase": {
                        "id": str(e.purchase_id),
                        "provider": e.provider,
                        "coins": coins(e.coins),
                        "bonus_coins": coins(e.bonus_coins),
                        "price": amount_view(e.currency, e.price_minor),
                    },
                    "gifted": _gift_summary(before),
                    "recipients": receivers,
                    "thresholds": {
                        "within_hours": rules.within_hours,
                        "min_gifted_coins": coins(rules.min_gifted_coins),
                    },
                },
            )
        )
    return drafts


# --- one payment fingerprint, many accounts ------------------------------------------------------
def detect_shared_fingerprints(
    reader: FraudReader,
    rules: SharedFingerprintRules,
    fingerprints: Sequence[tuple[str, datetime]],
) -> list[FlagDraft]:
    """``fingerprints``: each fingerprint paid with in the scanned range, with its latest
    payment time."""
    if not rules.enabled:
        return []
    window = timedelta(days=rules.window_days)
    drafts = []
    for fp, last in sorted(fingerprints):
        paid = sorted(
            reader.purchases_with_fingerprint(fp, last - window, last), key=lambda p: (p.at, p.id)
        )
        users = _unique(p.user_id for p in paid)
        if len(users) < rules.min_users:
            continue
        drafts.append(
            FlagDraft(
                kind=FlagKind.SHARED_PAYMENT_FINGERPRINT,
                dedupe_key=dedupe_key(
                    FlagKind.SHARED_PAYMENT_FINGERPRINT, fp, period(last, window)
                ),
                subject=subject(", ".join(users)),
                users=users,
                details={
                    "fingerprint": fp,
                    "window": {"from": rfc3339(last - window), "to": rfc3339(last)},
                    "user_count": len(users),
                    "by_user": [_by_user(u, [p for p in paid if p.user_id == u]) for u in users],
                    "purchases": [_purchase(p) for p in paid[:MAX_LISTED]],
                    "purchases_total": len(paid),
                    "thresholds": {
                        "min_users": rules.min_users,
                        "window_days": rules.window_days,
                    },
                },
            )
        )
    return drafts


def _purchase(p: PaidPurchase) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "user": p.user_id,
        "provider": p.provider,
        "price": amount_view(p.currency, p.price_minor),
        "paid_at": rfc3339(p.at),
    }


def _by_user(user: str, paid: Sequence[PaidPurchase]) -> dict[str, Any]:
    per_currency: dict[str, int] = {}
    for p in paid:
        per_currency[p.currency] = per_currency.get(p.currency, 0) + p.price_minor
    return {
        "user": user,
        "purchases": len(paid),
        "paid": [amount_view(c, n) for c, n in sorted(per_currency.items())],
        "first_at": rfc3339(paid[0].at),
        "last_at": rfc3339(paid[-1].at),
    }


# --- withdrawals right after a payout method change ----------------------------------------------
def detect_method_changes(
    reader: FraudReader,
    rules: MethodChangeRules,
    requests: Sequence[WithdrawalRequest],
) -> list[FlagDraft]:
    if not rules.enabled or not requests:
        return []
    within = timedelta(hours=rules.within_hours)
    changes = reader.method_changes(sorted({w.user_id for w in requests}))
    drafts = []
    for w in sorted(requests, key=lambda w: w.id):
        recent = sorted(
            (c for c in changes if c.user_id == w.user_id and w.at - within <= c.at <= w.at),
            key=lambda c: (c.at, c.method_id),
        )
        if not recent:
            continue
        drafts.append(
            FlagDraft(
                kind=FlagKind.WITHDRAWAL_AFTER_METHOD_CHANGE,
                dedupe_key=dedupe_key(FlagKind.WITHDRAWAL_AFTER_METHOD_CHANGE, str(w.id)),
                subject=subject(w.user_id),
                users=[w.user_id],
                details={
                    "user": w.user_id,
                    "withdrawal": {
                        "id": str(w.id),
                        "transaction_id": str(w.id),  # the pending transfer reserving it
                        "state": w.state,
                        "method_id": str(w.method_id),
                        "diamonds": amount_view("DIAMOND", w.diamonds),
                        "gross": amount_view(w.currency, w.gross_minor),
                        "requested_at": rfc3339(w.at),
                    },
                    "method_changes": [
                        {
                            "method_id": str(c.method_id),
                            "kind": c.kind,
                            "masked": c.masked,
                            "change": c.change,
                            "at": rfc3339(c.at),
                            "minutes_before": int((w.at - c.at).total_seconds()) // 60,
                            "used_by_withdrawal": c.method_id == w.method_id,
                        }
                        for c in recent
                    ],
                    "thresholds": {"within_hours": rules.within_hours},
                },
            )
        )
    return drafts


# --- all of them ---------------------------------------------------------------------------------
def detect_all(
    reader: FraudReader,
    rules: FraudRules,
    label: str,
    *,
    edges: Sequence[NewEdge],
    refunds: Sequence[RefundEvent],
    fingerprints: Sequence[tuple[str, datetime]],
    withdrawals: Sequence[WithdrawalRequest],
) -> list[FlagDraft]:
    """Every detector over what is new; each draft's details name the policy version."""
    drafts = [
        *detect_rings(reader, rules.rings, edges),
        *detect_bursts(reader, rules.new_account_bursts, edges),
        *detect_refunds(reader, rules.refund_after_gifting, refunds),
        *detect_shared_fingerprints(reader, rules.shared_fingerprint, fingerprints),
        *detect_method_changes(reader, rules.withdrawal_after_method_change, withdrawals),
    ]
    for d in drafts:
        d.details["users"] = list(d.users)
        d.details["policy_version"] = label
    return drafts
