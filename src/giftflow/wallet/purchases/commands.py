"""Purchase commands: every change of a purchase's state, with its postings, in one commit.

Postings (currency = the purchase's; P = price, F = store fee, N = P − F):

- confirm: ``platform:coins:issued → user:{u}:coins`` (coins) and ``→ user:{u}:coins:bonus``
  (bonus); ``platform:cash:{provider} → platform:revenue:coins`` (N) and
  ``→ platform:fees:store`` (F). The lot takes the next positions of the user's paid sequence.
- refund (giftflow, untouched lot): exactly the reverse.
- chargeback (dispute opened, or a refund the provider made on its own): the lot's remaining
  coins and what is left of its bonus go back to issuance; the money leaves cash: F from the
  store fee account, the value of the remaining coins from revenue, the value of the spent coins
  (N × spent / coins, rounded down) from ``platform:receivable:{u}`` — what the user now owes.
  Spending is frozen while that is owed.
- dispute won (or a provider refund reversed): the money comes back the same way, the removed
  coins and bonus are restored (the coins as a new segment at the end of the sequence), the
  receivable is cleared (or, if an operator had written it off, the write-off is recovered), the
  freeze lifted. Lost: nothing moves (the money left when the dispute opened).
- settle (admin): ``platform:equity:writeoffs → platform:receivable:{u}`` writes the debt off.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from giftflow.errors import InvalidTransition, NotFound, RefundNotAllowed
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.model import AccountRef, Posting
from giftflow.payments.events import EventKind, ProviderEvent
from giftflow.wallet.purchases import lots
from giftflow.wallet.purchases.batch import (
    coin_accounts,
    purchase,
    remove_from_sequence,
    repo,
    save_purchase,
    save_wallet,
    wallet,
)
from giftflow.wallet.purchases.caps import CapRule, check, windows
from giftflow.wallet.purchases.repository import WALLET, PurchaseRow, get_dispute, get_purchase
from giftflow.wallet.purchases.states import PurchaseEvent, PurchaseState, next_state
from giftflow.wallet.purchases.views import purchase_view

ISSUED = "platform:coins:issued"
REVENUE = "platform:revenue:coins"
STORE_FEES = "platform:fees:store"
WRITEOFFS = "platform:equity:writeoffs"


def _cash(row: PurchaseRow) -> str:
    return f"platform:cash:{row.provider}"


def _receivable(row: PurchaseRow) -> str:
    return f"platform:receivable:{row.user_id}"


def purchase_hints(ctx: BatchContext, row: PurchaseRow | None) -> Iterable[AccountRef]:
    """Every account any transition of ``row`` may touch."""
    if row is None:
        return
    book = ctx.book
    for path in coin_accounts(row.user_id):
        yield book.debit_ref(path, "COIN")
    yield book.debit_ref(ISSUED, "COIN")
    for path in (_cash(row), REVENUE, STORE_FEES, _receivable(row), WRITEOFFS):
        yield book.debit_ref(path, row.currency)
        yield book.key_for(path, row.currency)


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    """What a purchase is created with: the quote, and who pays how."""

    user_id: str
    channel: str
    provider: str
    region: str
    currency: str
    coins: int
    bonus_coins: int
    price_minor: int
    store_fee_minor: int
    pack: bool
    policy_version: str


class CreatePurchase(Command):
    """A pending purchase at the quoted price, refused if it would pass a purchase cap.

    Caps count the coins of every purchase created in the window that did not fail (pending
    ones too: a buyer cannot open many payments at once to pass a cap).
    """

    kind = "wallet.purchase.create"

    def __init__(self, order: PurchaseOrder, *, caps: list[CapRule], timezone: str) -> None:
        self.order = order
        self.caps = caps
        self.timezone = timezone

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        o = self.order
        w = windows(ctx.now, self.timezone)
        day_start = w.day_resets_at - timedelta(days=1)
        week_start = w.week_resets_at - timedelta(days=7)
        counts: dict[tuple[str | None, datetime], int] = {}
        for scope in (None, o.provider):
            for start, end in ((day_start, w.day_resets_at), (week_start, w.week_resets_at)):
                cached: int | None = ctx.book.memo.get(("wallet.bought", o.user_id, scope, start))
                if cached is None:
                    cached = repo(ctx).bought(o.user_id, scope, start, end)
                counts[(scope, start)] = cached
        by_provider = [r for r in self.caps if r.name.startswith("provider:")]
        overall = [r for r in self.caps if not r.name.startswith("provider:")]
        for rules, scope in ((overall, None), (by_provider, o.provider)):
            today, week = counts[(scope, day_start)], counts[(scope, week_start)]
            check(rules, w, today=today, this_week=week, adding=o.coins)
        for (scope, start), used in counts.items():
            ctx.book.remember(("wallet.bought", o.user_id, scope, start), used + o.coins)
        row = PurchaseRow(
            id=ctx.book.next_id(),
            user_id=o.user_id,
            channel=o.channel,
            provider=o.provider,
            region=o.region,
            currency=o.currency,
            pack_coins=o.coins if o.pack else None,
            coins=o.coins,
            bonus_coins=o.bonus_coins,
            price_minor=o.price_minor,
            store_fee_minor=o.store_fee_minor,
            policy_version=o.policy_version,
            state=PurchaseState.PENDING,
            provider_ref=None,
            failure_reason=None,
            refund_reason=None,
            credit_txn_id=None,
            lot_start=None,
            coins_removed=0,
            restored_start=None,
            restored_coins=0,
            created_at=ctx.now,
            updated_at=ctx.now,
            succeeded_at=None,
        )
        save_purchase(ctx, row, insert=True)
        return purchase_view(row)


# --- transitions (each returns the outcome recorded with a provider event) -------------------
def confirm(ctx: BatchContext, row: PurchaseRow, event: ProviderEvent | None = None) -> str:
    if next_state(row.state, PurchaseEvent.CONFIRM) is None:
        return "no_longer_possible"
    if event is not None and _mismatch(event, row):
        return "amount_mismatch"
    state = wallet(ctx, row.user_id)
    paid, bonus, cash = f"user:{row.user_id}:coins", coin_accounts(row.user_id)[0], _cash(row)
    postings = [Posting(ISSUED, paid, "COIN", row.coins)]
    if row.bonus_coins:
        postings.append(Posting(ISSUED, bonus, "COIN", row.bonus_coins))
    postings.append(Posting(cash, REVENUE, row.currency, row.price_minor - row.store_fee_minor))
    if row.store_fee_minor:
        postings.append(Posting(cash, STORE_FEES, row.currency, row.store_fee_minor))
    txn = ctx.book.post(
        "purchase",
        postings,
        policy_version=row.policy_version,
        meta={"purchase": str(row.id)},
    )
    row.lot_start = state.paid_total
    state.paid_total += row.coins
    row.state = PurchaseState.SUCCEEDED
    row.credit_txn_id = txn.id
    row.succeeded_at = ctx.now
    save_wallet(ctx, state)
    save_purchase(ctx, row)
    return "credited"


def _mismatch(event: ProviderEvent, row: PurchaseRow) -> bool:
    """The provider reports an amount or currency other than the purchase's price."""
    if event.amount_minor is None:
        return False
    return (event.amount_minor, event.currency or "") != (row.price_minor, row.currency)


