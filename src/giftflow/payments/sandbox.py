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

**Payment fingerprint.** Built with a ``fingerprint_key`` (the registry passes the server's
secret), every start answers ``payment_fingerprint`` = ``card_fingerprint(key, digits)``: the
first 32 hex digits of HMAC-SHA256 over the card's digits, so one card gives one fingerprint and
the number itself is never stored. Without a key (or without a card) it is None.
"""

from __future__ import annotations

import hmac
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


FINGERPRINT_HEX: Final = 32
_FINGERPRINT_DOMAIN: Final = b"giftflow.card-fingerprint.v1:"


def card_fingerprint(key: str, digits: str) -> str:
    """A card's fingerprint: HMAC-SHA256 keyed with the server's secret over the card's digits
    (domain-separated), truncated to 32 hex digits. Not reversible without the key, and the
    same card always gives the same fingerprint under the same key."""
    mac = hmac.new(key.encode("utf-8"), _FINGERPRINT_DOMAIN + digits.encode("ascii"), "sha256")
    return mac.hexdigest()[:FINGERPRINT_HEX]


def fingerprint_key(secrets_key: str, jwt_secret: str) -> str | None:
    """The key sandbox fingerprints are made with: the first key of ``GIFTFLOW_SECRETS_KEY``
    (the one that encrypts), else the JWT secret; None when the server has neither."""
    first = secrets_key.split(",")[0].strip()
    return first or jwt_secret or None


def sandbox_ref(purchase_id: int) -> str:
    """The sandbox's reference of a purchase's payment."""
    return f"sb_pi_{purchase_id}"


class SandboxProvider:
    """A ``PaymentProvider`` that decides by the card number alone (see the module docstring)."""

    name: str = "sandbox"

    def __init__(self, fingerprint_key: str | None = None) -> None:
        self._fingerprint_key = fingerprint_key

    def start(self, request: PaymentRequest) -> PaymentStart:
        ref = sandbox_ref(request.purchase_id)
        digits = normalise_card(request.card_number)
        if digits is None or not luhn_valid(digits):
            return PaymentStart(StartStatus.FAILED, ref, failure_reason=INVALID_CARD)
        fp = card_fingerprint(self._fingerprint_key, digits) if self._fingerprint_key else None
        if digits == SUCCEEDS:
            return PaymentStart(StartStatus.SUCCEEDED, ref, payment_fingerprint=fp)
        if digits == DISPUTED_LATER:
            return PaymentStart(
                StartStatus.SUCCEEDED, ref, dispute_later=True, payment_fingerprint=fp
            )
        if digits == DECLINED:
            return PaymentStart(
                StartStatus.FAILED, ref, failure_reason=CARD_DECLINED, payment_fingerprint=fp
            )
        return PaymentStart(
            StartStatus.FAILED, ref, failure_reason=INVALID_CARD, payment_fingerprint=fp
        )

    def refund(self, provider_ref: str, amount_minor: int, currency: str, key: str) -> None:
        """Always succeeds: the sandbox holds no money."""
