"""The in-process API fixture (shared with tests/api) and an app that takes Stripe webhooks.

``stripe_api`` builds the app as ``tests/api/conftest.py`` does, with a Stripe signing secret,
and installs a recording ``EventSink`` at ``app.state.payment_sink`` once the app has started.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from giftflow.api import create_app
from giftflow.clock import FrozenClock
from giftflow.payments.events import EventKind, EventResult, ProviderEvent
from giftflow.settings import Settings
from tests.api.conftest import SECRET, api

from .stripe_support import WEBHOOK_SECRET, sign

__all__ = ["RecordingSink", "StripeApi", "api", "stripe_api"]


@dataclass
class RecordingSink:
    """An ``EventSink`` that records every event and, like the real one, answers ``duplicate``
    for an event id it has seen; otherwise ``outcome`` (``ignored`` for an IGNORED event)."""

    outcome: str = "credited"
    events: list[ProviderEvent] = field(default_factory=list)

    async def handle(self, event: ProviderEvent) -> EventResult:
        seen = any(e.event_id == event.event_id for e in self.events)
        self.events.append(event)
        if seen:
            return EventResult("duplicate", event.purchase_id)
        if event.kind is EventKind.IGNORED:
            return EventResult("ignored")
        return EventResult(self.outcome, event.purchase_id)


@dataclass
class StripeApi:
    app: FastAPI
    client: TestClient
    clock: FrozenClock
    sink: RecordingSink

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    def deliver(
        self, body: bytes, header: str | None = "sign", content_type: str = "application/json"
    ) -> httpx.Response:
        """POST ``body`` to the Stripe webhook; ``header="sign"`` signs it at the app's now."""
        headers = {"Content-Type": content_type}
        if header == "sign":
            header = sign(body, WEBHOOK_SECRET, self.now())
        if header is not None:
            headers["Stripe-Signature"] = header
        response: httpx.Response = self.client.post(
            "/v1/webhooks/stripe", content=body, headers=headers
        )
        return response


@pytest.fixture
def stripe_api(sqlite_url: str) -> Iterator[StripeApi]:
    clock = FrozenClock()
    settings = Settings(
        database_url=sqlite_url,
        jwt_secret=SECRET,
        pending_sweep_seconds=0,
        stripe_webhook_secret=WEBHOOK_SECRET,
    )
    app = create_app(settings, clock)
    with TestClient(app) as client:
        sink = RecordingSink()
        app.state.payment_sink = sink  # after startup, as the wallet registers it
        yield StripeApi(app, client, clock, sink)