def fail(ctx: BatchContext, row: PurchaseRow, reason: str) -> str:
    if next_state(row.state, PurchaseEvent.FAIL) is None:
        return "no_longer_possible"
    row.state = PurchaseState.FAILED
    row.failure_reason = reason[:200]
    save_purchase(ctx, row)
    return "failed"


def refund(ctx: BatchContext, row: PurchaseRow, reason: str, window_days: int) -> None:
    """Refund an untouched lot in full (the caller then asks the provider to pay it back)."""
    if next_state(row.state, PurchaseEvent.REFUND) is None:
        raise RefundNotAllowed(reason="not_succeeded", state=row.state.value)
    assert row.succeeded_at is not None
    assert row.lot_start is not None
    if ctx.now > row.succeeded_at + timedelta(days=window_days):
        raise RefundNotAllowed(reason="window_passed", window_days=window_days)
    state = wallet(ctx, row.user_id)
    bonus, _, paid = coin_accounts(row.user_id)
    if (
        lots.consumed(row.segments(), state.paid_spent) > 0
        or ctx.book.balance(bonus, "COIN") < row.bonus_coins
        or ctx.book.balance(paid, "COIN") < row.coins
    ):
        raise RefundNotAllowed(reason="spent")
    postings = [Posting(paid, ISSUED, "COIN", row.coins)]
    if row.bonus_coins:
        postings.append(Posting(bonus, ISSUED, "COIN", row.bonus_coins))
    postings.append(
        Posting(REVENUE, _cash(row), row.currency, row.price_minor - row.store_fee_minor)
    )
    if row.store_fee_minor:
        postings.append(Posting(STORE_FEES, _cash(row), row.currency, row.store_fee_minor))
    ctx.book.post(
        "purchase_refund",
        postings,
        policy_version=row.policy_version,
        memo=reason[:500],
        meta={"purchase": str(row.id)},
    )
    remove_from_sequence(ctx, row.user_id, row.lot_start, row.coins)
    state.paid_total -= row.coins
    row.coins_removed = row.coins
    row.state = PurchaseState.REFUNDED
    row.refund_reason = reason[:500]
    row.provider_refund_due_at = ctx.now  # until the provider confirms paying the money back
    save_wallet(ctx, state)
    save_purchase(ctx, row)


