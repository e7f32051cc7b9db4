"""Withdrawals: the request with its checks, the payout queue, and the conversation with payout
providers (dispatch, recovery, polling, webhooks).

**Request** (``prepare_request`` then the guarded submit in the route): the user must exist and
not be frozen, have a verified identity when the policy requires it, and name one of their own
payout methods past its cooling-off period; the amount must convert to at least one minor unit
and reach the policy's minimum. Those are checked *before* the second-factor code, so a request
that cannot succeed does not spend the code. The code is checked once per Idempotency-Key (a
retried request replays its outcome), then ``RequestWithdrawal`` re-checks identity and checks
the available diamonds and the daily and weekly maxima atomically with the reservation.

**Dispatch** (``dispatch``): an approved withdrawal is first marked ``submitted`` in the ledger
(one writer wins if several try), and only then sent to the provider under its own id. If the
process dies between the two, or the provider cannot be reached, the withdrawal stays
``submitted`` and ``run_payouts`` (the maintenance loop) asks again under the same id: the
provider answers the payout it already has, so nothing is paid twice. The provider's status is
mapped by ``states.target_for`` and applied with ``AdvanceWithdrawal``. The same job polls
withdrawals at the provider, and paid ones for ``WATCH_PAID_DAYS`` (a late return or reversal).
Webhooks (``handle_event``) apply the same statuses, deduplicated by the provider's event id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from giftflow.context import AppContext
from giftflow.db import unit_of_work
from giftflow.earnings.identity.service import verify_second_factor
from giftflow.earnings.methods import repository as methods
from giftflow.earnings.methods.service import method_details
from giftflow.earnings.withdrawals import repository
from giftflow.earnings.withdrawals.commands import (
    VERIFIED,
    AdvanceWithdrawal,
    RequestWithdrawal,
    WithdrawalOrder,
    now_local,
    view,
)
from giftflow.earnings.withdrawals.schemas import (
    WithdrawalIn,
    WithdrawalOut,
    WithdrawalsPage,
)
from giftflow.earnings.withdrawals.states import (
    AT_PROVIDER,
    WithdrawalState,
    target_for,
)
from giftflow.errors import (
    AccountFrozen,
    BelowMinimum,
    GiftflowError,
    KycRequired,
    NotFound,
    ProviderError,
    UserNotFound,
)
from giftflow.money.amounts import amount_view
from giftflow.money.policy import Policy
from giftflow.payouts.providers import (
    PayoutProvider,
    PayoutRequest,
    PayoutResult,
    PayoutStatus,
)
from giftflow.payouts.registry import provider_for_method

log = logging.getLogger("giftflow.payouts")

WATCH_PAID_DAYS = 45  # PayPal returns an unclaimed payout after 30 days; reversals come later
POLL_BATCH = 200
RECOVER_AFTER = timedelta(seconds=30)  # a submitted withdrawal untouched this long is re-asked


# --- the request -------------------------------------------------------------------------------
def diamonds_for(policy: Policy, amount_minor: int) -> int:
    """The fewest hundredths of a diamond worth ``amount_minor`` gross (exact ratio, rounded
    up: ``cash_out`` of the result is exactly ``amount_minor``)."""
    c = policy.cashout
    return -(-amount_minor * c.per_diamond_hundredths // c.fiat_minor)


def prepare_request(ctx: AppContext, user_id: str, body: WithdrawalIn) -> RequestWithdrawal:
    """Every check that needs no lock, in the order a creator can fix them; the command."""
    now = ctx.clock.now()
    policy = ctx.policies.in_force(now)
    rules = policy.cashout
    with ctx.engine.connect() as conn:
        identity = repository.user_identity(conn, user_id)
        if identity is None:
            raise UserNotFound(
                f"No user {user_id!r}: the platform creates it first.", users=[user_id]
            )
        kyc, frozen = identity
        if frozen:
            raise AccountFrozen("This account is frozen: withdrawals wait until it is settled.")
        if rules.kyc_required and kyc != VERIFIED:
            raise KycRequired(kyc_status=kyc)
        method = methods.usable_method(conn, user_id, int(body.method_id), now)
    provider = provider_for_method(ctx.payouts, ctx.settings, method.kind)
    if body.diamonds is not None:
        requested = body.diamonds
    else:
        assert body.amount_minor is not None
        requested = diamonds_for(policy, body.amount_minor)
    cashout = policy.cash_out(requested)
    minimum = max(rules.minimum_minor or 0, 1)
    if cashout.gross_minor < minimum:
        raise BelowMinimum(
            f"The minimum withdrawal is {amount_view(rules.currency, minimum)['display']} "
            f"{rules.currency}; this is worth "
            f"{amount_view(rules.currency, cashout.gross_minor)['display']}.",
            minimum=minimum,
            gross=cashout.gross_minor,
            currency=rules.currency,
        )
    today, week = now_local(policy, now)
    order = WithdrawalOrder(
        user_id=user_id,
        method_id=method.id,
        provider=provider.name,
        requested=requested,
        cashout=cashout,
        today=today,
        week_start=week,
    )
    return RequestWithdrawal(order, policy)


def second_factor_guard(ctx: AppContext, user_id: str, code: str) -> Callable[[], Awaitable[None]]:
    """The code check, run once per Idempotency-Key (see ``submit_idempotent_guarded``)."""

    async def guard() -> None:
        await asyncio.to_thread(verify_second_factor, ctx, user_id, code)

    return guard


# --- reads -------------------------------------------------------------------------------------
def get_one(ctx: AppContext, withdrawal_id: int, owner: str | None) -> WithdrawalOut:
    """One withdrawal with its history; another user's is 404 like a missing one."""
    with ctx.engine.connect() as conn:
        row = repository.get(conn, withdrawal_id)
        if row is None or (owner is not None and row.user_id != owner):
            raise NotFound("No such withdrawal.", id=str(withdrawal_id))
        lines = repository.history(conn, [row.id])[row.id]
    return WithdrawalOut(**view(row, lines))


