"""A small in-process PayPal (Payouts v1, OAuth2, webhook verification) behind
``httpx.MockTransport``, so ``PayPalPayouts`` is tested without a network.

``FakePayPal`` keeps batches by ``sender_batch_id`` like PayPal: a second create with the same id
answers 400 ``USER_BUSINESS_ERROR`` with a HATEOAS link to the original (under
``details[].link``, as PayPal does), so a test can prove that only one batch ever exists. It can
be told to fail the next calls (an HTTP status, a timeout, a refused connection), to deny
batches, to revoke its tokens, and what ``verify-webhook-signature`` answers.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from giftflow.clock import FrozenClock
from giftflow.payouts.paypal import PayPalPayouts
from giftflow.payouts.providers import PayoutRequest

API_BASE = "http://paypal.invalid"
CLIENT_ID = "client-id"
CLIENT_SECRET = "client-secret"
WEBHOOK_ID = "WH-ID-1"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

Failure = int | str  # an HTTP status to answer, or "timeout" / "connect"


@dataclass
class Batch:
    ref: str
    body: dict[str, Any]
    batch_status: str = "PENDING"
    transaction_status: str = "PENDING"
    errors: dict[str, Any] | None = None
    with_items: bool = True


@dataclass
class FakePayPal:
    expires_in: int = 3600
    batches: dict[str, Batch] = field(default_factory=dict)  # by sender_batch_id
    requests: list[httpx.Request] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    token_calls: int = 0
    tokens: set[str] = field(default_factory=set)
    deny_batches: bool = False
    duplicate_link: bool = True
    verification_status: str = "SUCCESS"
    verify_bodies: list[dict[str, Any]] = field(default_factory=list)
    created_answer: dict[str, Any] | None = None  # replaces the body of the next 201

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # --- helpers for tests -----------------------------------------------------------------
    def batch_for(self, withdrawal_id: int) -> Batch:
        return self.batches[str(withdrawal_id)]

    def by_ref(self, ref: str) -> Batch | None:
        return next((b for b in self.batches.values() if b.ref == ref), None)

    def add_batch(self, withdrawal_id: int, **values: Any) -> Batch:
        """A batch made without our adapter (as if by an earlier run)."""
        ref = f"PB{len(self.batches) + 1:04d}"
        body = {
            "sender_batch_header": {"sender_batch_id": str(withdrawal_id)},
            "items": [{"sender_item_id": str(withdrawal_id), "amount": {}}],
        }
        batch = Batch(ref, body, **values)
        self.batches[str(withdrawal_id)] = batch
        return batch

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def posted(self, path: str) -> list[dict[str, Any]]:
        return [
            json.loads(r.content)
            for r in self.requests
            if r.method == "POST" and r.url.path == path
        ]

    def calls(self, method: str, path_prefix: str) -> int:
        return sum(
            1 for r in self.requests if r.method == method and r.url.path.startswith(path_prefix)
        )

    # --- the fake API ----------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.failures:
            failure = self.failures.pop(0)
            if failure == "timeout":
                raise httpx.ReadTimeout("timed out", request=request)
            if failure == "connect":
                raise httpx.ConnectError("connection refused", request=request)
            assert isinstance(failure, int)
            return httpx.Response(
                failure,
                json={"name": "INTERNAL_SERVICE_ERROR", "message": "boom", "debug_id": "dbg1"},
            )
        path = request.url.path
        if path == "/v1/oauth2/token":
            return self._token(request)
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.tokens:
            return httpx.Response(401, json={"error": "invalid_token"})
        if request.method == "POST" and path == "/v1/payments/payouts":
            return self._create(request)
        if request.method == "GET" and path.startswith("/v1/payments/payouts/"):
            return self._get(path.rsplit("/", 1)[1])
        if request.method == "POST" and path == "/v1/notifications/verify-webhook-signature":
            body = json.loads(request.content)
            self.verify_bodies.append(body)
            return httpx.Response(200, json={"verification_status": self.verification_status})
        return httpx.Response(404, json={"name": "NOT_FOUND"})

    def _token(self, request: httpx.Request) -> httpx.Response:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = parse_qs(request.content.decode())
        if request.headers.get("Authorization") != f"Basic {expected}":
            return httpx.Response(
                401, json={"error": "invalid_client", "error_description": "Client Auth failed"}
            )
        assert form == {"grant_type": ["client_credentials"]}
        self.token_calls += 1
        token = f"A21-token-{self.token_calls}"
        self.tokens.add(token)
        return httpx.Response(
            200,
            json={"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in},
        )

    def _create(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sender_batch_id = body["sender_batch_header"]["sender_batch_id"]
        existing = self.batches.get(sender_batch_id)
        if existing is not None:
            detail: dict[str, Any] = {
                "field": "SENDER_BATCH_ID",
                "location": "body",
                "issue": "Batch with given sender_batch_id already exists",
            }
            if self.duplicate_link:
                detail["link"] = [
                    {
                        "href": f"https://api-m.sandbox.paypal.com/v1/payments/payouts/{existing.ref}",
                        "rel": "self",
                        "method": "GET",
                        "encType": "application/json",
                    }
                ]
            return httpx.Response(
                400,
                json={
                    "name": "USER_BUSINESS_ERROR",
                    "message": "User business error.",
                    "debug_id": "dbg-dup",
                    "information_link": "https://developer.paypal.com/docs/api/payments.payouts-batch/#errors",
                    "details": [detail],
                    "links": [],
                },
            )
        batch = Batch(f"PB{len(self.batches) + 1:04d}", body)
        if self.deny_batches:
            batch.batch_status = "DENIED"
        self.batches[sender_batch_id] = batch
        answer = self.created_answer or {
            "batch_header": {
                "payout_batch_id": batch.ref,
                "batch_status": batch.batch_status,
                "sender_batch_header": body["sender_batch_header"],
            },
            "links": [{"href": f"{API_BASE}/v1/payments/payouts/{batch.ref}", "rel": "self"}],
        }
        return httpx.Response(201, json=answer)

    def _get(self, ref: str) -> httpx.Response:
        batch = self.by_ref(ref)
        if batch is None:
            return httpx.Response(
                404, json={"name": "INVALID_RESOURCE_ID", "message": "Resource not found."}
            )
        items: list[dict[str, Any]] = []
        if batch.with_items:
            item = batch.body["items"][0]
            entry: dict[str, Any] = {
                "payout_item_id": f"{ref}-I1",
                "transaction_status": batch.transaction_status,
                "payout_batch_id": ref,
                "payout_item": item,
            }
            if batch.errors is not None:
                entry["errors"] = batch.errors
            items.append(entry)
        return httpx.Response(
            200,
            json={
                "batch_header": {
                    "payout_batch_id": ref,
                    "batch_status": batch.batch_status,
                    "sender_batch_header": batch.body["sender_batch_header"],
                },
                "items": items,
            },
        )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def fake() -> FakePayPal:
    return FakePayPal()


@pytest.fixture
def paypal(fake: FakePayPal, clock: FrozenClock) -> Iterator[PayPalPayouts]:
    provider = PayPalPayouts(
        CLIENT_ID,
        CLIENT_SECRET,
        api_base=API_BASE,
        webhook_id=WEBHOOK_ID,
        now=clock.now,
        transport=fake.transport(),
    )
    yield provider
    provider.close()


def paypal_request(
    withdrawal_id: int = 42,
    net_minor: int = 208,
    currency: str = "USD",
    email: str = "ana@example.com",
    kind: str = "paypal",
    note: str = "",
) -> PayoutRequest:
    method: dict[str, Any] = (
        {"kind": kind, "email": email}
        if kind == "paypal"
        else {"kind": kind, "iban": "DE89370400440532013000", "holder_name": "Ana Example"}
    )
    return PayoutRequest(
        withdrawal_id=withdrawal_id,
        user_id="creator-ana",
        net_minor=net_minor,
        currency=currency,
        method=method,
        note=note,
    )
