"""The rules of buying coins, between the routes and the ledger writer.

A purchase goes: checks (the buyer exists, is old enough, no guardian forbids it) → a quote from
the store (price list, bonus) → ``CreatePurchase`` through the writer under the request's key
(caps checked in the same commit) → the provider is asked to start the payment (idempotent by
purchase id, so a retried request resumes instead of paying twice) → a synchronous answer
(sandbox) is applied by ``ConfirmPurchase``; otherwise the provider's webhook will be. Refunds
change the ledger first and then ask the provider to pay the money back; a provider refund
that fails stays due on the purchase and the maintenance loop asks again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from giftflow.clock import age_on, in_utc
from giftflow.context import AppContext
from giftflow.errors import (
    AgeRestricted,
    GiftflowError,
    LedgerWriteFailed,
    NotFound,
    PaymentDeclined,
    PurchasesDisabled,
    UserNotFound,
    ValidationFailed,
    WriterUnavailable,
)
from giftflow.jsontext import dumps
from giftflow.ledger.idempotency import IdempotencyRequest, Outcome
from giftflow.money.policy import Policy
from giftflow.payments.events import EventKind, EventResult, ProviderEvent
from giftflow.payments.providers import PaymentProvider, PaymentRequest, StartStatus
from giftflow.payments.registry import provider_for
from giftflow.wallet.guardians.repository import links_of_ward
from giftflow.wallet.purchases import repository
from giftflow.wallet.purchases.caps import CapRule, purchase_rules
from giftflow.wallet.purchases.commands import (
    ApplyProviderEvent,
    ConfirmPurchase,
    CreatePurchase,
    ProviderRefundPaid,
    PurchaseOrder,
    RefundPurchase,
    SettleDispute,
)
from giftflow.wallet.purchases.schemas import PurchaseIn
from giftflow.wallet.purchases.states import PurchaseState
from giftflow.wallet.purchases.views import purchase_view
from giftflow.wallet.store.service import default_currency, quote

log = logging.getLogger("giftflow.purchases")


def check_buyer(ctx: AppContext, policy: Policy, user_id: str) -> tuple[str, list[CapRule]]:
    """The buyer's region and guardian cap rules; refuses the unknown, the under-age and the
    accounts a guardian closed to purchases."""
    with ctx.engine.connect() as conn:
        facts = repository.profile(conn, user_id)
        links = links_of_ward(conn, user_id)
    if facts is None:
        raise UserNotFound(f"No user {user_id!r}: the platform creates it first.", users=[user_id])
    minimum = policy.age.minimum_to_buy
    if minimum:
        birth = facts["birth_date"]
        today = policy.local_date(ctx.clock.now())
        if birth is None:
            raise AgeRestricted(
                "The platform has not told giftflow this user's birth date.",
                reason="age_unknown",
                minimum_age=minimum,
            )
        if age_on(birth, today) < minimum:
            raise AgeRestricted(reason="under_age", minimum_age=minimum)
    rules: list[CapRule] = []
    for link in links:
        if not link["purchases_enabled"]:
            raise PurchasesDisabled(rule="guardian_purchases_off", link=str(link["id"]))
        if link["daily_cap_coins"] is not None:
            rules.append(CapRule(f"guardian:{link['id']} daily", "day", link["daily_cap_coins"]))
    return facts["region"] or "*", rules


async def buy(ctx: AppContext, user_id: str, body: PurchaseIn, ireq: IdempotencyRequest) -> Outcome:
    """Create (or resume) the purchase the request's key names. A retry with the key is
    ``replayed`` (its purchase answered as it is now)."""
    policy = ctx.policies.in_force(ctx.clock.now())
    provider = provider_for(ctx.payments, body.provider)
    region, guardian_rules = check_buyer(ctx, policy, user_id)
    currency = body.currency or default_currency(policy, region, body.channel)
    with ctx.engine.connect() as conn:
        first = not repository.has_purchased(conn, user_id)
    q = quote(
        policy,
        region=region,
        channel=body.channel,
        currency=currency,
        coins=body.pack if body.pack is not None else int(body.coins or 0),
        custom=body.pack is None,
        first_purchase=first,
        now=ctx.clock.now(),
    )
    order = PurchaseOrder(
        user_id=user_id,
        channel=body.channel,
        provider=provider.name,
        region=q.region,
        currency=q.currency,
        coins=q.coins,
        bonus_coins=q.bonus_coins,
        price_minor=q.price_minor,
        store_fee_minor=q.store_fee_minor,
        pack=q.pack,
        policy_version=q.policy_version,
    )
    caps = purchase_rules(policy, region, provider.name) + guardian_rules
    created = await ctx.submit(CreatePurchase(order, caps=caps, timezone=policy.timezone), ireq)
    if not created.ok:
        return created
    answer = await _start(ctx, provider, purchase_id=int(created.body["id"]), body=body)
    if answer.status < 500:  # a 5xx is the writer's failure now, not a stored answer replayed
        answer.replayed = created.replayed
    return answer


async def _start(
    ctx: AppContext, provider: PaymentProvider, purchase_id: int, body: PurchaseIn
) -> Outcome:
    """Ask the provider for the payment (again, idempotently) and apply a synchronous answer."""
    row = _purchase(ctx, purchase_id)
    if row.state is not PurchaseState.PENDING:
        return _answer(row)
    request = PaymentRequest(
        purchase_id=row.id,
        user_id=row.user_id,
        amount_minor=row.price_minor,
        currency=row.currency,
        description=f"{row.coins} coins",
        card_number=body.card.number if body.card is not None else None,
    )
    started = await asyncio.to_thread(provider.start, request)
    with ctx.engine.begin() as conn:
        repository.set_provider_ref(
            conn, row.id, started.provider_ref, ctx.clock.now(), started.payment_fingerprint
        )
    if started.status is StartStatus.PENDING:
        out = purchase_view(_purchase(ctx, purchase_id))
        return Outcome(201, {**out, "client_secret": started.client_secret})
    reason = started.failure_reason if started.status is StartStatus.FAILED else None
    confirmed = await ctx.submit(ConfirmPurchase(row.id, failure_reason=reason))
    if not confirmed.ok and confirmed.status < 500:
        # the ledger refused the credit for good (e.g. the balance would pass the amount
        # limit): the purchase fails with that reason rather than staying pending forever
        refused = f"credit_refused:{confirmed.error_code}"
        confirmed = await ctx.submit(ConfirmPurchase(row.id, failure_reason=refused))
    if not confirmed.ok:
        # the writer could not take it (503, with its Retry-After) or failed (500): the purchase
        # is still pending and a retry with the same key confirms it
        return confirmed
    return _answer(_purchase(ctx, purchase_id))


def _answer(row: repository.PurchaseRow) -> Outcome:
    if row.state is PurchaseState.FAILED:
        err = PaymentDeclined(
            f"The payment was declined ({row.failure_reason}).",
            reason=row.failure_reason,
            purchase=str(row.id),
        )
        return Outcome.from_error(err)
    return Outcome(201, purchase_view(row))


def _purchase(ctx: AppContext, purchase_id: int) -> repository.PurchaseRow:
    with ctx.engine.connect() as conn:
        row = repository.get_purchase(conn, purchase_id)
    if row is None:
        raise NotFound("No such purchase.", id=str(purchase_id))
    return row


def get(ctx: AppContext, purchase_id: int, user_id: str | None) -> dict[str, Any]:
    """One purchase with what is left of its lot; another user's is 404 (no leak)."""
    with ctx.engine.connect() as conn:
        row = repository.get_purchase(conn, purchase_id)
        _, spent = repository.lots(conn, row.user_id) if row else ([], 0)
    if row is None or (user_id is not None and row.user_id != user_id):
        raise NotFound("No such purchase.", id=str(purchase_id))
    return purchase_view(row, spent)


