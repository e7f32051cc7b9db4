"""Exchanging diamonds for coins: one command, one transaction of two postings.

``ExchangeDiamonds`` checks, inside the batch, that the policy offers exchange
(``exchange.enabled``) in the user's region (``exchange.regions``, read from the user's profile
now), else ``exchange_unavailable`` (stored and replayed like any business refusal); then posts,
kind ``exchange``:

    creator:{u}:diamonds   → platform:diamonds:issued       (DIAMOND, the whole multiples)
    platform:coins:issued  → user:{u}:coins:exchanged       (COIN, multiples × ratio coins)

Only available diamonds are exchanged (never the earnings hold): more than the user has is
``insufficient_funds``. The remainder of the request is simply not taken. Exchanged coins are
spendable (gifts and items take them after bonus coins) and never cash-refundable: no refund
touches that sub-account.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from giftflow.clock import rfc3339
from giftflow.earnings.balances.repository import EarningsBatchRepository
from giftflow.earnings.exchange.schemas import ExchangeOut, RateOut
from giftflow.errors import ExchangeUnavailable, UserNotFound
from giftflow.http.schemas import AmountOut
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.model import AccountRef, Posting
from giftflow.money.amounts import amount_view
from giftflow.money.convert import Exchange
from giftflow.money.policy import Policy

DIAMOND, COIN = "DIAMOND", "COIN"
DIAMONDS_ISSUED = "platform:diamonds:issued"
COINS_ISSUED = "platform:coins:issued"
TXN_KIND = "exchange"


def diamonds_account(user_id: str) -> str:
    return f"creator:{user_id}:diamonds"


def coins_account(user_id: str) -> str:
    return f"user:{user_id}:coins:exchanged"


def unavailable_reason(policy: Policy, region: str | None) -> str | None:
    """Why the policy does not offer exchange to a user of ``region`` (None: it does)."""
    rules = policy.exchange
    if not rules.enabled:
        return "disabled"
    if rules.regions is not None and (region is None or region not in rules.regions):
        return "region"
    return None


def _out(asset: str, amount: int) -> AmountOut:
    return AmountOut(**amount_view(asset, amount))


class ExchangeDiamonds(Command):
    kind = "earnings.exchange"

    def __init__(self, user_id: str, requested: int, exchange: Exchange, policy: Policy) -> None:
        self.user_id = user_id
        self.requested = requested
        self.exchange = exchange
        self.policy = policy

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        book = ctx.book
        yield book.debit_ref(diamonds_account(self.user_id), DIAMOND)
        yield book.key_for(DIAMONDS_ISSUED, DIAMOND)
        yield book.debit_ref(COINS_ISSUED, COIN)
        yield book.key_for(coins_account(self.user_id), COIN)

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        u, ex, policy = self.user_id, self.exchange, self.policy
        exists, region = ctx.repository(EarningsBatchRepository).user_region(u)
        if not exists:
            raise UserNotFound(f"No user {u!r}: the platform creates it first.", users=[u])
        reason = unavailable_reason(policy, region)
        if reason is not None:
            raise ExchangeUnavailable(
                "Exchanging diamonds for coins is not offered"
                + (" in your region." if reason == "region" else "."),
                reason=reason,
                region=region,
            )
        txn = ctx.book.post(
            TXN_KIND,
            [
                Posting(diamonds_account(u), DIAMONDS_ISSUED, DIAMOND, ex.debited),
                Posting(COINS_ISSUED, coins_account(u), COIN, ex.coins),
            ],
            policy_version=policy.version_label,
            meta={"requested": str(self.requested)},
        )
        return ExchangeOut(
            transaction_id=str(txn.id),
            user_id=u,
            requested=_out(DIAMOND, self.requested),
            exchanged=_out(DIAMOND, ex.debited),
            kept=_out(DIAMOND, ex.remainder),
            coins=_out(COIN, ex.coins),
            rate=RateOut(
                diamonds=_out(DIAMOND, policy.exchange.diamond_hundredths),
                coins=_out(COIN, policy.exchange.coins),
            ),
            diamonds_available=_out(DIAMOND, ctx.book.balance(diamonds_account(u), DIAMOND)),
            exchanged_coins=_out(COIN, ctx.book.balance(coins_account(u), COIN)),
            policy_version=policy.version_label,
            created_at=rfc3339(txn.created_at),
        ).model_dump(mode="json")
