"""What a running server holds: settings, the reader engine, the ledger writer, the clock and the
room streams.

It lives at the app level, not in ``http/``: the app factory builds it, features read it through
the ``get_context`` dependency.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy import Engine

from giftflow.auth.keycache import ApiKeyCache
from giftflow.auth.sessions import SessionCache
from giftflow.clock import Clock
from giftflow.ledger.commands import Command
from giftflow.ledger.idempotency import IdempotencyRequest, InFlightRegistry, Outcome
from giftflow.ledger.writer import LedgerWriter
from giftflow.money.repository import PolicySource
from giftflow.payments.providers import PaymentProvider
from giftflow.payments.registry import providers_from_settings
from giftflow.payouts.providers import PayoutProvider
from giftflow.payouts.registry import payout_providers_from_settings
from giftflow.realtime.service import Realtime
from giftflow.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    writer: LedgerWriter
    clock: Clock
    inflight: InFlightRegistry = field(default_factory=InFlightRegistry)
    api_keys: ApiKeyCache = field(default_factory=ApiKeyCache)
    console_sessions: SessionCache = field(default_factory=SessionCache)
    policies: PolicySource = field(init=False)
    payments: dict[str, PaymentProvider] = field(init=False)
    payouts: dict[str, PayoutProvider] = field(init=False)
    realtime: Realtime = field(init=False)

    def __post_init__(self) -> None:
        self.policies = PolicySource(self.engine, self.settings.policy_profile)
        self.payments = providers_from_settings(self.settings)
        self.payouts = payout_providers_from_settings(self.settings, self.clock.now)
        self.realtime = Realtime(self.settings, self.engine, self.clock)

    async def submit(
        self, command: Command, idempotency: IdempotencyRequest | None = None
    ) -> Outcome:
        """Submit through the writer; under a key, a second request with the same key in this
        process gets 409 with Retry-After while the first is running (another process's
        duplicate is settled at commit by the unique key)."""
        if idempotency is None:
            return await self.writer.submit(command)
        self.inflight.acquire(idempotency)
        try:
            return await self.writer.submit(command, idempotency=idempotency)
        finally:
            self.inflight.release(idempotency)


async def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.giftflow
    return ctx
