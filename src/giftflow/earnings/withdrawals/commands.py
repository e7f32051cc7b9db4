"""Withdrawals inside the writer: a request reserves the diamonds, every later transition moves
value (or records that none moves) in the same commit as the new state and its history line.

Ledger, per transition (D diamonds, gross G = fee F + net N in the policy's currency, provider p):

- **request** (→ ``requested``, or ``approved`` under the auto-approval threshold): a pending
  transfer ``creator:{c}:diamonds → platform:holding:pending`` of D, destined for
  ``payouts:in_flight``; its id is the withdrawal's id. Checked atomically with it, against the
  locked creator account: identity (KYC, frozen), available diamonds, the daily and weekly
  maximum (gross, by the policy's local day; withdrawals of the same batch see each other).
- **approve**: nothing moves (the expected payment date is set from the policy's timeline).
- **reject / cancel**: the pending transfer is voided, D back to the creator.
- **submit**: the pending transfer is marked submitted (expiry never voids it) and kind
  ``payout_submit`` books the money: ``platform:equity:payouts → payouts:in_flight`` N and
  ``→ platform:fees:cashout`` F.
- **in transit**: nothing moves (the provider's reference is recorded).
- **paid**: the pending transfer is posted (D into ``payouts:in_flight``) and kind ``payout``
  retires the diamonds and pays: ``payouts:in_flight → platform:diamonds:issued`` D,
  ``payouts:in_flight → platform:cash:{p}`` N.
- **failed / returned before paid**: the pending transfer is voided (D back) and kind
  ``payout_failed`` undoes the money of the submit.
- **returned / reversed after paid**: kind ``payout_returned`` gives everything back:
  ``platform:diamonds:issued → creator:{c}:diamonds`` D, ``platform:cash:{p} →
  platform:equity:payouts`` N, ``platform:fees:cashout → platform:equity:payouts`` F.

So the creator's liability falls by exactly D when the payout is paid, and every failure gives D
back. A transition is checked against the table in ``states.py`` on the row as locked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from giftflow.clock import rfc3339
from giftflow.earnings.withdrawals import states
from giftflow.earnings.withdrawals.repository import (
    WITHDRAWAL_WRITES,
    HistoryRow,
    WithdrawalBatchRepository,
    WithdrawalRow,
)
from giftflow.earnings.withdrawals.states import WithdrawalState
from giftflow.errors import (
    AccountFrozen,
    InsufficientFunds,
    KycRequired,
    NotFound,
    UserNotFound,
    WithdrawalLimitExceeded,
)
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.model import AccountRef, Posting
from giftflow.ledger.pending import (
    CreatePending,
    PendingAction,
    check_transition,
    load_pending,
    pending_hints,
    resolve,
)
from giftflow.money.amounts import amount_view
from giftflow.money.convert import Cashout
from giftflow.money.policy import Policy

S = WithdrawalState
DIAMOND = "DIAMOND"
IN_FLIGHT = "payouts:in_flight"
EQUITY = "platform:equity:payouts"
FEES = "platform:fees:cashout"
ISSUED = "platform:diamonds:issued"
VERIFIED = "verified"


def available_account(user_id: str) -> str:
    return f"creator:{user_id}:diamonds"


def held_account(user_id: str) -> str:
    return f"creator:{user_id}:diamonds:pending"


def cash_account(provider: str) -> str:
    return f"platform:cash:{provider}"


def _amount(asset: str, amount: int) -> dict[str, Any]:
    return amount_view(asset, amount)


def view(row: WithdrawalRow, history: list[HistoryRow]) -> dict[str, Any]:
    """The withdrawal as the API shows it (``WithdrawalOut``)."""
    return {
        "object": "withdrawal",
        "id": str(row.id),
        "user_id": row.user_id,
        "state": row.state.value,
        "method_id": str(row.method_id),
        "provider": row.provider,
        "provider_ref": row.provider_ref,
        "diamonds": _amount(DIAMOND, row.diamonds),
        "gross": _amount(row.currency, row.gross_minor),
        "fee": _amount(row.currency, row.fee_minor),
        "net": _amount(row.currency, row.net_minor),
        "policy_version": row.policy_version,
        "local_day": row.local_day.isoformat(),
        "expected_payment_on": (
            row.expected_payment_on.isoformat() if row.expected_payment_on else None
        ),
        "failure_reason": row.failure_reason,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
        "history": [
            {
                "state": h.state,
                "at": rfc3339(h.at),
                "note": h.note,
                "transaction_id": str(h.txn_id) if h.txn_id is not None else None,
            }
            for h in history
        ],
    }


# --- batch memo: rows, history and limit sums as this batch sees them ---------------------------
def _row_key(withdrawal_id: int) -> tuple[str, int]:
    return ("earnings.withdrawal", withdrawal_id)


def _days_key(user_id: str, currency: str) -> tuple[str, str, str]:
    return ("earnings.withdrawal.days", user_id, currency)


def _history_key(withdrawal_id: int) -> tuple[str, int]:
    return ("earnings.withdrawal.history", withdrawal_id)


def _history(ctx: BatchContext, withdrawal_id: int) -> list[HistoryRow]:
    key = _history_key(withdrawal_id)
    if key not in ctx.book.memo:
        ctx.book.memo[key] = ctx.repository(WithdrawalBatchRepository).history(withdrawal_id)
    return list(ctx.book.memo[key])


def _append(
    ctx: BatchContext, row: WithdrawalRow, note: str | None, txn_id: int | None
) -> list[HistoryRow]:
    lines = _history(ctx, row.id)
    line = HistoryRow(row.id, len(lines) + 1, row.state.value, note, txn_id, ctx.now)
    lines.append(line)
    ctx.book.remember(_history_key(row.id), lines)
    ctx.book.stage(WITHDRAWAL_WRITES, ("history", line))
    return lines


def _save(ctx: BatchContext, row: WithdrawalRow, *, insert: bool = False) -> None:
    row.updated_at = ctx.now
    ctx.book.remember(_row_key(row.id), row.copy())
    ctx.book.stage(WITHDRAWAL_WRITES, ("insert" if insert else "update", row.copy()))


def _load(ctx: BatchContext, withdrawal_id: int) -> WithdrawalRow | None:
    cached: WithdrawalRow | None = ctx.book.memo.get(_row_key(withdrawal_id))
    if cached is not None:
        return cached.copy()
    found = ctx.repository(WithdrawalBatchRepository).lock(withdrawal_id)
    if found is not None:
        ctx.book.memo[_row_key(withdrawal_id)] = found.copy()
    return found


def _identity(ctx: BatchContext, user_id: str) -> tuple[str, bool]:
    found = ctx.repository(WithdrawalBatchRepository).user_identity(user_id)
    if found is None:
        raise UserNotFound(f"No user {user_id!r}: the platform creates it first.", users=[user_id])
    return found


# --- the request -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WithdrawalOrder:
    user_id: str
    method_id: int
    provider: str
    requested: int  # hundredths asked for (for amount_minor requests: the fewest worth it)
    cashout: Cashout  # what converts: debited, gross, fee, net, remainder
    today: date  # the policy's local day
    week_start: date  # Monday of its ISO week


class RequestWithdrawal(Command):
    kind = "earnings.withdrawal.request"

    def __init__(self, order: WithdrawalOrder, policy: Policy) -> None:
        self.order = order
        self.policy = policy

    def _pending(self) -> CreatePending:
        o = self.order
        return CreatePending(
            available_account(o.user_id),
            IN_FLIGHT,
            DIAMOND,
            o.cashout.debited,
            expires_at=None,
            policy_version=self.policy.version_label,
            memo="withdrawal",
        )

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        yield from self._pending().account_hints(ctx)
        yield ctx.book.key_for(held_account(self.order.user_id), DIAMOND)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        o, rules = self.order, self.policy.cashout
        kyc, frozen = _identity(ctx, o.user_id)
        if frozen:
            raise AccountFrozen("This account is frozen: withdrawals wait until it is settled.")
        if rules.kyc_required and kyc != VERIFIED:
            raise KycRequired(kyc_status=kyc)
        self._check_limits(ctx)
        available = ctx.book.balance(available_account(o.user_id), DIAMOND)
        if available < o.cashout.debited:
            held = ctx.book.balance(held_account(o.user_id), DIAMOND)
            raise InsufficientFunds(
                f"{amount_view(DIAMOND, available)['display']} diamonds are available"
                + (
                    f"; {amount_view(DIAMOND, held)['display']} more are still in the earnings hold"
                    if held > 0
                    else ""
                )
                + ".",
                available=available,
                held=held,
                wanted=o.cashout.debited,
            )
        pending = self._pending().apply(ctx)
        withdrawal_id = int(pending["id"])
        auto = rules.auto_approve_below_minor
        approved = auto is not None and o.cashout.gross_minor < auto
        row = WithdrawalRow(
            id=withdrawal_id,
            user_id=o.user_id,
            method_id=o.method_id,
            provider=o.provider,
            state=S.REQUESTED,
            diamonds=o.cashout.debited,
            gross_minor=o.cashout.gross_minor,
            fee_minor=o.cashout.fee_minor,
            net_minor=o.cashout.fiat_minor,
            currency=rules.currency,
            pending_id=withdrawal_id,
            provider_ref=None,
            policy_version=self.policy.version_label,
            local_day=o.today,
            expected_payment_on=o.today + timedelta(days=rules.payment_days),
            failure_reason=None,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        ctx.book.memo[_history_key(withdrawal_id)] = []
        lines = _append(ctx, row, None, withdrawal_id)
        if approved:
            row.state = S.APPROVED
            lines = _append(ctx, row, f"automatic: gross below {auto} minor units", None)
        _save(ctx, row, insert=True)
        return {
            **view(row, lines),
            "kept": _amount(DIAMOND, o.requested - o.cashout.debited),
            "diamonds_available": _amount(
                DIAMOND, ctx.book.balance(available_account(o.user_id), DIAMOND)
            ),
        }

    def _check_limits(self, ctx: BatchContext) -> None:
        o, rules = self.order, self.policy.cashout
        day_max, week_max = rules.maximum_per_day_minor, rules.maximum_per_week_minor
        if day_max is None and week_max is None:
            return
        key = _days_key(o.user_id, rules.currency)
        days: dict[date, int] | None = ctx.book.memo.get(key)
        if days is None:
            days = ctx.repository(WithdrawalBatchRepository).counted_days(
                o.user_id, rules.currency, o.week_start, o.week_start + timedelta(days=6)
            )
            ctx.book.memo[key] = dict(days)
        gross = o.cashout.gross_minor
        used_today = days.get(o.today, 0)
        used_week = sum(v for d, v in days.items() if o.week_start <= d <= o.today)
        for period, maximum, used in (("day", day_max, used_today), ("week", week_max, used_week)):
            if maximum is not None and used + gross > maximum:
                raise WithdrawalLimitExceeded(
                    f"This passes the {period}'s maximum of "
                    f"{amount_view(rules.currency, maximum)['display']} {rules.currency}: "
                    f"{amount_view(rules.currency, max(maximum - used, 0))['display']} is left.",
                    period=period,
                    maximum=maximum,
                    used=used,
                    left=max(maximum - used, 0),
                    requested=gross,
                    currency=rules.currency,
                )
        ctx.book.remember(key, {**days, o.today: used_today + gross})


# --- transitions -------------------------------------------------------------------------------
class AdvanceWithdrawal(Command):
    """Move one withdrawal to ``target`` (admin approve/reject, creator cancel, the provider's
    news), with the ledger effect of that transition; ``invalid_transition`` if the table does
    not allow it from the state the row is in when locked."""

    kind = "earnings.withdrawal.transition"
    success_status = 200

    def __init__(
        self,
        withdrawal_id: int,
        target: WithdrawalState,
        *,
        note: str | None = None,
        owner: str | None = None,
        provider_ref: str | None = None,
        failure_reason: str | None = None,
        today: date | None = None,
        payment_days: int | None = None,
    ) -> None:
        self.withdrawal_id = withdrawal_id
        self.target = WithdrawalState(target)
        self.note = note
        self.owner = owner  # set: only this user's withdrawal (another's is 404)
        self.provider_ref = provider_ref
        self.failure_reason = failure_reason
        self.today = today
        self.payment_days = payment_days

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        row = ctx.repository(WithdrawalBatchRepository).read(self.withdrawal_id)
        if row is None:
            return
        book, cur = ctx.book, row.currency
        if row.pending_id is not None:
            yield from pending_hints(ctx, [row.pending_id])
        yield book.key_for(available_account(row.user_id), DIAMOND)
        if self.target in (S.SUBMITTED, S.PAID, S.FAILED, S.RETURNED, S.REVERSED):
            yield book.debit_ref(EQUITY, cur)
            yield book.key_for(EQUITY, cur)
            yield book.debit_ref(IN_FLIGHT, cur)
            yield book.key_for(IN_FLIGHT, cur)
            yield book.debit_ref(FEES, cur)
            yield book.key_for(FEES, cur)
        if self.target in (S.PAID, S.RETURNED, S.REVERSED):
            yield book.key_for(IN_FLIGHT, DIAMOND)
            yield book.debit_ref(IN_FLIGHT, DIAMOND)
            yield book.key_for(ISSUED, DIAMOND)
            yield book.debit_ref(ISSUED, DIAMOND)
            yield book.key_for(cash_account(row.provider), cur)
            yield book.debit_ref(cash_account(row.provider), cur)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        row = _load(ctx, self.withdrawal_id)
        if row is None or (self.owner is not None and row.user_id != self.owner):
            raise NotFound("No such withdrawal.", id=str(self.withdrawal_id))
        source = row.state
        states.check(source, self.target, row.id)
        txn_id = self._move(ctx, row, source)
        row.state = self.target
        if self.provider_ref:
            row.provider_ref = self.provider_ref[:255]
        if self.failure_reason:
            row.failure_reason = self.failure_reason[:200]
        if self.target is S.APPROVED and self.today is not None and self.payment_days is not None:
            row.expected_payment_on = self.today + timedelta(days=self.payment_days)
        note = self.note or self.failure_reason
        lines = _append(ctx, row, note, txn_id)
        _save(ctx, row)
        return view(row, lines)

    def _move(self, ctx: BatchContext, row: WithdrawalRow, source: WithdrawalState) -> int | None:
        """Post what the transition ``source → self.target`` moves; the main transaction's id."""
        t = self.target
        if t is S.APPROVED or t is S.IN_TRANSIT:
            return None
        if t in (S.REJECTED, S.CANCELED):
            return self._pending(ctx, row, PendingAction.VOID)
        if t is S.SUBMITTED:
            self._pending(ctx, row, PendingAction.SUBMIT)
            return self._post(
                ctx,
                row,
                "payout_submit",
                [(EQUITY, IN_FLIGHT, row.net_minor), (EQUITY, FEES, row.fee_minor)],
            )
        if t is S.PAID:
            self._pending(ctx, row, PendingAction.POST)
            return self._post(
                ctx,
                row,
                "payout",
                [(IN_FLIGHT, cash_account(row.provider), row.net_minor)],
                diamonds=(IN_FLIGHT, ISSUED),
            )
        if source is S.PAID:  # returned or reversed after the money arrived
            return self._post(
                ctx,
                row,
                "payout_returned",
                [
                    (cash_account(row.provider), EQUITY, row.net_minor),
                    (FEES, EQUITY, row.fee_minor),
                ],
                diamonds=(ISSUED, available_account(row.user_id)),
            )
        # failed, or returned before it was ever paid: the reservation ends, the money comes back
        self._pending(ctx, row, PendingAction.VOID)
        return self._post(
            ctx,
            row,
            "payout_failed",
            [(IN_FLIGHT, EQUITY, row.net_minor), (FEES, EQUITY, row.fee_minor)],
        )

    def _pending(self, ctx: BatchContext, row: WithdrawalRow, action: PendingAction) -> int | None:
        if row.pending_id is None:
            raise AssertionError(f"withdrawal {row.id} has no pending transfer")
        pending = load_pending(ctx, row.pending_id)
        check_transition(pending, action, ctx.now)
        out = resolve(ctx, pending, action)
        txn = out.get("transaction")
        return int(txn["id"]) if isinstance(txn, dict) else None

    def _post(
        self,
        ctx: BatchContext,
        row: WithdrawalRow,
        kind: str,
        fiat: list[tuple[str, str, int]],
        diamonds: tuple[str, str] | None = None,
    ) -> int | None:
        postings = [Posting(s, d, row.currency, a) for s, d, a in fiat if a > 0]
        if diamonds is not None:
            postings.insert(0, Posting(diamonds[0], diamonds[1], DIAMOND, row.diamonds))
        if not postings:
            return None
        txn = ctx.book.post(
            kind,
            postings,
            policy_version=row.policy_version,
            meta={"withdrawal": str(row.id), "to": self.target.value},
        )
        return txn.id


def local_week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def now_local(policy: Policy, now: datetime) -> tuple[date, date]:
    today = policy.local_date(now)
    return today, local_week(today)