def page(
    ctx: AppContext, user_id: str, limit: int, before_id: int | None
) -> tuple[list[dict[str, Any]], str | None]:
    with ctx.engine.connect() as conn:
        rows = repository.list_purchases(conn, user_id, limit=limit + 1, before_id=before_id)
        _, spent = repository.lots(conn, user_id)
    more = len(rows) > limit
    rows = rows[:limit]
    return [purchase_view(r, spent) for r in rows], (str(rows[-1].id) if more else None)


async def refund(
    ctx: AppContext,
    purchase_id: int,
    user_id: str | None,
    reason: str,
    ireq: IdempotencyRequest,
) -> Outcome:
    """Take the coins back in the ledger, then have the provider pay the money back."""
    policy = ctx.policies.in_force(ctx.clock.now())
    command = RefundPurchase(
        purchase_id, user_id=user_id, reason=reason, window_days=policy.refund_window_days
    )
    outcome = await ctx.submit(command, ireq)
    if outcome.ok and not outcome.replayed:
        await pay_back(ctx, _purchase(ctx, purchase_id))
    return outcome


async def pay_back(ctx: AppContext, row: repository.PurchaseRow) -> bool:
    """Ask the provider to pay a giftflow refund back (idempotent by ``refund-{id}``); on success
    the purchase no longer shows a provider refund due. A failure is logged and left due: the
    maintenance loop asks again (``retry_provider_refunds``)."""
    provider = ctx.payments.get(row.provider)
    try:
        if provider is None or row.provider_ref is None:
            raise NotFound("The purchase's provider is not configured.")
        await asyncio.to_thread(
            provider.refund, row.provider_ref, row.price_minor, row.currency, f"refund-{row.id}"
        )
    except GiftflowError:
        log.exception("provider refund of purchase %s failed; it stays due", row.id)
        return False
    await ctx.submit(ProviderRefundPaid(row.id))
    return True


