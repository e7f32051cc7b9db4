"""The Stripe provider against an in-process fake of Stripe's HTTP API (no network).

``FakeStripeHTTP`` implements stripe's ``HTTPClient`` interface: it records every request (method,
URL, headers, form-decoded body) and answers canned JSON, so the real ``StripeClient`` encodes,
sends, retries and decodes exactly as it would against api.stripe.com.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import pytest
import stripe

from giftflow.errors import ProviderError
from giftflow.payments.providers import PaymentProvider, PaymentRequest, StartStatus
from giftflow.payments.stripe_provider import StripeProvider

API_BASE = "http://stripe.invalid:12111"
API_KEY = "sk_test_giftflow"


@dataclass(frozen=True)
class Recorded:
    method: str
    url: str
    headers: dict[str, str]
    form: dict[str, str]


Canned = tuple[int, dict[str, Any]] | Exception


class FakeStripeHTTP(stripe.HTTPClient):
    """Records requests; answers from ``responses`` in order (an exception is raised)."""

    name = "fake"

    def __init__(self, *responses: Canned) -> None:
        super().__init__()
        self.responses = list(responses)
        self.requests: list[Recorded] = []

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        form = {k: v[0] for k, v in parse_qs(post_data or "", keep_blank_values=True).items()}
        self.requests.append(Recorded(method, url, dict(headers or {}), form))
        answer = self.responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return json.dumps(body), status, {"request-id": "req_fake", "Request-Id": "req_fake"}

    def request_stream(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - unused
        raise NotImplementedError

    def close(self) -> None:
        pass

    def _sleep_time_seconds(self, num_retries: int) -> float:
        return 0.0  # retries without waiting


def intent(pi_id: str = "pi_3Fake", secret: str = "pi_3Fake_secret_xyz") -> dict[str, Any]:
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": 499,
        "currency": "usd",
        "client_secret": secret,
        "status": "requires_payment_method",
        "metadata": {"purchase_id": "42", "user_id": "alice"},
    }


def refund_object() -> dict[str, Any]:
    return {"id": "re_1Fake", "object": "refund", "amount": 499, "status": "succeeded"}


def stripe_error(kind: str, code: str | None, message: str, **extra: str) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message, **extra}
    if code is not None:
        error["code"] = code
    return {"error": error}


def provider(fake: FakeStripeHTTP, retries: int = 0) -> StripeProvider:
    return StripeProvider(API_KEY, api_base=API_BASE, http_client=fake, max_network_retries=retries)


REQUEST = PaymentRequest(
    purchase_id=42,
    user_id="alice",
    amount_minor=499,
    currency="USD",
    description="500 coins",
)


def test_it_is_a_payment_provider_named_stripe() -> None:
    p: PaymentProvider = provider(FakeStripeHTTP())
    assert p.name == "stripe"


def test_start_creates_a_payment_intent() -> None:
    fake = FakeStripeHTTP((200, intent()))
    start = provider(fake).start(REQUEST)

    assert start.status is StartStatus.PENDING
    assert start.provider_ref == "pi_3Fake"
    assert start.client_secret == "pi_3Fake_secret_xyz"
    assert start.failure_reason is None and start.dispute_later is False

    [sent] = fake.requests
    assert sent.method == "post"
    assert sent.url == f"{API_BASE}/v1/payment_intents"
    assert sent.headers["Idempotency-Key"] == "purchase-42"
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.form == {
        "amount": "499",
        "currency": "usd",
        "description": "500 coins",
        "metadata[purchase_id]": "42",
        "metadata[user_id]": "alice",
        "automatic_payment_methods[enabled]": "true",
    }


def test_the_same_purchase_always_sends_the_same_key() -> None:
    fake = FakeStripeHTTP((200, intent()), (200, intent()))
    p = provider(fake)
    assert p.start(REQUEST) == p.start(REQUEST)
    assert [r.headers["Idempotency-Key"] for r in fake.requests] == ["purchase-42"] * 2


def test_a_retried_call_reuses_its_idempotency_key() -> None:
    """stripe retries a 5xx itself; the retry carries the same key, so Stripe replays the
    first PaymentIntent rather than making a second."""
    fake = FakeStripeHTTP((500, stripe_error("api_error", None, "boom")), (200, intent()))
    start = provider(fake, retries=2).start(REQUEST)
    assert start.provider_ref == "pi_3Fake"
    assert len(fake.requests) == 2
    assert {r.headers["Idempotency-Key"] for r in fake.requests} == {"purchase-42"}


def test_the_api_base_has_no_trailing_slash_problem() -> None:
    fake = FakeStripeHTTP((200, intent()))
    StripeProvider(API_KEY, api_base=API_BASE + "/", http_client=fake).start(REQUEST)
    assert fake.requests[0].url == f"{API_BASE}/v1/payment_intents"


@pytest.mark.parametrize(
    ("status", "body", "code", "stripe_type"),
    [
        (
            402,
            stripe_error(
                "card_error", "card_declined", "Your card was declined.", decline_code="generic"
            ),
            "card_declined",
            "card_error",
        ),
        (
            400,
            stripe_error("invalid_request_error", "amount_too_small", "Amount too small."),
            "amount_too_small",
            "invalid_request_error",
        ),
        (
            400,
            stripe_error("idempotency_error", None, "Keys for idempotent requests can only..."),
            None,
            "idempotency_error",
        ),
        (
            401,
            stripe_error("invalid_request_error", "api_key_invalid", "Invalid API Key."),
            "api_key_invalid",
            "invalid_request_error",
        ),
        (429, stripe_error("invalid_request_error", "rate_limit", "Too many."), "rate_limit", None),
        (500, stripe_error("api_error", None, "Something went wrong."), None, "api_error"),
    ],
)
def test_a_stripe_error_is_a_provider_error(
    status: int, body: dict[str, Any], code: str | None, stripe_type: str | None
) -> None:
    fake = FakeStripeHTTP((status, body))
    with pytest.raises(ProviderError) as caught:
        provider(fake).start(REQUEST)
    error = caught.value
    assert error.status == 502 and error.code == "provider_error"
    assert error.details["provider"] == "stripe"
    assert error.details["action"] == "create_payment_intent"
    assert error.details["stripe_code"] == code
    assert error.details["http_status"] == status
    assert error.details["request_id"] == "req_fake"
    if stripe_type is not None:
        assert error.details["stripe_type"] == stripe_type
    assert len(fake.requests) == 1  # no retries configured


def test_a_declined_card_keeps_the_decline_code() -> None:
    body = stripe_error("card_error", "card_declined", "Declined.", decline_code="fraudulent")
    with pytest.raises(ProviderError) as caught:
        provider(FakeStripeHTTP((402, body))).start(REQUEST)
    assert caught.value.details["decline_code"] == "fraudulent"


def test_a_network_failure_is_a_provider_error() -> None:
    refused = stripe.APIConnectionError("connection refused", should_retry=True)  # type: ignore[no-untyped-call]
    fake = FakeStripeHTTP(refused)
    with pytest.raises(ProviderError) as caught:
        provider(fake).start(REQUEST)
    assert caught.value.details["stripe_type"] == "api_connection_error"
    assert caught.value.details["stripe_code"] is None


def test_an_unparsable_answer_is_a_provider_error() -> None:
    class Garbage(FakeStripeHTTP):
        def request(self, *args: Any, **kwargs: Any) -> tuple[str, int, Mapping[str, str]]:
            super().request(*args, **kwargs)
            return "<html>bad gateway</html>", 502, {}

    with pytest.raises(ProviderError):
        provider(Garbage((200, {}))).start(REQUEST)


def test_refund_refunds_the_payment_intent_with_the_given_key() -> None:
    fake = FakeStripeHTTP((200, refund_object()))
    provider(fake).refund("pi_3Fake", 499, "USD", "refund-42-1")
    [sent] = fake.requests
    assert sent.method == "post"
    assert sent.url == f"{API_BASE}/v1/refunds"
    assert sent.headers["Idempotency-Key"] == "refund-42-1"
    assert sent.form == {"payment_intent": "pi_3Fake", "amount": "499"}


def test_a_refused_refund_is_a_provider_error() -> None:
    body = stripe_error(
        "invalid_request_error", "charge_already_refunded", "Charge has already been refunded."
    )
    with pytest.raises(ProviderError) as caught:
        provider(FakeStripeHTTP((400, body))).refund("pi_3Fake", 499, "USD", "refund-42-1")
    assert caught.value.details["action"] == "create_refund"
    assert caught.value.details["stripe_code"] == "charge_already_refunded"


def test_an_api_key_is_required() -> None:
    with pytest.raises(ValueError, match="API key"):
        StripeProvider("", api_base=API_BASE, http_client=FakeStripeHTTP())