def dispute_of(ctx: BatchContext, purchase_id: int) -> dict[str, Any] | None:
    """The purchase's dispute case as this batch sees it: a case an earlier command of the batch
    opened, closed or settled is read from the batch, not from the database (else two settles in
    one batch would both see ``lost``). Call it after ``purchase()``, which locks the purchase row
    and so serialises cases across batches and processes."""
    key = ("wallet.dispute", purchase_id)
    if key in ctx.book.memo:
        found: dict[str, Any] | None = ctx.book.memo[key]
        return dict(found) if found is not None else None
    return repo(ctx).open_dispute(purchase_id)


def save_dispute(
    ctx: BatchContext, purchase_id: int, changes: dict[str, Any], *, insert: bool = False
) -> None:
    """Stage a new case (``insert``) or changes to the purchase's case, and remember the result
    for the rest of the batch (undone if the command fails)."""
    earlier = None if insert else dispute_of(ctx, purchase_id)
    ctx.book.remember(("wallet.dispute", purchase_id), {**(earlier or {}), **changes})
    ctx.book.stage(WALLET, ("dispute_insert" if insert else "dispute", changes))


def chargeback(ctx: BatchContext, row: PurchaseRow, event: PurchaseEvent) -> str:
    """The provider took the money back (a dispute, or its own refund)."""
    new_state = next_state(row.state, event)
    if new_state is None:
        return "no_longer_possible"
    if row.state is PurchaseState.PENDING:
        # refunded before it was confirmed: nothing was credited, nothing moves
        row.state = new_state
        row.refund_reason = "refunded by the provider before its confirmation arrived"
        save_purchase(ctx, row)
        return "refunded_before_confirmation"
    state = wallet(ctx, row.user_id)
    segs = row.segments()
    spent = lots.consumed(segs, state.paid_spent)
    base = sum(s.coins for s in segs)
    bonus, _, paid = coin_accounts(row.user_id)
    left = min(lots.remaining(segs, state.paid_spent), ctx.book.balance(paid, "COIN"))
    bonus_left = min(row.bonus_coins, ctx.book.balance(bonus, "COIN"))
    net = row.price_minor - row.store_fee_minor
    owed = net * spent // base if base else 0
    postings = []
    if left:
        postings.append(Posting(paid, ISSUED, "COIN", left))
    if bonus_left:
        postings.append(Posting(bonus, ISSUED, "COIN", bonus_left))
    if net - owed:
        postings.append(Posting(REVENUE, _cash(row), row.currency, net - owed))
    if row.store_fee_minor:
        postings.append(Posting(STORE_FEES, _cash(row), row.currency, row.store_fee_minor))
    if owed:
        postings.append(Posting(_receivable(row), _cash(row), row.currency, owed))
    kind = "purchase_dispute" if event is PurchaseEvent.DISPUTE_OPEN else "purchase_provider_refund"
    ctx.book.post(kind, postings, policy_version=row.policy_version, meta={"purchase": str(row.id)})
    # the remaining coins leave the sequence, highest segment first
    for seg in sorted(segs, key=lambda s: s.start, reverse=True):
        gone = seg.remaining(state.paid_spent)
        remove_from_sequence(ctx, row.user_id, seg.start + seg.consumed(state.paid_spent), gone)
        if seg.start == row.restored_start:
            row.restored_coins -= gone
        else:
            row.coins_removed += gone
        state.paid_total -= gone
    frozen = owed > 0 or event is PurchaseEvent.DISPUTE_OPEN
    if frozen:
        state.frozen_reason = f"chargeback:{row.id}"
    row.state = new_state
    save_wallet(ctx, state)
    save_purchase(ctx, row)
    # every chargeback is a case, even one that leaves nothing owed: a provider may reverse its
    # refund later, and the case is what says which coins to give back
    earlier = dispute_of(ctx, row.id)  # one case per purchase: reopened if any
    save_dispute(
        ctx,
        row.id,
        {
            "id": ctx.book.next_id() if earlier is None else earlier["id"],
            "purchase_id": row.id,
            "user_id": row.user_id,
            "state": "open" if event is PurchaseEvent.DISPUTE_OPEN else "lost",
            "coins_removed": left,
            "bonus_removed": bonus_left,
            "coins_spent": spent,
            "receivable_minor": owed,
            "currency": row.currency,
            "created_at": ctx.now,
            "closed_at": None if event is PurchaseEvent.DISPUTE_OPEN else ctx.now,
        },
        insert=earlier is None,
    )
    return "charged_back" if event is PurchaseEvent.DISPUTE_OPEN else "refunded_by_provider"


