"""The sandbox provider: embedded, deterministic, no network and no webhooks.

The card number alone decides the outcome, like a payment processor's test cards:

- ``4242 4242 4242 4242``: ``SUCCEEDED``;
- ``4000 0000 0000 0002``: ``FAILED`` with ``failure_reason="card_declined"``;
- ``4000 0000 0000 0259``: ``SUCCEEDED`` with ``dispute_later=True`` (the wallet may then
  simulate a chargeback);
- anything else: ``FAILED`` with ``failure_reason="invalid_card"`` (no card, a character other
  than a digit or a space, a number failing the Luhn check, or a valid number not listed here).

The payment is confirmed synchronously, so no event ever arrives for it; ``provider_ref`` is
``sb_pi_<purchase_id>`` (unique per purchase, as the ``(provider, provider_ref)`` constraint of
``purchases`` wants). A refund always succeeds and does nothing.
"""

from __future__ import annotations

from typing import Final

from giftflow.payments.providers import PaymentRequest, PaymentStart, StartStatus

SUCCEEDS: Final = "4242424242424242"
DECLINED: Final = "4000000000000002"
DISPUTED_LATER: Final = "4000000000000259"

CARD_DECLINED: Final = "card_declined"
INVALID_CARD: Final = "invalid_card"


def normalise_card(number: str | None) -> str | None:
    """The card's digits with spaces removed; None if there is no card or it is not digits."""
    if number is None:
        return None
    digits = number.replace(" ", "")
    if not digits or not (digits.isascii() and digits.isdigit()):
        return None
    return digits


def luhn_valid(digits: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn check (the last digit is the check)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def sandbox_ref(purchase_id: int) -> str:
    """The sandbox's reference of a purchase's payment."""
    return f"sb_pi_{purchase_id}"


class SandboxProvider:
    """A ``PaymentProvider`` that decides by the card number alone (see the module docstring)."""

    name: str = "sandbox"

    def start(self, request: PaymentRequest) -> PaymentStart:
        ref = sandbox_ref(request.purchase_id)
        digits = normalise_card(request.card_number)
        if digits is None or not luhn_valid(digits):
            return PaymentStart(StartStatus.FAILED, ref, failure_reason=INVALID_CARD)
        if digits == SUCCEEDS:
            return PaymentStart(StartStatus.SUCCEEDED, ref)
        if digits == DISPUTED_LATER:
            return PaymentStart(StartStatus.SUCCEEDED, ref, dispute_later=True)
        if digits == DECLINED:
            return PaymentStart(StartStatus.FAILED, ref, failure_reason=CARD_DECLINED)
        return PaymentStart(StartStatus.FAILED, ref, failure_reason=INVALID_CARD)

    def refund(self, provider_ref: str, amount_minor: int, currency: str, key: str) -> None:
        """Always succeeds: the sandbox holds no money."""