async def retry_provider_refunds(ctx: AppContext, *, older_than: timedelta, limit: int = 50) -> int:
    """Ask the providers again for the refunds still due for longer than ``older_than`` (the
    request that made them is given time to finish first). Returns how many succeeded."""
    before = ctx.clock.now() - older_than
    with ctx.engine.connect() as conn:
        due = repository.refunds_due(conn, before=before, limit=limit)
    paid = 0
    for row in due:
        paid += await pay_back(ctx, row)
    return paid


class PurchaseEvents:
    """The wallet's ``EventSink``: every verified provider event through the writer, once."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def handle(self, event: ProviderEvent) -> EventResult:
        outcome = await self.ctx.writer.submit(ApplyProviderEvent(event))
        if not outcome.ok:
            # a writer failure (503 overloaded/unavailable, 500): the webhook answers it and the
            # provider delivers the event again later
            message = str(outcome.body["error"]["message"])
            if outcome.status == 503:
                raise WriterUnavailable(message)
            raise LedgerWriteFailed(message)
        found = outcome.body.get("purchase_id")
        if found and event.payment_fingerprint is not None:
            # the card's fingerprint as the provider reported it (Stripe), for the fraud scan
            await asyncio.to_thread(self._fingerprint, int(found), event.payment_fingerprint)
        return EventResult(str(outcome.body["outcome"]), int(found) if found else None)

    def _fingerprint(self, purchase_id: int, fingerprint: str) -> None:
        with self.ctx.engine.begin() as conn:
            repository.set_fingerprint(conn, purchase_id, fingerprint)


async def sandbox_dispute(
    ctx: AppContext, purchase_id: int, action: str, ireq: IdempotencyRequest
) -> Outcome:
    """What a card network does to a sandbox purchase: open, win or lose a chargeback. The
    event is applied under the request's key like any write: a retry replays its outcome, and
    the key sent for another purchase or action is ``idempotency_key_reused``."""
    row = _purchase(ctx, purchase_id)
    if row.provider != "sandbox":
        raise NotFound("Only sandbox purchases can be disputed from here.", id=str(purchase_id))
    kind = {
        "open": EventKind.DISPUTE_OPENED,
        "won": EventKind.DISPUTE_WON,
        "lost": EventKind.DISPUTE_LOST,
    }[action]
    event = ProviderEvent(
        provider="sandbox",
        event_id=f"admin:{ireq.scope}:{ireq.key}"[:255],
        event_type=f"sandbox.dispute.{action}",
        kind=kind,
        provider_ref=row.provider_ref,
        purchase_id=row.id,
        amount_minor=row.price_minor,
        currency=row.currency,
        payload=f'{{"purchase": "{row.id}", "action": "{action}"}}',
    )
    return await ctx.submit(ApplyProviderEvent(event), ireq)


def disputes(
    ctx: AppContext, state: str | None, limit: int, before_id: int | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of disputes, newest first, and the cursor of the next page (None: the last)."""
    with ctx.engine.connect() as conn:
        rows = repository.list_disputes(conn, state=state, limit=limit + 1, before_id=before_id)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1]["id"]) if more else None)


async def settle(ctx: AppContext, dispute_id: int, note: str, ireq: IdempotencyRequest) -> Outcome:
    return await ctx.submit(SettleDispute(dispute_id, note=note), ireq)


def events(
    ctx: AppContext, outcome: str | None, event_type: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of provider events, newest first, and the cursor of the next page (None: the
    last). The cursor is the last event's key, ``(received_at, provider, event_id)``."""
    before = _event_key(cursor) if cursor is not None else None
    with ctx.engine.connect() as conn:
        rows = repository.list_events(
            conn, outcome=outcome, event_type=event_type, limit=limit + 1, before=before
        )
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    key = [last["received_at"].isoformat(), last["provider"], last["event_id"]]
    return rows[:limit], base64.urlsafe_b64encode(dumps(key).encode()).decode().rstrip("=")


def _event_key(cursor: str) -> tuple[datetime, str, str]:
    """The key a ``next_cursor`` of ``events`` carries; anything else is a validation error."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        at, provider, event_id = raw
        when = in_utc(datetime.fromisoformat(at))  # naive or beyond UTC's years: ValueError
        if not (isinstance(provider, str) and isinstance(event_id, str)):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error):
        raise ValidationFailed("cursor is not valid.", cursor=cursor[:40]) from None
    return when, provider, event_id