def close_dispute(ctx: BatchContext, row: PurchaseRow, won: bool) -> str:
    event = PurchaseEvent.DISPUTE_WIN if won else PurchaseEvent.DISPUTE_LOSE
    new_state = next_state(row.state, event)
    dispute = dispute_of(ctx, row.id)
    if new_state is None or dispute is None:
        return "no_longer_possible"
    # a refund the provider made on its own left a closed case (lost, or settled by an operator);
    # a refund giftflow made has no case at all, so it cannot be "reversed" into coins
    reversal = row.state is PurchaseState.REFUNDED
    if dispute["state"] != "open" and not (reversal and dispute["state"] in ("lost", "settled")):
        return "no_longer_possible"
    state = wallet(ctx, row.user_id)
    if won:
        net = row.price_minor - row.store_fee_minor
        owed, coins, bonus_coins = (
            dispute["receivable_minor"],
            dispute["coins_removed"],
            dispute["bonus_removed"],
        )
        bonus, _, paid = coin_accounts(row.user_id)
        postings = []
        if net - owed:
            postings.append(Posting(_cash(row), REVENUE, row.currency, net - owed))
        if row.store_fee_minor:
            postings.append(Posting(_cash(row), STORE_FEES, row.currency, row.store_fee_minor))
        if owed:
            # a debt already written off is recovered into the write-off account instead
            owed_to = WRITEOFFS if dispute["state"] == "settled" else _receivable(row)
            postings.append(Posting(_cash(row), owed_to, row.currency, owed))
        if coins:
            postings.append(Posting(ISSUED, paid, "COIN", coins))
        if bonus_coins:
            postings.append(Posting(ISSUED, bonus, "COIN", bonus_coins))
        ctx.book.post(
            "purchase_dispute_won",
            postings,
            policy_version=row.policy_version,
            meta={"purchase": str(row.id)},
        )
        if coins:
            row.restored_start = state.paid_total if not row.restored_coins else row.restored_start
            row.restored_coins += coins
            state.paid_total += coins
        if state.frozen_reason == f"chargeback:{row.id}":
            state.frozen_reason = None
        save_wallet(ctx, state)
    row.state = new_state
    save_purchase(ctx, row)
    closed = {"id": dispute["id"], "state": "won" if won else "lost", "closed_at": ctx.now}
    save_dispute(ctx, row.id, closed)
    return "dispute_won" if won else "dispute_lost"


