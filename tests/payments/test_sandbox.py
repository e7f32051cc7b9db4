"""The sandbox provider decides by the card number alone, deterministically."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from giftflow.payments.providers import PaymentProvider, PaymentRequest, StartStatus
from giftflow.payments.sandbox import SandboxProvider, luhn_valid, normalise_card


def request(card: str | None, purchase_id: int = 7) -> PaymentRequest:
    return PaymentRequest(
        purchase_id=purchase_id,
        user_id="alice",
        amount_minor=499,
        currency="USD",
        description="500 coins",
        card_number=card,
    )


def test_it_is_a_payment_provider_named_sandbox() -> None:
    provider: PaymentProvider = SandboxProvider()
    assert provider.name == "sandbox"


@pytest.mark.parametrize("card", ["4242 4242 4242 4242", "4242424242424242", " 4242424242 424242 "])
def test_4242_succeeds(card: str) -> None:
    start = SandboxProvider().start(request(card, purchase_id=42))
    assert start.status is StartStatus.SUCCEEDED
    assert start.provider_ref == "sb_pi_42"
    assert start.failure_reason is None and start.dispute_later is False
    assert start.client_secret is None


@pytest.mark.parametrize("card", ["4000 0000 0000 0002", "4000000000000002"])
def test_0002_is_declined(card: str) -> None:
    start = SandboxProvider().start(request(card))
    assert start.status is StartStatus.FAILED
    assert start.failure_reason == "card_declined"
    assert start.provider_ref == "sb_pi_7"
    assert start.dispute_later is False


def test_0259_succeeds_and_is_disputed_later() -> None:
    start = SandboxProvider().start(request("4000 0000 0000 0259"))
    assert start.status is StartStatus.SUCCEEDED
    assert start.dispute_later is True
    assert start.failure_reason is None


@pytest.mark.parametrize(
    "card",
    [
        None,
        "",
        "   ",
        "4242 4242 4242 4241",  # one digit off: fails the Luhn check
        "4000 0000 0000 0003",  # 0002 with a wrong check digit
        "5555 5555 5555 4444",  # a valid (Luhn) number the sandbox does not know
        "4242-4242-4242-4242",  # only spaces are allowed between digits
        "4242\t4242 4242 4242",
        "４２４２ ４２４２ ４２４２ ４２４２",  # full-width digits are not ASCII digits
        "4242 4242 4242 4242 0",
        "abcd",
    ],
)
def test_anything_else_is_an_invalid_card(card: str | None) -> None:
    start = SandboxProvider().start(request(card))
    assert start.status is StartStatus.FAILED
    assert start.failure_reason == "invalid_card"
    assert start.provider_ref == "sb_pi_7"


def test_luhn() -> None:
    assert luhn_valid("4242424242424242")
    assert luhn_valid("4000000000000002")
    assert luhn_valid("4000000000000259")
    assert luhn_valid("79927398713")  # the textbook example
    assert not luhn_valid("79927398710")
    assert not luhn_valid("4242424242424241")


@given(st.from_regex(r"[0-9]{12,19}", fullmatch=True))
def test_luhn_detects_every_single_digit_change(digits: str) -> None:
    """Luhn's promise: change one digit of a valid number and it is no longer valid."""
    check = next(d for d in "0123456789" if luhn_valid(digits[:-1] + d))
    valid = digits[:-1] + check
    for i in range(len(valid)):
        for d in "0123456789":
            if d != valid[i]:
                assert not luhn_valid(valid[:i] + d + valid[i + 1 :])


def test_normalise_card() -> None:
    assert normalise_card(" 4242 4242 ") == "42424242"
    assert normalise_card(None) is None
    assert normalise_card("42a2") is None
    assert normalise_card("  ") is None


@given(st.text(max_size=30))
def test_start_never_raises_and_is_deterministic(card: str) -> None:
    first = SandboxProvider().start(request(card))
    assert first == SandboxProvider().start(request(card))
    if first.status is StartStatus.FAILED:
        assert first.failure_reason in ("card_declined", "invalid_card")


def test_refund_always_succeeds() -> None:
    provider = SandboxProvider()
    start = provider.start(request("4242424242424242"))
    provider.refund(start.provider_ref, 499, "USD", "refund-7")  # no error is the contract
    provider.refund("sb_pi_unknown", 1, "EUR", "refund-x")
    assert provider.start(request("4242424242424242")) == start  # and it changed nothing
