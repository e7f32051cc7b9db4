"""Parsing verified payout webhook bodies (PayPal's shape, shared with the sandbox)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from giftflow.errors import ValidationFailed
from giftflow.payouts.providers import PayoutStatus
from giftflow.payouts.webhooks import (
    ITEM_EVENT_STATUS,
    STATUS_EVENT_TYPE,
    failure_reason,
    header_value,
    item_event,
    parse_event,
    withdrawal_id_of,
)

P = PayoutStatus


def item(event_type: str, **resource: Any) -> str:
    base: dict[str, Any] = {
        "payout_batch_id": "PB0001",
        "payout_item_id": "ITEM1",
        "payout_item": {"sender_item_id": "42", "receiver": "ana@example.com"},
    }
    return json.dumps(
        {
            "id": "WH-1",
            "event_type": event_type,
            "resource_type": "payouts_item",
            "resource": {**base, **resource},
        }
    )


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("PAYMENT.PAYOUTS-ITEM.SUCCEEDED", P.SUCCESS),
        ("PAYMENT.PAYOUTS-ITEM.FAILED", P.FAILED),
        ("PAYMENT.PAYOUTS-ITEM.BLOCKED", P.BLOCKED),
        ("PAYMENT.PAYOUTS-ITEM.CANCELED", P.REFUNDED),
        ("PAYMENT.PAYOUTS-ITEM.DENIED", P.DENIED),
        ("PAYMENT.PAYOUTS-ITEM.HELD", P.ONHOLD),
        ("PAYMENT.PAYOUTS-ITEM.REFUNDED", P.REFUNDED),
        ("PAYMENT.PAYOUTS-ITEM.RETURNED", P.RETURNED),
        ("PAYMENT.PAYOUTS-ITEM.UNCLAIMED", P.UNCLAIMED),
        ("PAYMENT.PAYOUTS-ITEM.REVERSED", P.REVERSED),
        ("PAYMENT.PAYOUTS-ITEM.SOMETHING_NEW", None),
        ("PAYMENT.CAPTURE.COMPLETED", None),
    ],
)
def test_item_event_types_without_a_transaction_status(
    event_type: str, expected: PayoutStatus | None
) -> None:
    payload = item(event_type)
    event = parse_event("paypal", payload)
    assert event.status == expected
    assert (event.event_id, event.event_type) == ("WH-1", event_type)
    assert (event.withdrawal_id, event.provider_ref) == (42, "PB0001")
    assert event.payload == payload
    assert event.provider == "paypal"


def test_the_transaction_status_is_preferred() -> None:
    event = parse_event(
        "paypal", item("PAYMENT.PAYOUTS-ITEM.CANCELED", transaction_status="RETURNED")
    )
    assert event.status == P.RETURNED
    lower = parse_event("paypal", item("PAYMENT.PAYOUTS-ITEM.FAILED", transaction_status="success"))
    assert lower.status == P.SUCCESS
    unknown = parse_event("paypal", item("PAYMENT.PAYOUTS-ITEM.HELD", transaction_status="NEW"))
    assert unknown.status == P.ONHOLD  # a status PayPal added later: the type still speaks


def test_a_transaction_status_on_a_non_payout_event_is_ignored() -> None:
    event = parse_event("paypal", item("PAYMENT.CAPTURE.COMPLETED", transaction_status="SUCCESS"))
    assert event.status is None


def test_the_failure_reason_comes_from_errors() -> None:
    errors = {"name": "RECEIVER_UNREGISTERED", "message": "Receiver is unregistered"}
    event = parse_event("paypal", item("PAYMENT.PAYOUTS-ITEM.UNCLAIMED", errors=errors))
    assert event.failure_reason == "Receiver is unregistered"
    assert failure_reason({"name": "X"}) == "X"
    assert failure_reason({"message": "  "}) is None
    assert failure_reason("oops") is None
    assert failure_reason({"message": "m" * 900}) == "m" * 500


def test_the_withdrawal_falls_back_to_sender_batch_id() -> None:
    payload = item("PAYMENT.PAYOUTS-ITEM.SUCCEEDED", payout_item={}, sender_batch_id="77")
    assert parse_event("paypal", payload).withdrawal_id == 77
    payload = item(
        "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", payout_item={"sender_item_id": "x"}, sender_batch_id="77"
    )
    assert parse_event("paypal", payload).withdrawal_id == 77
    nothing = item("PAYMENT.PAYOUTS-ITEM.SUCCEEDED", payout_item="weird", payout_batch_id=5)
    event = parse_event("paypal", nothing)
    assert (event.withdrawal_id, event.provider_ref) == (None, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42", 42),
        (42, 42),
        ("0042", 42),
        ("0", None),
        ("-1", None),
        ("4.2", None),
        ("", None),
        ("٤٢", None),  # not ASCII digits
        ("1" * 19, None),
        ("9" * 18, 10**18 - 1),
        (True, None),
        (None, None),
        (-3, None),
    ],
)
def test_withdrawal_ids(value: Any, expected: int | None) -> None:
    assert withdrawal_id_of(value) == expected


def batch(event_type: str) -> str:
    return json.dumps(
        {
            "id": "WH-B",
            "event_type": event_type,
            "resource_type": "payouts",
            "resource": {
                "batch_header": {
                    "payout_batch_id": "PB0009",
                    "batch_status": event_type.rsplit(".", 1)[1],
                    "sender_batch_header": {"sender_batch_id": "9"},
                }
            },
        }
    )


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("PAYMENT.PAYOUTSBATCH.DENIED", P.DENIED),
        ("PAYMENT.PAYOUTSBATCH.PROCESSING", None),
        ("PAYMENT.PAYOUTSBATCH.SUCCESS", None),
    ],
)
def test_batch_events(event_type: str, expected: PayoutStatus | None) -> None:
    event = parse_event("paypal", batch(event_type))
    assert event.status == expected
    assert (event.withdrawal_id, event.provider_ref) == (9, "PB0009")


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[1, 2]",
        '"text"',
        "{}",
        '{"id": "", "event_type": "X"}',
        '{"id": 5, "event_type": "X"}',
        '{"id": "WH-1"}',
        '{"id": "WH-1", "event_type": ""}',
        json.dumps({"id": "W" * 256, "event_type": "X"}),
        json.dumps({"id": "WH-1", "event_type": "X" * 101}),
        json.dumps({"id": "WH\u0000-1", "event_type": "X"}),  # PostgreSQL text holds no NUL
        json.dumps({"id": "WH-1", "event_type": "PAYMENT.PAYOUTS-ITEM.FAILED\u0000"}),
        "[" * 100_000,
    ],
)
def test_malformed_bodies_are_validation_errors(payload: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_event("paypal", payload)


def test_an_event_without_resource_has_nothing_to_apply() -> None:
    event = parse_event("sandbox", '{"id": "WH-1", "event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED"}')
    assert (event.status, event.withdrawal_id, event.provider_ref) == (P.SUCCESS, None, None)


def test_item_event_round_trips_every_status_with_an_event() -> None:
    for status, event_type in STATUS_EVENT_TYPE.items():
        body = item_event(5, status, provider_ref="PB5", failure_reason="why")
        event = parse_event("sandbox", json.dumps(body))
        assert (event.status, event.event_type, event.withdrawal_id) == (status, event_type, 5)
        assert event.failure_reason == "why"
        suffix = event_type.removeprefix("PAYMENT.PAYOUTS-ITEM.")
        assert ITEM_EVENT_STATUS[suffix] == status
    with pytest.raises(ValueError, match="no item event"):
        item_event(5, P.PENDING)


def test_header_value_ignores_case() -> None:
    assert header_value({"X-A": "1"}, "x-a") == "1"
    assert header_value({"x-a": "1"}, "X-A") == "1"
    assert header_value({}, "X-A") is None


def test_nul_characters_never_reach_a_stored_field() -> None:
    body = {
        "id": "WH-1",
        "event_type": "PAYMENT.PAYOUTS-ITEM.FAILED",
        "resource": {
            "payout_batch_id": "B\u00001",
            "sender_batch_id": "7",
            "errors": {"message": "card\u0000 declined"},
        },
    }
    payload = json.dumps(body)  # the NULs travel as \u0000 escapes, as JSON allows
    assert "\\u0000" in payload
    event = parse_event("paypal", payload)
    assert (event.provider_ref, event.failure_reason) == (None, "card declined")