# --- commands ----------------------------------------------------------------------------------
class ConfirmPurchase(Command):
    """Synchronous confirmation (sandbox): credit, or fail with the provider's reason."""

    kind = "wallet.purchase.confirm"
    success_status = 200

    def __init__(self, purchase_id: int, *, failure_reason: str | None = None) -> None:
        self.purchase_id = purchase_id
        self.failure_reason = failure_reason

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        return purchase_hints(ctx, get_purchase(ctx.repo.conn, self.purchase_id))

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        row = purchase(ctx, self.purchase_id)
        if self.failure_reason is None:
            outcome = confirm(ctx, row)
        else:
            outcome = fail(ctx, row, self.failure_reason)
        return {"outcome": outcome, "purchase": purchase_view(row)}


class RefundPurchase(Command):
    kind = "wallet.purchase.refund"
    success_status = 200

    def __init__(self, purchase_id: int, *, user_id: str | None, reason: str, window_days: int):
        self.purchase_id = purchase_id
        self.user_id = user_id  # None: an admin may refund anyone's purchase
        self.reason = reason
        self.window_days = window_days

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        return purchase_hints(ctx, get_purchase(ctx.repo.conn, self.purchase_id))

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        row = purchase(ctx, self.purchase_id)
        if self.user_id is not None and row.user_id != self.user_id:
            raise NotFound("No such purchase.", id=str(self.purchase_id))
        refund(ctx, row, self.reason, self.window_days)
        return purchase_view(row)


class ProviderRefundPaid(Command):
    """The provider confirmed paying a giftflow refund back: nothing is owed to the buyer now."""

    kind = "wallet.purchase.provider_refund_paid"
    success_status = 200

    def __init__(self, purchase_id: int) -> None:
        self.purchase_id = purchase_id

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        row = purchase(ctx, self.purchase_id)
        if row.provider_refund_due_at is not None:
            row.provider_refund_due_at = None
            save_purchase(ctx, row)
        return purchase_view(row)


class SettleDispute(Command):
    """An operator writes off what a user owes after a chargeback and lifts the freeze."""

    kind = "wallet.dispute.settle"
    success_status = 200

    def __init__(self, dispute_id: int, *, note: str) -> None:
        self.dispute_id = dispute_id
        self.note = note

    def _dispute(self, ctx: BatchContext) -> dict[str, Any]:
        found = get_dispute(ctx.repo.conn, self.dispute_id)
        if found is None:
            raise NotFound("No such dispute.", id=str(self.dispute_id))
        return found

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        dispute = self._dispute(ctx)
        return purchase_hints(ctx, get_purchase(ctx.repo.conn, dispute["purchase_id"]))

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        row = purchase(ctx, self._dispute(ctx)["purchase_id"])  # locked: one settle at a time
        dispute = dispute_of(ctx, row.id)
        if dispute is None:  # one case per purchase: this one
            raise NotFound("No such dispute.", id=str(self.dispute_id))
        if dispute["state"] != "lost":
            raise InvalidTransition(
                "Only a lost dispute can be settled (an open one is decided by the provider; "
                "a settled one is done).",
                state=dispute["state"],
            )
        if dispute["receivable_minor"]:
            ctx.book.post(
                "receivable_writeoff",
                [Posting(WRITEOFFS, _receivable(row), row.currency, dispute["receivable_minor"])],
                policy_version=row.policy_version,
                memo=self.note[:500],
                meta={"purchase": str(row.id), "dispute": str(self.dispute_id)},
            )
        state = wallet(ctx, row.user_id)
        if state.frozen_reason == f"chargeback:{row.id}":
            state.frozen_reason = None
            save_wallet(ctx, state)
        save_dispute(
            ctx, row.id, {"id": self.dispute_id, "state": "settled", "note": self.note[:500]}
        )
        return {"id": str(self.dispute_id), "object": "dispute", "state": "settled"}