def page(
    ctx: AppContext,
    *,
    owner: str | None,
    state: WithdrawalState | None,
    limit: int,
    before: int | None,
) -> WithdrawalsPage:
    with ctx.engine.connect() as conn:
        rows, cursor = repository.page(conn, user_id=owner, state=state, limit=limit, before=before)
        lines = repository.history(conn, [r.id for r in rows])
    return WithdrawalsPage(
        data=[WithdrawalOut(**view(r, lines[r.id])) for r in rows],
        next_cursor=str(cursor) if cursor is not None else None,
    )


# --- transitions asked by people ---------------------------------------------------------------
def cancel_command(user_id: str, withdrawal_id: int) -> AdvanceWithdrawal:
    return AdvanceWithdrawal(
        withdrawal_id, WithdrawalState.CANCELED, note="canceled by the creator", owner=user_id
    )


def approve_command(ctx: AppContext, withdrawal_id: int, note: str | None) -> AdvanceWithdrawal:
    now = ctx.clock.now()
    policy = ctx.policies.in_force(now)
    return AdvanceWithdrawal(
        withdrawal_id,
        WithdrawalState.APPROVED,
        note=note or "approved by an operator",
        today=policy.local_date(now),
        payment_days=policy.cashout.payment_days,
    )


def reject_command(withdrawal_id: int, reason: str) -> AdvanceWithdrawal:
    return AdvanceWithdrawal(
        withdrawal_id, WithdrawalState.REJECTED, note=reason, failure_reason=reason
    )


# --- the providers -----------------------------------------------------------------------------
def _provider(ctx: AppContext, name: str) -> PayoutProvider | None:
    provider = ctx.payouts.get(name)
    if provider is None:
        log.warning("payout provider %r is not configured on this server", name)
    return provider


def _payout_request(ctx: AppContext, row: repository.WithdrawalRow) -> PayoutRequest:
    with ctx.engine.connect() as conn:
        method = methods.method_of(conn, row.user_id, row.method_id, include_removed=True)
    if method is None:
        raise ProviderError("The withdrawal's payout method no longer exists.", id=str(row.id))
    return PayoutRequest(
        withdrawal_id=row.id,
        user_id=row.user_id,
        net_minor=row.net_minor,
        currency=row.currency,
        method=method_details(ctx, method),
        note=f"giftflow withdrawal {row.id}",
    )


def _get(ctx: AppContext, withdrawal_id: int) -> repository.WithdrawalRow | None:
    with ctx.engine.connect() as conn:
        return repository.get(conn, withdrawal_id)


async def apply_result(
    ctx: AppContext, withdrawal_id: int, result: PayoutResult, provider: str | None = None
) -> str:
    """Apply what the provider said; returns the state it led to (or ``unchanged``). With
    ``provider`` (a webhook), a withdrawal paid through another provider is not touched."""
    row = await asyncio.to_thread(_get, ctx, withdrawal_id)
    if row is None or (provider is not None and row.provider != provider):
        return "unknown_withdrawal"
    target = target_for(row.state, result.status)
    if target is None:
        return "unchanged"
    outcome = await ctx.submit(
        AdvanceWithdrawal(
            withdrawal_id,
            target,
            note=f"{row.provider}: {result.status}",
            provider_ref=result.provider_ref,
            failure_reason=result.failure_reason,
        )
    )
    if not outcome.ok:  # another process applied a later status first
        log.info("withdrawal %s: %s not applied: %s", withdrawal_id, target, outcome.error_code)
        return "unchanged"
    return target.value


