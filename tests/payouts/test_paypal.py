"""The PayPal adapter against the in-process ``FakePayPal`` (conftest): tokens, the create-payout
body, exact amounts, duplicates that never pay twice, failures, lookups and webhook checks."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from giftflow.clock import FrozenClock
from giftflow.errors import (
    InvalidAmount,
    InvalidSignature,
    ProviderError,
    UnknownAsset,
    ValidationFailed,
)
from giftflow.payouts.paypal import (
    EMAIL_SUBJECT,
    PayPalPayouts,
    duplicate_ref,
    format_value,
    parse_value,
)
from giftflow.payouts.providers import PayoutProvider, PayoutStatus
from giftflow.payouts.sandbox import event_body

from .conftest import API_BASE, CLIENT_ID, WEBHOOK_ID, FakePayPal, paypal_request

P = PayoutStatus


def test_it_is_a_payout_provider(paypal: PayPalPayouts) -> None:
    provider: PayoutProvider = paypal
    assert provider.name == "paypal"


# --- amounts -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("minor", "currency", "value"),
    [
        (208, "USD", "2.08"),
        (1000, "JPY", "1000"),
        (1234, "KWD", "1.234"),
        (5, "USD", "0.05"),
        (100, "EUR", "1.00"),
        (1, "KWD", "0.001"),
        (123456789012345678, "USD", "1234567890123456.78"),
    ],
)
def test_values_are_written_and_read_exactly(minor: int, currency: str, value: str) -> None:
    assert format_value(minor, currency) == value
    assert parse_value(value, currency) == minor


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [("1.0", "USD", 100), ("2", "USD", 200), ("1.2", "KWD", 1200), ("7.000", "JPY", 7)],
)
def test_shorter_values_parse_exactly(value: str, currency: str, minor: int) -> None:
    assert parse_value(value, currency) == minor


@pytest.mark.parametrize(
    ("value", "currency"),
    [
        ("2.085", "USD"),
        ("1.5", "JPY"),
        ("1e3", "USD"),
        ("-1.00", "USD"),
        (" 1", "USD"),
        ("", "USD"),
    ],
)
def test_values_that_are_not_exact_are_refused(value: str, currency: str) -> None:
    with pytest.raises(ValueError, match=r"PayPal amount value|more decimals"):
        parse_value(value, currency)


@pytest.mark.parametrize("minor", [0, -1, True])
def test_only_positive_integer_amounts_are_paid(minor: int) -> None:
    with pytest.raises(InvalidAmount):
        format_value(minor, "USD")


@pytest.mark.parametrize("currency", ["DIAMOND", "COIN", "XXX"])
def test_only_fiat_currencies_are_paid(currency: str) -> None:
    with pytest.raises(UnknownAsset):
        format_value(100, currency)


# --- tokens --------------------------------------------------------------------------------
def test_one_token_serves_many_calls_until_it_nearly_expires(
    paypal: PayPalPayouts, fake: FakePayPal, clock: FrozenClock
) -> None:
    result = paypal.submit(paypal_request(1))
    paypal.submit(paypal_request(2))
    paypal.lookup(1, result.provider_ref)
    paypal.lookup(1, result.provider_ref)
    assert fake.token_calls == 1
    token_request = fake.requests[0]
    assert token_request.url.path == "/v1/oauth2/token"
    assert token_request.headers["Authorization"].startswith("Basic ")
    clock.advance(timedelta(seconds=3600 - 61))
    paypal.lookup(1, result.provider_ref)
    assert fake.token_calls == 1
    clock.advance(timedelta(seconds=1))  # within 60 s of expiry: renewed before PayPal refuses
    paypal.lookup(1, result.provider_ref)
    assert fake.token_calls == 2
    auths = {r.headers["Authorization"] for r in fake.requests if "token" not in r.url.path}
    assert auths == {"Bearer A21-token-1", "Bearer A21-token-2"}


def test_a_revoked_token_is_renewed_once(paypal: PayPalPayouts, fake: FakePayPal) -> None:
    ref = paypal.submit(paypal_request(1)).provider_ref
    fake.revoke_tokens()
    assert paypal.lookup(1, ref) is not None
    assert fake.token_calls == 2


def test_refused_credentials_are_a_provider_error(fake: FakePayPal, clock: FrozenClock) -> None:
    provider = PayPalPayouts(
        CLIENT_ID, "wrong", API_BASE, WEBHOOK_ID, clock.now, transport=fake.transport()
    )
    with pytest.raises(ProviderError) as raised:
        provider.submit(paypal_request())
    assert "client credentials" in raised.value.message
    assert raised.value.details["http_status"] == 401
    assert raised.value.details["action"] == "oauth2_token"
    assert fake.batches == {}


def test_a_token_answer_without_a_token_is_a_provider_error(clock: FrozenClock) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"expires_in": 10}))
    provider = PayPalPayouts(CLIENT_ID, "s", API_BASE, WEBHOOK_ID, clock.now, transport=transport)
    with pytest.raises(ProviderError) as raised:
        provider.submit(paypal_request())
    assert raised.value.details["reason"] == "unexpected_response"


@pytest.mark.parametrize(
    "values",
    [{"client_id": ""}, {"client_secret": ""}, {"webhook_id": ""}],
)
def test_it_needs_credentials_and_a_webhook_id(values: dict[str, str], clock: FrozenClock) -> None:
    arguments: dict[str, Any] = {
        "client_id": "id",
        "client_secret": "secret",
        "api_base": API_BASE,
        "webhook_id": "WH",
        "now": clock.now,
        **values,
    }
    with pytest.raises(ValueError, match="GIFTFLOW_PAYPAL"):
        PayPalPayouts(**arguments)


# --- submit --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("minor", "currency", "value"),
    [(208, "USD", "2.08"), (1000, "JPY", "1000"), (1234, "KWD", "1.234")],
)
def test_the_create_payout_request(
    paypal: PayPalPayouts, fake: FakePayPal, minor: int, currency: str, value: str
) -> None:
    result = paypal.submit(paypal_request(42, minor, currency, note="Your March earnings"))
    assert result.status == P.PENDING
    assert result.provider_ref == fake.batch_for(42).ref
    assert result.failure_reason is None
    (create,) = [r for r in fake.requests if r.url.path == "/v1/payments/payouts"]
    assert create.method == "POST"
    assert create.headers["PayPal-Request-Id"] == "giftflow-withdrawal-42"
    assert create.headers["Content-Type"] == "application/json"
    assert create.headers["Authorization"] == "Bearer A21-token-1"
    assert json.loads(create.content) == {
        "sender_batch_header": {
            "sender_batch_id": "42",
            "recipient_type": "EMAIL",
            "email_subject": EMAIL_SUBJECT,
        },
        "items": [
            {
                "recipient_type": "EMAIL",
                "amount": {"value": value, "currency": currency},
                "receiver": "ana@example.com",
                "sender_item_id": "42",
                "note": "Your March earnings",
            }
        ],
    }


def test_the_default_note_names_the_withdrawal(paypal: PayPalPayouts, fake: FakePayPal) -> None:
    paypal.submit(paypal_request(42))
    (body,) = fake.posted("/v1/payments/payouts")
    assert body["items"][0]["note"] == "giftflow withdrawal 42"


def test_a_denied_batch_is_denied(paypal: PayPalPayouts, fake: FakePayPal) -> None:
    fake.deny_batches = True
    result = paypal.submit(paypal_request())
    assert result.status == P.DENIED
    assert result.provider_ref == fake.batch_for(42).ref


def test_a_duplicate_answers_the_original_and_pays_once(
    paypal: PayPalPayouts, fake: FakePayPal
) -> None:
    first = paypal.submit(paypal_request(42))
    fake.batch_for(42).transaction_status = "SUCCESS"
    # a crash after PayPal accepted: the retry (even with another amount) finds the original
    second = paypal.submit(paypal_request(42, net_minor=999))
    assert second.status == P.SUCCESS
    assert second.provider_ref == first.provider_ref
    assert len(fake.batches) == 1
    assert fake.batch_for(42).body["items"][0]["amount"]["value"] == "2.08"
    assert fake.calls("POST", "/v1/payments/payouts") == 2
    (follow,) = [r for r in fake.requests if r.method == "GET"]
    # the link's host is PayPal's public one; the adapter asks its own api_base
    assert str(follow.url) == f"{API_BASE}/v1/payments/payouts/{first.provider_ref}"


def test_a_duplicate_of_a_failed_payout_says_why(paypal: PayPalPayouts, fake: FakePayPal) -> None:
    paypal.submit(paypal_request(42))
    batch = fake.batch_for(42)
    batch.transaction_status = "FAILED"
    batch.errors = {"name": "RECEIVER_UNREGISTERED", "message": "Receiver is unregistered"}
    again = paypal.submit(paypal_request(42))
    assert (again.status, again.failure_reason) == (P.FAILED, "Receiver is unregistered")


def test_a_duplicate_without_a_link_is_a_provider_error(
    paypal: PayPalPayouts, fake: FakePayPal
) -> None:
    paypal.submit(paypal_request(42))
    fake.duplicate_link = False
    with pytest.raises(ProviderError) as raised:
        paypal.submit(paypal_request(42))
    assert raised.value.details["reason"] == "duplicate_without_link"
    assert raised.value.details["sender_batch_id"] == "42"
    assert len(fake.batches) == 1


def test_duplicate_ref_reads_links_in_details_or_at_the_top() -> None:
    link = {"href": "https://api-m.paypal.com/v1/payments/payouts/ABC123", "rel": "self"}
    assert duplicate_ref({"details": [{"link": [link]}]}) == "ABC123"
    assert duplicate_ref({"details": [{"links": [link]}]}) == "ABC123"
    assert duplicate_ref({"links": [link]}) == "ABC123"
    docs = {"href": "https://developer.paypal.com/docs/api/payments.payouts-batch/#errors"}
    assert duplicate_ref({"links": [docs], "details": [{"issue": "x"}]}) is None
    item = {"href": "https://api-m.paypal.com/v1/payments/payouts-item/ITEM1"}
    assert duplicate_ref({"links": [item]}) is None
    assert duplicate_ref({"links": "nope", "details": ["x", {"link": {"href": 3}}]}) is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_provider_errors_and_a_retry_pays_once(
    paypal: PayPalPayouts, fake: FakePayPal, status: int
) -> None:
    paypal.submit(paypal_request(1))  # gets a token first, so the failure hits the create
    fake.failures = [status]
    with pytest.raises(ProviderError) as raised:
        paypal.submit(paypal_request(42))
    error = raised.value
    assert error.status == 502
    assert error.details["http_status"] == status
    assert error.details["retryable"] is True
    assert error.details["paypal_name"] == "INTERNAL_SERVICE_ERROR"
    assert error.details["debug_id"] == "dbg1"
    assert error.details["action"] == "create_payout"
    assert paypal.submit(paypal_request(42)).status == P.PENDING
    assert len(fake.batches) == 2


@pytest.mark.parametrize(("failure", "reason"), [("timeout", "timeout"), ("connect", "connection")])
def test_timeouts_and_refused_connections_are_provider_errors(
    paypal: PayPalPayouts, fake: FakePayPal, failure: str, reason: str
) -> None:
    fake.failures = [failure]
    with pytest.raises(ProviderError) as raised:
        paypal.submit(paypal_request())
    assert raised.value.details["reason"] == reason
    assert raised.value.details["retryable"] is True
    assert raised.value.details["action"] == "oauth2_token"
    paypal.submit(paypal_request())
    fake.failures = [failure]
    with pytest.raises(ProviderError) as raised:
        paypal.lookup(42, fake.batch_for(42).ref)
    assert raised.value.details["reason"] == reason
    assert raised.value.details["action"] == "get_payout"


def test_a_refusal_is_a_provider_error_that_is_not_retryable(clock: FrozenClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/oauth2/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 100})
        return httpx.Response(
            422, json={"name": "INSUFFICIENT_FUNDS", "message": "Sender has no money."}
        )

    provider = PayPalPayouts(
        CLIENT_ID, "s", API_BASE, WEBHOOK_ID, clock.now, transport=httpx.MockTransport(handler)
    )
    with pytest.raises(ProviderError) as raised:
        provider.submit(paypal_request())
    assert raised.value.details["retryable"] is False
    assert raised.value.details["paypal_name"] == "INSUFFICIENT_FUNDS"
    assert raised.value.details["paypal_message"] == "Sender has no money."
    assert "INSUFFICIENT_FUNDS" in raised.value.message


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(201, text="<html>hello</html>"),
        httpx.Response(201, json=[1, 2]),
        httpx.Response(201, json={"batch_header": {"batch_status": "PENDING"}}),
        httpx.Response(400, text="bad"),
        httpx.Response(302, headers={"Location": "https://elsewhere.invalid/"}),
    ],
)
def test_unexpected_answers_are_provider_errors(answer: httpx.Response, clock: FrozenClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/oauth2/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 100})
        return answer

    provider = PayPalPayouts(
        CLIENT_ID, "s", API_BASE, WEBHOOK_ID, clock.now, transport=httpx.MockTransport(handler)
    )
    with pytest.raises(ProviderError):
        provider.submit(paypal_request())


def test_only_paypal_email_methods_are_paid(paypal: PayPalPayouts, fake: FakePayPal) -> None:
    with pytest.raises(ProviderError, match="PayPal pays PayPal e-mail methods only") as raised:
        paypal.submit(paypal_request(kind="bank"))
    assert raised.value.details["retryable"] is False
    with pytest.raises(ProviderError, match="no e-mail"):
        paypal.submit(paypal_request(email="nobody"))
    assert fake.requests == []  # refused before any call


# --- lookup --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("transaction_status", "expected"),
    [
        ("SUCCESS", P.SUCCESS),
        ("FAILED", P.FAILED),
        ("PENDING", P.PENDING),
        ("UNCLAIMED", P.UNCLAIMED),
        ("RETURNED", P.RETURNED),
        ("ONHOLD", P.ONHOLD),
        ("BLOCKED", P.BLOCKED),
        ("REFUNDED", P.REFUNDED),
        ("REVERSED", P.REVERSED),
        ("NEW", P.PENDING),
        ("SOMETHING_ELSE", P.PENDING),
        ("", P.PENDING),
    ],
)
def test_lookup_maps_every_item_status(
    paypal: PayPalPayouts, fake: FakePayPal, transaction_status: str, expected: PayoutStatus
) -> None:
    ref = paypal.submit(paypal_request(42)).provider_ref
    fake.batch_for(42).transaction_status = transaction_status
    found = paypal.lookup(42, ref)
    assert found is not None
    assert (found.status, found.provider_ref, found.failure_reason) == (expected, ref, None)


@pytest.mark.parametrize(
    ("errors", "reason"),
    [
        (
            {"name": "RECEIVER_UNREGISTERED", "message": "Receiver is unregistered"},
            "Receiver is unregistered",
        ),
        ({"name": "RECEIVER_ACCOUNT_LOCKED"}, "RECEIVER_ACCOUNT_LOCKED"),
        ({"message": ""}, None),
    ],
)
def test_lookup_says_why_an_item_failed(
    paypal: PayPalPayouts, fake: FakePayPal, errors: dict[str, str], reason: str | None
) -> None:
    ref = paypal.submit(paypal_request(42)).provider_ref
    batch = fake.batch_for(42)
    batch.transaction_status = "FAILED"
    batch.errors = errors
    found = paypal.lookup(42, ref)
    assert found is not None and found.failure_reason == reason


def test_lookup_of_a_batch_without_items_or_denied(paypal: PayPalPayouts, fake: FakePayPal) -> None:
    ref = paypal.submit(paypal_request(42)).provider_ref
    batch = fake.batch_for(42)
    batch.with_items = False
    found = paypal.lookup(42, ref)
    assert found is not None and found.status == P.PENDING
    batch.batch_status = "DENIED"
    found = paypal.lookup(42, ref)
    assert found is not None and found.status == P.DENIED


def test_lookup_unknown_or_without_ref_is_none(paypal: PayPalPayouts, fake: FakePayPal) -> None:
    assert paypal.lookup(42, None) is None
    assert paypal.lookup(42, "") is None
    assert fake.requests == []  # PayPal cannot search by our id: nothing is asked
    assert paypal.lookup(42, "NOPE") is None


def test_lookup_quotes_the_ref(paypal: PayPalPayouts, fake: FakePayPal) -> None:
    assert paypal.lookup(42, "../oauth2/token") is None
    assert fake.requests[-1].url.raw_path == b"/v1/payments/payouts/..%2Foauth2%2Ftoken"


def test_lookup_refuses_another_withdrawals_payout(paypal: PayPalPayouts, fake: FakePayPal) -> None:
    ref = paypal.submit(paypal_request(42)).provider_ref
    with pytest.raises(ProviderError) as raised:
        paypal.lookup(43, ref)
    assert raised.value.details["reason"] == "ref_mismatch"


def test_lookup_server_error(paypal: PayPalPayouts, fake: FakePayPal) -> None:
    ref = paypal.submit(paypal_request(42)).provider_ref
    fake.failures = [503]
    with pytest.raises(ProviderError) as raised:
        paypal.lookup(42, ref)
    assert raised.value.details["http_status"] == 503


# --- webhooks ------------------------------------------------------------------------------
HEADERS = {
    "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    "PAYPAL-CERT-URL": "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-1",
    "PAYPAL-TRANSMISSION-ID": "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
    "PAYPAL-TRANSMISSION-SIG": "lmI95Jx3Y9nhR5SJWlHVIWpg4AgFk7n9bCHSRxbrd8A9zrhdu2rMyFrmz+Zjh3s3",
    "PAYPAL-TRANSMISSION-TIME": "2026-03-01T12:00:00Z",
}


def test_a_verified_webhook_is_parsed(paypal: PayPalPayouts, fake: FakePayPal) -> None:
    body = event_body(42, P.SUCCESS, event_id="WH-9", provider_ref="PB0001")
    event = paypal.verify_event(HEADERS, body)
    assert event.provider == "paypal"
    assert (event.event_id, event.withdrawal_id, event.provider_ref) == ("WH-9", 42, "PB0001")
    assert event.status == P.SUCCESS
    assert event.payload == body.decode()
    (sent,) = fake.verify_bodies
    assert sent == {
        "auth_algo": HEADERS["PAYPAL-AUTH-ALGO"],
        "cert_url": HEADERS["PAYPAL-CERT-URL"],
        "transmission_id": HEADERS["PAYPAL-TRANSMISSION-ID"],
        "transmission_sig": HEADERS["PAYPAL-TRANSMISSION-SIG"],
        "transmission_time": HEADERS["PAYPAL-TRANSMISSION-TIME"],
        "webhook_id": WEBHOOK_ID,
        "webhook_event": json.loads(body),
    }


def test_header_names_are_case_insensitive(paypal: PayPalPayouts) -> None:
    headers = {name.lower(): value for name, value in HEADERS.items()}
    assert paypal.verify_event(headers, event_body(42, P.FAILED)).status == P.FAILED


def test_a_failed_verification_is_an_invalid_signature(
    paypal: PayPalPayouts, fake: FakePayPal
) -> None:
    fake.verification_status = "FAILURE"
    with pytest.raises(InvalidSignature) as raised:
        paypal.verify_event(HEADERS, event_body(42, P.SUCCESS))
    assert raised.value.details["reason"] == "signature"


@pytest.mark.parametrize("missing", list(HEADERS))
def test_missing_transmission_headers_are_refused_without_asking(
    paypal: PayPalPayouts, fake: FakePayPal, missing: str
) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != missing}
    with pytest.raises(InvalidSignature) as raised:
        paypal.verify_event(headers, event_body(42, P.SUCCESS))
    assert raised.value.details == {"reason": "headers", "missing": [missing]}
    assert fake.requests == []


@pytest.mark.parametrize("body", [b"not json", b"[1]", b"\xff"])
def test_a_body_that_cannot_be_verified_is_refused(
    paypal: PayPalPayouts, fake: FakePayPal, body: bytes
) -> None:
    with pytest.raises(InvalidSignature) as raised:
        paypal.verify_event(HEADERS, body)
    assert raised.value.details["reason"] == "body"
    assert fake.requests == []


def test_a_verified_but_malformed_event_is_a_validation_error(paypal: PayPalPayouts) -> None:
    with pytest.raises(ValidationFailed):
        paypal.verify_event(HEADERS, b'{"event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED"}')


def test_verification_unreachable_is_a_provider_error(
    paypal: PayPalPayouts, fake: FakePayPal
) -> None:
    paypal.submit(paypal_request(1))
    for failure in (500, "timeout"):
        fake.failures = [failure]
        with pytest.raises(ProviderError) as raised:
            paypal.verify_event(HEADERS, event_body(42, P.SUCCESS))
        assert raised.value.details["action"] == "verify_webhook_signature"


def test_paypal_refusing_the_transmission_is_an_invalid_signature(
    paypal: PayPalPayouts, fake: FakePayPal
) -> None:
    paypal.submit(paypal_request(1))
    fake.failures = [400]
    with pytest.raises(InvalidSignature):
        paypal.verify_event(HEADERS, event_body(42, P.SUCCESS))