class ApplyProviderEvent(Command):
    """A verified provider event, applied once: deduplicated by (provider, event id) in the same
    commit as its effect, stored for audit whatever it did."""

    kind = "wallet.provider_event"
    success_status = 200

    def __init__(self, event: ProviderEvent) -> None:
        self.event = event

    def _purchase_id(self, ctx: BatchContext) -> int | None:
        e = self.event
        if e.provider_ref is not None:
            found = repo(ctx).purchase_by_ref(e.provider, e.provider_ref)
            if found is not None:
                return found
        if e.purchase_id is not None:
            row = get_purchase(ctx.repo.conn, e.purchase_id)
            if row is not None and row.provider == e.provider:
                return row.id
        return None

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        found = self._purchase_id(ctx)
        if found is None:
            return ()
        return purchase_hints(ctx, get_purchase(ctx.repo.conn, found))

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        e = self.event
        memo_key = ("wallet.event", e.provider, e.event_id)
        if ctx.book.memo.get(memo_key) or repo(ctx).event_seen(e.provider, e.event_id):
            return {"outcome": "duplicate", "purchase_id": None}
        purchase_id = self._purchase_id(ctx)
        outcome = "unknown_purchase"
        if purchase_id is not None:
            outcome = self._apply(ctx, purchase(ctx, purchase_id))
        ctx.book.remember(memo_key, True)
        ctx.book.stage(
            WALLET,
            (
                "event",
                {
                    "provider": e.provider,
                    "event_id": e.event_id,
                    "event_type": e.event_type[:100],
                    "purchase_id": purchase_id,
                    "outcome": outcome,
                    "payload": e.payload,
                    "received_at": ctx.now,
                },
            ),
        )
        return {"outcome": outcome, "purchase_id": str(purchase_id) if purchase_id else None}

    def _apply(self, ctx: BatchContext, row: PurchaseRow) -> str:
        e = self.event
        if e.kind is EventKind.PAYMENT_SUCCEEDED:
            return confirm(ctx, row, e)
        if e.kind is EventKind.PAYMENT_FAILED:
            return fail(ctx, row, e.event_type)
        full = e.amount_minor is None or e.amount_minor == row.price_minor
        if e.kind in (EventKind.REFUNDED, EventKind.DISPUTE_OPENED) and not full:
            return "partial_amount_needs_review"
        if e.kind is EventKind.REFUNDED:
            if row.state is PurchaseState.REFUNDED:
                return "no_longer_possible"  # giftflow's own refund, reported back
            return chargeback(ctx, row, PurchaseEvent.PROVIDER_REFUND)
        if e.kind is EventKind.DISPUTE_OPENED:
            return chargeback(ctx, row, PurchaseEvent.DISPUTE_OPEN)
        if e.kind in (EventKind.DISPUTE_WON, EventKind.DISPUTE_LOST):
            return close_dispute(ctx, row, e.kind is EventKind.DISPUTE_WON)
        if e.kind is EventKind.CONSUMPTION_REQUEST:
            return "recorded_for_review"
        return "ignored"