async def dispatch(ctx: AppContext, withdrawal_id: int) -> str:
    """Move one withdrawal along with its provider: submit an approved one, ask again for a
    submitted one (recovery), or poll one at the provider or recently paid. Returns what
    happened; provider failures are logged and left for the next round."""
    row = await asyncio.to_thread(_get, ctx, withdrawal_id)
    if row is None:
        return "unknown_withdrawal"
    provider = _provider(ctx, row.provider)
    if provider is None:
        return "provider_missing"
    first = row.state is WithdrawalState.APPROVED
    if first:
        outcome = await ctx.submit(
            AdvanceWithdrawal(withdrawal_id, WithdrawalState.SUBMITTED, note="sent to provider")
        )
        if not outcome.ok:
            return "taken"  # another process (or an admin) moved it first
    elif row.state not in AT_PROVIDER and row.state is not WithdrawalState.PAID:
        return "nothing_to_do"
    try:
        result = await asyncio.to_thread(_ask, ctx, provider, withdrawal_id, first)
    except GiftflowError as err:
        log.warning("payout %s: %s: %s", withdrawal_id, err.code, err.message)
        if not refused_for_good(err):
            return "provider_error"
        result = PayoutResult(PayoutStatus.FAILED, None, err.message[:200])
    if result is None:
        return "unchanged"
    return await apply_result(ctx, withdrawal_id, result)


def refused_for_good(err: GiftflowError) -> bool:
    """Whether the provider refused to create the payout for a reason retrying cannot fix (a
    4xx on create, a method it cannot pay): nothing was paid, so the withdrawal fails and the
    diamonds come back. Unreachable, 5xx, 429, a credentials problem (401/403: an operator's
    fix) or anything unclear stays ``submitted`` and is asked again under the same id."""
    d = err.details
    return (
        d.get("action") == "create_payout"
        and d.get("retryable") is False
        and d.get("reason") in {"http_error", "method_kind", "method_email"}
        and d.get("http_status") not in (401, 403)
    )


def _ask(
    ctx: AppContext, provider: PayoutProvider, withdrawal_id: int, first: bool
) -> PayoutResult | None:
    row = _get(ctx, withdrawal_id)
    if row is None:
        return None
    if first:
        return provider.submit(_payout_request(ctx, row))
    found = provider.lookup(row.id, row.provider_ref)
    if found is None and row.state is WithdrawalState.SUBMITTED:
        # the provider never answered (a crash, a timeout): submit again under the same id,
        # which answers the payout it already has if the first call did reach it
        return provider.submit(_payout_request(ctx, row))
    return found


@dataclass
class PayoutRound:
    submitted: int = 0
    polled: int = 0
    changed: int = 0
    errors: int = 0


def _due(ctx: AppContext) -> tuple[list[int], list[int]]:
    now = ctx.clock.now()
    with ctx.engine.connect() as conn:
        approved = repository.ids_in_states(
            conn, [WithdrawalState.APPROVED], limit=POLL_BATCH, updated_before=now
        )
        watched = repository.ids_in_states(
            conn,
            [WithdrawalState.SUBMITTED, WithdrawalState.IN_TRANSIT],
            limit=POLL_BATCH,
            updated_before=now - RECOVER_AFTER,
        ) + repository.paid_since(conn, now - timedelta(days=WATCH_PAID_DAYS), POLL_BATCH)
    return approved, watched


async def run_payouts(ctx: AppContext) -> PayoutRound:
    """One round of the payout job: submit approved withdrawals, recover submitted ones that
    never got an answer, poll those at the provider and watch paid ones for a late return."""
    approved, watched = await asyncio.to_thread(_due, ctx)
    done = PayoutRound()
    for withdrawal_id in approved + watched:
        what = await dispatch(ctx, withdrawal_id)
        if withdrawal_id in approved:
            done.submitted += 1
        else:
            done.polled += 1
        if what == "provider_error":
            done.errors += 1
        elif what in {s.value for s in WithdrawalState}:
            done.changed += 1
    return done


async def handle_event(
    ctx: AppContext, provider_name: str, headers: dict[str, str], body: bytes
) -> str:
    """A payout provider's webhook: verified, stored once by its event id, then applied."""
    provider = ctx.payouts.get(provider_name)
    if provider is None:
        raise NotFound("No such payout provider on this server.", provider=provider_name[:32])
    event = await asyncio.to_thread(provider.verify_event, headers, body)
    now = ctx.clock.now()

    def store() -> bool:
        with unit_of_work(ctx.engine) as conn:
            return repository.record_event(
                conn,
                provider=event.provider,
                event_id=event.event_id,
                event_type=event.event_type,
                withdrawal_id=event.withdrawal_id,
                outcome="received",
                payload=event.payload,
                at=now,
            )

    if not await asyncio.to_thread(store):
        return "duplicate"
    withdrawal_id = event.withdrawal_id
    if withdrawal_id is None or event.status is None:
        outcome = "ignored"
    else:
        outcome = await apply_result(
            ctx,
            withdrawal_id,
            PayoutResult(event.status, event.provider_ref, event.failure_reason),
            provider=event.provider,
        )

    def mark() -> None:
        with unit_of_work(ctx.engine) as conn:
            repository.set_event_outcome(conn, event.provider, event.event_id, outcome)

    await asyncio.to_thread(mark)
    return outcome
