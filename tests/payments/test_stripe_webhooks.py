"""Stripe webhook verification and mapping, on payloads signed the way Stripe signs them."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st

from giftflow.errors import InvalidJson, InvalidSignature
from giftflow.payments.events import EventKind, ProviderEvent
from giftflow.payments.stripe_webhooks import to_provider_event, verify_stripe_event

from .stripe_support import (
    NOW,
    OTHER_SECRET,
    WEBHOOK_SECRET,
    charge,
    dispute,
    encode,
    event,
    payment_intent,
    sign,
    signature,
)


def verify(body: bytes, signed_at: int = NOW, now: int = NOW) -> ProviderEvent:
    return verify_stripe_event(body, sign(body, WEBHOOK_SECRET, signed_at), WEBHOOK_SECRET, now)


def refused(body: bytes, header: str, *, secret: str = WEBHOOK_SECRET, now: int = NOW) -> str:
    """Assert that the delivery is refused as InvalidSignature; returns details.reason."""
    with pytest.raises(InvalidSignature) as caught:
        verify_stripe_event(body, header, secret, now)
    assert caught.value.status == 400 and caught.value.code == "invalid_signature"
    reason: str = caught.value.details["reason"]
    return reason


# --- mapping of each handled type -----------------------------------------------------------


def test_payment_intent_succeeded() -> None:
    body = encode(event("payment_intent.succeeded", payment_intent(amount_received=499)))
    got = verify(body)
    assert got == ProviderEvent(
        provider="stripe",
        event_id="evt_1Test",
        event_type="payment_intent.succeeded",
        kind=EventKind.PAYMENT_SUCCEEDED,
        provider_ref="pi_3Test",
        purchase_id=42,
        amount_minor=499,
        currency="USD",
        payload=body.decode(),
    )


def test_succeeded_reports_the_amount_received_not_the_amount() -> None:
    pi = payment_intent(amount=1000, amount_received=999)
    got = verify(encode(event("payment_intent.succeeded", pi)))
    assert got.amount_minor == 999


def test_payment_intent_payment_failed() -> None:
    pi = payment_intent(amount=499, amount_received=0, status="requires_payment_method")
    got = verify(encode(event("payment_intent.payment_failed", pi, "evt_2")))
    assert (got.kind, got.event_id, got.event_type) == (
        EventKind.PAYMENT_FAILED,
        "evt_2",
        "payment_intent.payment_failed",
    )
    assert (got.provider_ref, got.purchase_id, got.amount_minor, got.currency) == (
        "pi_3Test",
        42,
        499,
        "USD",
    )


def test_charge_refunded_points_at_the_payment_intent() -> None:
    got = verify(encode(event("charge.refunded", charge(amount_refunded=250))))
    assert got.kind is EventKind.REFUNDED
    assert got.provider_ref == "pi_3Test"  # the charge's payment_intent, not the charge id
    assert got.amount_minor == 250  # amount_refunded
    assert (got.purchase_id, got.currency) == (42, "USD")


def test_an_expanded_payment_intent_gives_its_id() -> None:
    obj = charge(payment_intent={"id": "pi_expanded", "object": "payment_intent"})
    assert verify(encode(event("charge.refunded", obj))).provider_ref == "pi_expanded"


def test_dispute_created() -> None:
    got = verify(encode(event("charge.dispute.created", dispute(amount=499))))
    assert got.kind is EventKind.DISPUTE_OPENED
    assert (got.provider_ref, got.amount_minor, got.currency) == ("pi_3Test", 499, "USD")
    assert got.purchase_id is None  # a dispute carries no metadata of ours


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("won", EventKind.DISPUTE_WON),
        ("lost", EventKind.DISPUTE_LOST),
        ("warning_closed", EventKind.IGNORED),
        ("needs_response", EventKind.IGNORED),
        (None, EventKind.IGNORED),
    ],
)
def test_dispute_closed(status: str | None, kind: EventKind) -> None:
    got = verify(encode(event("charge.dispute.closed", dispute(status=status))))  # type: ignore[arg-type]
    assert got.kind is kind
    assert got.provider_ref == "pi_3Test"


@pytest.mark.parametrize(
    "event_type",
    ["customer.created", "payment_intent.created", "charge.succeeded", "charge.dispute.updated"],
)
def test_other_types_are_ignored(event_type: str) -> None:
    got = verify(encode(event(event_type, {"id": "x_1", "object": "whatever"})))
    assert got.kind is EventKind.IGNORED
    assert (got.event_id, got.event_type) == ("evt_1Test", event_type)
    assert (got.provider_ref, got.purchase_id, got.amount_minor, got.currency) == (None,) * 4


def test_the_payload_is_kept_exactly() -> None:
    body = encode(event("payment_intent.succeeded", {**payment_intent(), "description": "Café ☕"}))
    assert verify(body).payload.encode() == body


# --- odd fields never crash -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        ({"metadata": {"purchase_id": "abc"}}, "purchase_id", None),
        ({"metadata": {"purchase_id": "-3"}}, "purchase_id", None),
        ({"metadata": {"purchase_id": "0"}}, "purchase_id", None),
        ({"metadata": {"purchase_id": "1" * 19}}, "purchase_id", None),
        ({"metadata": {"purchase_id": "٤٢"}}, "purchase_id", None),  # non-ASCII digits
        ({"metadata": {"purchase_id": True}}, "purchase_id", None),
        ({"metadata": {"purchase_id": 42}}, "purchase_id", 42),
        ({"metadata": "42"}, "purchase_id", None),
        ({"metadata": None}, "purchase_id", None),
        ({"amount_received": "499"}, "amount_minor", None),
        ({"amount_received": -1}, "amount_minor", None),
        ({"amount_received": 4.99}, "amount_minor", None),
        ({"amount_received": True}, "amount_minor", None),
        ({"amount_received": 2**64}, "amount_minor", None),
        ({"currency": "usdt"}, "currency", None),
        ({"currency": 840}, "currency", None),
        ({"currency": "EUR"}, "currency", "EUR"),
        ({"id": 12}, "provider_ref", None),
        ({"id": ""}, "provider_ref", None),
        ({"id": "p" * 256}, "provider_ref", None),
        ({"id": "pi_\u0000"}, "provider_ref", None),  # PostgreSQL text cannot hold NUL
        ({"currency": "us\u0000"}, "currency", None),
    ],
)
def test_odd_fields_map_to_none(change: dict[str, Any], field: str, expected: object) -> None:
    got = verify(encode(event("payment_intent.succeeded", {**payment_intent(), **change})))
    assert got.kind is EventKind.PAYMENT_SUCCEEDED
    assert getattr(got, field) == expected


@pytest.mark.parametrize(
    "root",
    [
        {"id": "evt_1", "type": "payment_intent.succeeded"},  # no data
        {"id": "evt_1", "type": "payment_intent.succeeded", "data": []},
        {"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": None}},
        {"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": charge()}},
        {"id": "evt_1", "type": "charge.refunded", "data": {"object": payment_intent()}},
        {"id": "evt_1", "type": "charge.dispute.created", "data": {"object": charge()}},
        {"id": "evt_1", "type": 7, "data": {"object": payment_intent()}},
        {"id": "evt_1", "object": "v2.core.event", "type": "payment_intent.succeeded"},
    ],
)
def test_an_odd_event_is_ignored(root: dict[str, Any]) -> None:
    got = verify(encode(root))
    assert got.kind is EventKind.IGNORED
    assert got.event_id == "evt_1"


@pytest.mark.parametrize(
    "value",
    [[], "text", 3, None, {"type": "payment_intent.succeeded"}, {"id": "evt_\u0000"}],
)
def test_a_body_without_an_event_id_is_ignored_under_a_hash_of_itself(value: object) -> None:
    body = json.dumps(value).encode()
    got = verify(body)
    assert got.kind is EventKind.IGNORED
    assert got.event_id.startswith("sha256:") and len(got.event_id) == 71
    assert verify(body, signed_at=NOW - 10).event_id == got.event_id  # a redelivery: same id


def test_an_event_without_the_object_field_is_taken_on_trust() -> None:
    pi = payment_intent()
    del pi["object"]
    root = event("payment_intent.succeeded", pi)
    del root["object"]
    assert verify(encode(root)).kind is EventKind.PAYMENT_SUCCEEDED


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "object",
                    "type",
                    "data",
                    "metadata",
                    "purchase_id",
                    "amount",
                    "currency",
                    "amount_received",
                    "amount_refunded",
                    "payment_intent",
                    "status",
                    "x",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=20,
)


@given(
    json_values,
    st.sampled_from(
        [
            "payment_intent.succeeded",
            "payment_intent.payment_failed",
            "charge.refunded",
            "charge.dispute.created",
            "charge.dispute.closed",
            "other",
        ]
    ),
)
def test_any_verified_json_maps_without_raising(obj: Any, event_type: str) -> None:
    for value in (obj, {"id": "evt_h", "type": event_type, "data": {"object": obj}}):
        got = to_provider_event(value, json.dumps(value))
        assert isinstance(got.kind, EventKind)
        assert got.event_id and len(got.event_id) <= 255 and len(got.event_type) <= 100
        assert got.amount_minor is None or got.amount_minor >= 0
        assert got.purchase_id is None or got.purchase_id > 0
        assert got.currency is None or (len(got.currency) == 3 and got.currency.isupper())


# --- signatures -------------------------------------------------------------------------------


def test_our_signing_matches_stripes_own_helper() -> None:
    body = encode(event("payment_intent.succeeded", payment_intent()))
    ours = sign(body, WEBHOOK_SECRET, NOW)
    assert ours == stripe.WebhookSignature.generate_signature_header(
        body.decode(), WEBHOOK_SECRET, timestamp=NOW
    )


def test_a_tampered_body_is_refused() -> None:
    body = encode(event("payment_intent.succeeded", payment_intent(amount_received=499)))
    header = sign(body)
    tampered = body.replace(b"499", b"999")
    assert tampered != body
    assert refused(tampered, header) == "signature"
    assert refused(body + b" ", header) == "signature"  # even one byte of whitespace


def test_a_wrong_secret_is_refused() -> None:
    body = encode(event("payment_intent.succeeded", payment_intent()))
    assert refused(body, sign(body, OTHER_SECRET)) == "signature"
    assert refused(body, sign(body), secret=OTHER_SECRET) == "signature"


def test_a_stale_timestamp_is_refused() -> None:
    body = encode(event("payment_intent.succeeded", payment_intent()))
    with pytest.raises(InvalidSignature) as caught:
        verify(body, signed_at=NOW - 301)
    assert caught.value.details["reason"] == "timestamp"
    assert caught.value.details["tolerance_seconds"] == 300


@pytest.mark.parametrize("age", [0, 1, 299, 300, -299, -300])
def test_a_timestamp_within_300_seconds_is_accepted(age: int) -> None:
    body = encode(event("payment_intent.succeeded", payment_intent()))
    assert verify(body, signed_at=NOW - age).kind is EventKind.PAYMENT_SUCCEEDED


def test_a_timestamp_more_than_300_seconds_ahead_is_refused() -> None:
    body = encode(event("payment_intent.succeeded", payment_intent()))
    with pytest.raises(InvalidSignature) as caught:
        verify(body, signed_at=NOW + 301)
    assert caught.value.details["reason"] == "timestamp"


def test_now_defaults_to_the_system_clock() -> None:
    body = encode(event("payment_intent.succeeded", payment_intent()))
    fresh = sign(body, WEBHOOK_SECRET, int(time.time()))
    assert verify_stripe_event(body, fresh, WEBHOOK_SECRET).kind is EventKind.PAYMENT_SUCCEEDED
    stale = sign(body, WEBHOOK_SECRET, int(time.time()) - 400)
    with pytest.raises(InvalidSignature):
        verify_stripe_event(body, stale, WEBHOOK_SECRET)


def test_a_rolled_secret_header_with_several_signatures_verifies() -> None:
    body = encode(event("payment_intent.succeeded", payment_intent()))
    header = (
        f"t={NOW},v1={signature(body, OTHER_SECRET, NOW)},"
        f"v1={signature(body, WEBHOOK_SECRET, NOW)},v0=deadbeef"
    )
    assert verify_stripe_event(body, header, WEBHOOK_SECRET, NOW).event_id == "evt_1Test"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "t=,v1=abc",
        "t=abc,v1=abc",
        f"t={NOW}",  # no v1
        "v1=" + "0" * 64,  # no t
        f"t={NOW},v0=" + "0" * 64,  # the wrong scheme only
        f"t={NOW},v1=" + "0" * 64,
        f"t={NOW},v1=é",  # not ASCII: hmac.compare_digest would raise TypeError
        f"t={NOW}=1,v1=" + "0" * 64,
        "t=" + "9" * 5000 + ",v1=00",  # an absurd number
    ],
)
def test_a_malformed_or_wrong_header_is_refused(header: str) -> None:
    body = encode(event("payment_intent.succeeded", payment_intent()))
    assert refused(body, header) == "signature"


def test_a_header_signed_for_another_timestamp_is_refused() -> None:
    body = encode(event("payment_intent.succeeded", payment_intent()))
    replayed = f"t={NOW},v1={signature(body, WEBHOOK_SECRET, NOW - 3600)}"
    assert refused(body, replayed) == "signature"


@given(st.text(max_size=80))
def test_any_header_is_refused_cleanly(header: str) -> None:
    with pytest.raises(InvalidSignature):
        verify_stripe_event(b'{"id": "evt_1"}', header, WEBHOOK_SECRET, NOW)


def test_a_body_that_is_not_utf8_is_refused() -> None:
    body = b'{"id": "evt_\xff"}'
    header = f"t={NOW},v1=" + "0" * 64
    assert refused(body, header) == "encoding"


def test_an_empty_secret_verifies_nothing() -> None:
    body = encode(event("payment_intent.succeeded", payment_intent()))
    assert refused(body, sign(body, ""), secret="") == "signature"


def test_malformed_json_with_a_valid_signature_is_invalid_json() -> None:
    """The signature holds, the content is not JSON: 400 ``invalid_json``, not a signature
    error (and over HTTP the request-limits middleware answers the same before the route)."""
    body = b'{"id": "evt_1", "type": '
    with pytest.raises(InvalidJson) as caught:
        verify(body)
    assert caught.value.status == 400 and caught.value.details["reason"] == "syntax"


def test_malformed_json_with_a_bad_signature_is_a_signature_error() -> None:
    body = b'{"id": "evt_1", "type": '
    assert refused(body, sign(b"something else")) == "signature"
