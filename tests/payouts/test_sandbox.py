"""The sandbox payout provider: outcomes by tag over a moving clock, exactly one payout per
withdrawal, an unreachable switch, and HMAC-signed webhooks."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from giftflow.clock import FrozenClock
from giftflow.errors import InvalidSignature, ProviderError, ValidationFailed
from giftflow.payouts.providers import PayoutProvider, PayoutRequest, PayoutStatus
from giftflow.payouts.sandbox import (
    BLOCKED_REASON,
    RECEIVER_REFUSED,
    SIGNATURE_HEADER,
    SandboxPayouts,
    event_body,
    outcome_of,
    sign,
)

from .conftest import START

S = timedelta(seconds=1)
DAY = timedelta(days=1)
P = PayoutStatus


def request(withdrawal_id: int = 7, email: str = "ana@example.com", **method: Any) -> PayoutRequest:
    return PayoutRequest(
        withdrawal_id=withdrawal_id,
        user_id="creator-ana",
        net_minor=208,
        currency="USD",
        method=method or {"kind": "paypal", "email": email},
    )


@pytest.fixture
def sandbox(clock: FrozenClock) -> SandboxPayouts:
    return SandboxPayouts(clock.now, settle_seconds=10, webhook_secret="s3cret")


def test_it_is_a_payout_provider(sandbox: SandboxPayouts) -> None:
    provider: PayoutProvider = sandbox
    assert provider.name == "sandbox"


TIMELINES: list[tuple[str, list[tuple[timedelta, PayoutStatus]]]] = [
    ("", [(0 * S, P.PENDING), (9 * S, P.PENDING), (10 * S, P.SUCCESS), (400 * DAY, P.SUCCESS)]),
    ("+whatever", [(0 * S, P.PENDING), (10 * S, P.SUCCESS), (40 * DAY, P.SUCCESS)]),
    ("+fail", [(0 * S, P.PENDING), (9 * S, P.PENDING), (10 * S, P.FAILED), (40 * DAY, P.FAILED)]),
    ("+blocked", [(0 * S, P.PENDING), (10 * S, P.BLOCKED), (40 * DAY, P.BLOCKED)]),
    ("+onhold", [(0 * S, P.ONHOLD), (10 * S, P.ONHOLD), (400 * DAY, P.ONHOLD)]),
    ("+pending", [(0 * S, P.PENDING), (10 * S, P.PENDING), (400 * DAY, P.PENDING)]),
    (
        "+unclaimed",
        [
            (0 * S, P.PENDING),
            (10 * S, P.UNCLAIMED),
            (30 * DAY - S, P.UNCLAIMED),
            (30 * DAY, P.RETURNED),
            (400 * DAY, P.RETURNED),
        ],
    ),
    (
        "+return",
        [
            (0 * S, P.PENDING),
            (10 * S, P.SUCCESS),
            (DAY - S, P.SUCCESS),
            (DAY, P.RETURNED),
            (40 * DAY, P.RETURNED),
        ],
    ),
    (
        "+reverse",
        [
            (0 * S, P.PENDING),
            (10 * S, P.SUCCESS),
            (DAY - S, P.SUCCESS),
            (DAY, P.REVERSED),
            (40 * DAY, P.REVERSED),
        ],
    ),
]


@pytest.mark.parametrize(("tag", "timeline"), TIMELINES, ids=[t or "none" for t, _ in TIMELINES])
def test_paypal_email_tags_follow_their_timeline(
    sandbox: SandboxPayouts,
    clock: FrozenClock,
    tag: str,
    timeline: list[tuple[timedelta, PayoutStatus]],
) -> None:
    first = sandbox.submit(request(email=f"ana{tag}@example.com"))
    assert first.provider_ref == "SBX-7"
    for offset, expected in timeline:
        clock.set(START + offset)
        found = sandbox.lookup(7, None)
        assert found is not None
        assert (offset, found.status) == (offset, expected)
        assert found.provider_ref == "SBX-7"
        again = sandbox.submit(request(email=f"ana{tag}@example.com"))  # resubmit answers too
        assert again == found
    assert sandbox.paid_count(7) == 1


@pytest.mark.parametrize(("tag", "timeline"), TIMELINES, ids=[t or "none" for t, _ in TIMELINES])
def test_bank_holder_name_tags_follow_the_same_timelines(
    sandbox: SandboxPayouts,
    clock: FrozenClock,
    tag: str,
    timeline: list[tuple[timedelta, PayoutStatus]],
) -> None:
    sandbox.submit(
        request(kind="bank", iban="DE89370400440532013000", holder_name=f"Ana Example{tag}")
    )
    for offset, expected in timeline:
        clock.set(START + offset)
        found = sandbox.lookup(7, "SBX-7")
        assert found is not None and found.status == expected


def test_tags_are_case_insensitive_and_the_last_plus_counts(
    sandbox: SandboxPayouts, clock: FrozenClock
) -> None:
    sandbox.submit(request(1, email="Ana+FAIL@Example.com"))
    sandbox.submit(request(2, email="ana+fail+onhold@example.com"))
    sandbox.submit(request(3, kind="bank", iban="X", holder_name="Ana Example + Blocked "))
    clock.advance(10 * S)
    assert [sandbox.lookup(i, None) for i in (1, 2, 3)] == [
        sandbox.submit(request(1)),
        sandbox.submit(request(2)),
        sandbox.submit(request(3)),
    ]
    statuses = [r.status for r in (sandbox.lookup(1, None), sandbox.lookup(2, None)) if r]
    assert statuses == [P.FAILED, P.ONHOLD]
    third = sandbox.lookup(3, None)
    assert third is not None and third.status == P.BLOCKED
    assert third.failure_reason == BLOCKED_REASON


def test_a_failure_says_why(sandbox: SandboxPayouts, clock: FrozenClock) -> None:
    sandbox.submit(request(email="ana+fail@example.com"))
    clock.advance(10 * S)
    found = sandbox.lookup(7, None)
    assert found is not None
    assert (found.status, found.failure_reason) == (P.FAILED, RECEIVER_REFUSED)
    assert RECEIVER_REFUSED == "sandbox: receiver refused"


def test_settle_zero_answers_the_settled_status_at_once(clock: FrozenClock) -> None:
    sandbox = SandboxPayouts(clock.now, settle_seconds=0)
    assert sandbox.submit(request(1)).status == P.SUCCESS
    assert sandbox.submit(request(2, email="ana+fail@example.com")).status == P.FAILED
    assert sandbox.submit(request(3, email="ana+unclaimed@example.com")).status == P.UNCLAIMED
    assert sandbox.submit(request(4, email="ana+onhold@example.com")).status == P.ONHOLD


def test_a_second_submit_never_makes_a_second_payout(
    sandbox: SandboxPayouts, clock: FrozenClock
) -> None:
    first = sandbox.submit(request(email="ana+fail@example.com"))
    clock.advance(3 * S)
    # the same withdrawal id with another receiver: the first payout stands
    second = sandbox.submit(request(email="bob@example.com"))
    assert first == second
    assert sandbox.paid_count(7) == 1
    assert sandbox.submissions(7) == 2
    assert list(sandbox.payouts) == [7]
    payout = sandbox.payouts[7]
    assert payout.submitted_at == START
    assert payout.request.method["email"] == "ana+fail@example.com"
    assert payout.outcome == "fail"
    clock.advance(7 * S)  # settles from the first submission, not the second
    assert sandbox.submit(request(email="bob@example.com")).status == P.FAILED


def test_unknown_ids_have_no_payout(sandbox: SandboxPayouts) -> None:
    assert sandbox.lookup(99, None) is None
    assert sandbox.lookup(99, "SBX-99") is None
    assert sandbox.paid_count(99) == 0
    assert sandbox.submissions(99) == 0


def test_unreachable_raises_provider_error_and_pays_nothing(
    sandbox: SandboxPayouts, clock: FrozenClock
) -> None:
    sandbox.unreachable = True
    with pytest.raises(ProviderError) as raised:
        sandbox.submit(request())
    assert raised.value.status == 502
    assert raised.value.details["retryable"] is True
    assert sandbox.paid_count(7) == 0 and sandbox.submissions(7) == 0
    with pytest.raises(ProviderError):
        sandbox.lookup(7, None)
    sandbox.unreachable = False
    assert sandbox.lookup(7, None) is None  # the caller resubmits: exactly one payout results
    sandbox.submit(request())
    sandbox.unreachable = True
    with pytest.raises(ProviderError):
        sandbox.submit(request())  # a retry during an outage does not touch the payout
    sandbox.unreachable = False
    clock.advance(10 * S)
    assert sandbox.submit(request()).status == P.SUCCESS
    assert sandbox.paid_count(7) == 1 and sandbox.submissions(7) == 2


@pytest.mark.parametrize(
    "method",
    [
        {"kind": "card", "number": "4242"},
        {"email": "ana@example.com"},
        {"kind": "paypal"},
        {"kind": "paypal", "email": "not-an-address"},
    ],
)
def test_a_method_the_sandbox_cannot_pay_is_refused(
    sandbox: SandboxPayouts, method: dict[str, Any]
) -> None:
    with pytest.raises(ProviderError):
        sandbox.submit(PayoutRequest(7, "creator-ana", 208, "USD", method))
    assert sandbox.payouts == {}


def test_outcome_of_a_bank_without_holder_is_success() -> None:
    assert outcome_of({"kind": "bank", "iban": "X"}) == "success"


# --- webhooks ------------------------------------------------------------------------------
def test_a_correctly_signed_event_verifies(sandbox: SandboxPayouts) -> None:
    body = event_body(7, P.SUCCESS)
    event = sandbox.verify_event({SIGNATURE_HEADER: sign(body, "s3cret", START)}, body)
    assert event.provider == "sandbox"
    assert event.withdrawal_id == 7
    assert event.provider_ref == "SBX-7"
    assert event.status == P.SUCCESS
    assert event.event_type == "PAYMENT.PAYOUTS-ITEM.SUCCEEDED"
    assert event.event_id == "WH-SBX-7-SUCCESS"
    assert event.payload == body.decode()


def test_the_header_name_is_case_insensitive(sandbox: SandboxPayouts) -> None:
    body = event_body(7, P.FAILED, failure_reason="nope")
    event = sandbox.verify_event({SIGNATURE_HEADER.lower(): sign(body, "s3cret", START)}, body)
    assert (event.status, event.failure_reason) == (P.FAILED, "nope")


def bad(sandbox: SandboxPayouts, headers: dict[str, str], body: bytes) -> str:
    with pytest.raises(InvalidSignature) as raised:
        sandbox.verify_event(headers, body)
    assert raised.value.status == 400
    reason = raised.value.details["reason"]
    assert isinstance(reason, str)
    return reason


def test_bad_signatures_are_refused(sandbox: SandboxPayouts) -> None:
    body = event_body(7, P.SUCCESS)
    good = sign(body, "s3cret", START)
    assert bad(sandbox, {}, body) == "signature"
    assert bad(sandbox, {SIGNATURE_HEADER: ""}, body) == "signature"
    assert bad(sandbox, {SIGNATURE_HEADER: "garbage"}, body) == "signature"
    assert bad(sandbox, {SIGNATURE_HEADER: good.split(",")[0]}, body) == "signature"
    assert bad(sandbox, {SIGNATURE_HEADER: sign(body, "wrong", START)}, body) == "signature"
    assert bad(sandbox, {SIGNATURE_HEADER: good}, body.replace(b"7", b"8")) == "signature"
    assert bad(sandbox, {SIGNATURE_HEADER: good + "é"}, body) == "signature"


def test_several_v1_signatures_pass_if_one_matches(sandbox: SandboxPayouts) -> None:
    body = event_body(7, P.SUCCESS)
    good = sign(body, "s3cret", START)
    timestamp, signature = good.split(",")
    header = f"{timestamp},v1={'0' * 64},{signature}"
    assert sandbox.verify_event({SIGNATURE_HEADER: header}, body).status == P.SUCCESS


@pytest.mark.parametrize(
    ("signed_at", "accepted"),
    [
        (START - 300 * S, True),
        (START + 300 * S, True),
        (START - 301 * S, False),
        (START + 301 * S, False),
        (START - DAY, False),
    ],
)
def test_stale_or_future_signatures_are_refused(
    sandbox: SandboxPayouts, signed_at: Any, accepted: bool
) -> None:
    body = event_body(7, P.SUCCESS)
    headers = {SIGNATURE_HEADER: sign(body, "s3cret", signed_at)}
    if accepted:
        assert sandbox.verify_event(headers, body).status == P.SUCCESS
    else:
        assert bad(sandbox, headers, body) == "timestamp"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"event_type": "X"}', b"\xff\xfe"])
def test_a_verified_but_malformed_body_is_a_validation_error(
    sandbox: SandboxPayouts, body: bytes
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        sandbox.verify_event({SIGNATURE_HEADER: sign(body, "s3cret", START)}, body)
    assert raised.value.code == "validation_error"


def test_signed_event_delivers_the_current_status(
    sandbox: SandboxPayouts, clock: FrozenClock
) -> None:
    sandbox.submit(request(email="ana+return@example.com"))
    with pytest.raises(ValueError, match="no item event"):
        sandbox.signed_event(7)  # still PENDING: nothing to announce
    with pytest.raises(KeyError):
        sandbox.signed_event(8)
    clock.advance(10 * S)
    headers, body = sandbox.signed_event(7)
    paid = sandbox.verify_event(headers, body)
    assert (paid.status, paid.withdrawal_id, paid.provider_ref) == (P.SUCCESS, 7, "SBX-7")
    clock.advance(DAY)
    headers, body = sandbox.signed_event(7)
    returned = sandbox.verify_event(headers, body)
    assert returned.status == P.RETURNED
    assert returned.event_id != paid.event_id
    assert returned.failure_reason is not None
    assert sandbox.signed_event(7)[1] == body  # a redelivery is the same event (same id)


def test_event_body_is_paypal_shaped() -> None:
    event = json.loads(event_body(12, P.UNCLAIMED, event_id="WH-1", provider_ref="PB1"))
    assert event["id"] == "WH-1"
    assert event["event_type"] == "PAYMENT.PAYOUTS-ITEM.UNCLAIMED"
    assert event["resource_type"] == "payouts_item"
    resource = event["resource"]
    assert resource["payout_batch_id"] == "PB1"
    assert resource["transaction_status"] == "UNCLAIMED"
    assert resource["payout_item"]["sender_item_id"] == "12"
    assert resource["sender_batch_id"] == "12"
    assert "errors" not in resource


def test_negative_settle_is_refused(clock: FrozenClock) -> None:
    with pytest.raises(ValueError, match="settle_seconds"):
        SandboxPayouts(clock.now, settle_seconds=-1)
