"""Stripe webhooks: verify the signature, then turn the event into a ``ProviderEvent``.

**Verification.** Stripe signs each delivery with the endpoint's signing secret (``whsec_…``):
the ``Stripe-Signature`` header is ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``
(more ``v1=`` entries while a secret is being rolled). ``verify_stripe_event`` checks it with
``stripe.WebhookSignature.verify_header`` over the raw bytes exactly as received, then checks the
timestamp itself against ``now`` (the caller's clock: the route passes the app's ``Clock``, so
tests move time instead of waiting), with a tolerance of ``TOLERANCE_SECONDS`` (300 s) either
way: 300 s old is accepted, 301 s is not; a timestamp more than 300 s ahead is refused too.
Anything wrong (no header, an unparsable header, no ``v1`` signature, a wrong secret, a body
changed by one byte, a stale timestamp, a body that is not UTF-8) raises ``InvalidSignature``
(400) with ``details.reason`` (``signature``, ``timestamp`` or ``encoding``); nothing is parsed
before the signature holds.

**Parsing.** A correctly signed body that is not JSON raises ``InvalidJson`` (400
``invalid_json``, ``details.reason = "syntax"``): the signature is fine, the content is not.
(Over HTTP the request-limits middleware already answers such a body with the same error before
the route runs.)

**Mapping** (``data.object`` is the object the event is about):

- ``payment_intent.succeeded`` → ``PAYMENT_SUCCEEDED``: ``provider_ref`` = the PaymentIntent's
  ``id``, ``purchase_id`` = ``metadata.purchase_id``, ``amount_minor`` = ``amount_received``;
- ``payment_intent.payment_failed`` → ``PAYMENT_FAILED``: the same, ``amount_minor`` =
  ``amount`` (nothing was received);
- ``charge.refunded`` → ``REFUNDED``: ``provider_ref`` = the charge's ``payment_intent``,
  ``amount_minor`` = ``amount_refunded`` (the charge's **total** refunded so far, not this
  refund's amount), ``purchase_id`` from the charge's metadata when present;
- ``charge.dispute.created`` → ``DISPUTE_OPENED``: ``provider_ref`` = the dispute's
  ``payment_intent``, ``amount_minor`` = the dispute's ``amount``; ``purchase_id`` is usually
  None (a dispute carries no metadata of ours);
- ``charge.dispute.closed`` → ``DISPUTE_WON`` when ``status`` is ``won``, ``DISPUTE_LOST`` when
  ``lost``, ``IGNORED`` otherwise (``warning_closed``: an inquiry closed without a chargeback);
- ``charge.succeeded`` → ``IGNORED`` (the payment itself is confirmed by
  ``payment_intent.succeeded``), with ``provider_ref`` = the charge's ``payment_intent``: it is
  subscribed for its card fingerprint (below);
- any other type → ``IGNORED``.

**Payment fingerprint** (``payment_fingerprint``, for the fraud signals of docs/fraud.md): the
card's ``fingerprint`` as Stripe reports it — a charge's ``payment_method_details.card``
(``charge.succeeded``), or on ``payment_intent.succeeded`` an expanded ``latest_charge``, a
legacy ``charges.data[]`` list, or an expanded ``payment_method.card``. Stripe's fingerprint is
the same for one card number across customers; it is not the number. None when absent or not
a short alphanumeric string.

``currency`` is upper-cased (``usd`` → ``USD``). A field that is missing or of the wrong shape
maps to None; an event without an ``id``, whose ``object`` is not ``event``, or whose
``data.object.object`` is not the expected kind (``payment_intent``, ``charge``, ``dispute``)
maps to ``IGNORED``. Nothing in a verified body makes this module raise.

**What happens next is the sink's job** (``EventSink``, the wallet's purchases service): Stripe
delivers **at least once** and **in any order**, so the sink stores every event in
``payment_events`` under the unique ``(provider, event_id)`` (a replay answers ``duplicate`` and
changes nothing) and applies each by the purchase's state, never by arrival order (a
``charge.refunded`` may arrive before ``payment_intent.succeeded``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import stripe

from giftflow.errors import InvalidJson, InvalidSignature
from giftflow.payments.events import EventKind, ProviderEvent

PROVIDER: Final = "stripe"
TOLERANCE_SECONDS: Final = 300
MAX_REF_CHARS: Final = 255  # purchases.provider_ref, payment_events.event_id
MAX_TYPE_CHARS: Final = 100  # payment_events.event_type
MAX_PURCHASE_ID_DIGITS: Final = 18  # below 2**63

PAYMENT_SUCCEEDED: Final = "payment_intent.succeeded"
PAYMENT_FAILED: Final = "payment_intent.payment_failed"
CHARGE_REFUNDED: Final = "charge.refunded"
DISPUTE_CREATED: Final = "charge.dispute.created"
DISPUTE_CLOSED: Final = "charge.dispute.closed"
CHARGE_SUCCEEDED: Final = "charge.succeeded"

HANDLED_TYPES: Final = (
    PAYMENT_SUCCEEDED,
    PAYMENT_FAILED,
    CHARGE_REFUNDED,
    DISPUTE_CREATED,
    DISPUTE_CLOSED,
    CHARGE_SUCCEEDED,
)
"""The event types giftflow acts on: subscribe the Stripe endpoint to these."""


def verify_stripe_event(
    raw_body: bytes, signature_header: str, secret: str, now: int | None = None
) -> ProviderEvent:
    """Verify a Stripe delivery and normalise it (see the module docstring).

    ``now`` is the current Unix time (default: the system clock). Raises ``InvalidSignature``
    for anything that does not verify and ``InvalidJson`` for a verified body that is not JSON.
    """
    payload = verify_signature(raw_body, signature_header, secret, now)
    try:
        event = json.loads(payload)
    except (ValueError, RecursionError):
        raise InvalidJson("The signed webhook body is not JSON.", reason="syntax") from None
    return to_provider_event(event, payload)


def verify_signature(
    raw_body: bytes, signature_header: str | None, secret: str, now: int | None = None
) -> str:
    """Check the ``Stripe-Signature`` header over ``raw_body``; returns the body as text."""
    try:
        payload = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSignature(
            "The webhook body is not UTF-8, so it cannot have been signed by Stripe.",
            reason="encoding",
        ) from None
    if not signature_header or not signature_header.isascii():
        raise InvalidSignature(
            "The Stripe-Signature header is missing or malformed.", reason="signature"
        )
    try:
        stripe.WebhookSignature.verify_header(payload, signature_header, secret, tolerance=None)
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature(
            f"The Stripe signature does not verify: {exc}", reason="signature"
        ) from None
    except (TypeError, ValueError):  # a header stripe's parser chokes on in a way it does not wrap
        raise InvalidSignature(
            "The Stripe-Signature header is malformed.", reason="signature"
        ) from None
    signed_at = _signed_at(signature_header)
    current = int(time.time()) if now is None else now
    age = current - signed_at
    if abs(age) > TOLERANCE_SECONDS:
        raise InvalidSignature(
            f"The webhook was signed {abs(age)} s {'ago' if age > 0 else 'in the future'}, "
            f"outside the {TOLERANCE_SECONDS} s tolerance.",
            reason="timestamp",
            timestamp=signed_at,
            tolerance_seconds=TOLERANCE_SECONDS,
        )
    return payload


def _signed_at(header: str) -> int:
    """The header's first ``t``, parsed exactly as stripe's verifier parsed it."""
    for item in header.split(","):
        parts = item.split("=", 2)
        if parts[0] == "t" and len(parts) > 1:
            try:
                return int(parts[1])
            except ValueError:
                break
    raise InvalidSignature(
        "The Stripe-Signature header has no valid timestamp.", reason="signature"
    )


# --- mapping -------------------------------------------------------------------------------

_Fields = tuple[EventKind, str | None, int | None, int | None, str | None]


def to_provider_event(event: Any, payload: str) -> ProviderEvent:
    """Normalise a verified, parsed Stripe event (never raises, whatever its shape)."""
    root = _mapping(event)
    event_id = _text(root.get("id"), MAX_REF_CHARS)
    event_type = _text(root.get("type"), MAX_TYPE_CHARS) or ""
    fingerprint: str | None = None
    if event_id is None or root.get("object", "event") != "event":
        fields: _Fields = (EventKind.IGNORED, None, None, None, None)
        if event_id is None:
            event_id = _fallback_id(payload.encode("utf-8"))
    else:
        obj = _mapping(_mapping(root.get("data")).get("object"))
        mapper = _MAPPERS.get(event_type)
        fields = mapper(obj) if mapper is not None else (EventKind.IGNORED, None, None, None, None)
        fingerprint = _fingerprint(event_type, obj)
    kind, ref, purchase_id, amount, currency = fields
    return ProviderEvent(
        provider=PROVIDER,
        event_id=event_id,
        event_type=event_type,
        kind=kind,
        provider_ref=ref,
        purchase_id=purchase_id,
        amount_minor=amount,
        currency=currency,
        payload=payload,
        payment_fingerprint=fingerprint,
    )


def _fallback_id(body: bytes) -> str:
    """An id for a signed body without one: a replay of the same bytes is still a duplicate."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _payment_intent(kind: EventKind, amount_field: str) -> Callable[[Mapping[str, Any]], _Fields]:
    def mapper(obj: Mapping[str, Any]) -> _Fields:
        if not _is_object(obj, "payment_intent"):
            return (EventKind.IGNORED, None, None, None, None)
        return (
            kind,
            _ref(obj.get("id")),
            _purchase_id(obj.get("metadata")),
            _amount(obj.get(amount_field)),
            _currency(obj.get("currency")),
        )

    return mapper


def _charge_refunded(obj: Mapping[str, Any]) -> _Fields:
    if not _is_object(obj, "charge"):
        return (EventKind.IGNORED, None, None, None, None)
    return (
        EventKind.REFUNDED,
        _ref(obj.get("payment_intent")),
        _purchase_id(obj.get("metadata")),
        _amount(obj.get("amount_refunded")),
        _currency(obj.get("currency")),
    )


def _dispute(closed: bool) -> Callable[[Mapping[str, Any]], _Fields]:
    def mapper(obj: Mapping[str, Any]) -> _Fields:
        if not _is_object(obj, "dispute"):
            return (EventKind.IGNORED, None, None, None, None)
        kind = EventKind.DISPUTE_OPENED
        if closed:
            status = obj.get("status")
            kind = (
                EventKind.DISPUTE_WON
                if status == "won"
                else EventKind.DISPUTE_LOST
                if status == "lost"
                else EventKind.IGNORED
            )
        return (
            kind,
            _ref(obj.get("payment_intent")),
            _purchase_id(obj.get("metadata")),
            _amount(obj.get("amount")),
            _currency(obj.get("currency")),
        )

    return mapper


def _charge_succeeded(obj: Mapping[str, Any]) -> _Fields:
    if not _is_object(obj, "charge"):
        return (EventKind.IGNORED, None, None, None, None)
    return (
        EventKind.IGNORED,
        _ref(obj.get("payment_intent")),
        _purchase_id(obj.get("metadata")),
        None,
        None,
    )


_MAPPERS: dict[str, Callable[[Mapping[str, Any]], _Fields]] = {
    PAYMENT_SUCCEEDED: _payment_intent(EventKind.PAYMENT_SUCCEEDED, "amount_received"),
    PAYMENT_FAILED: _payment_intent(EventKind.PAYMENT_FAILED, "amount"),
    CHARGE_REFUNDED: _charge_refunded,
    DISPUTE_CREATED: _dispute(closed=False),
    DISPUTE_CLOSED: _dispute(closed=True),
    CHARGE_SUCCEEDED: _charge_succeeded,
}


def _fingerprint(event_type: str, obj: Mapping[str, Any]) -> str | None:
    """The card fingerprint an event reports, if any (see the module docstring)."""
    if event_type == CHARGE_SUCCEEDED and _is_object(obj, "charge"):
        return _charge_fingerprint(obj)
    if event_type != PAYMENT_SUCCEEDED or not _is_object(obj, "payment_intent"):
        return None
    charges: list[Any] = []
    if isinstance(obj.get("latest_charge"), dict):
        charges.append(obj["latest_charge"])
    listed = _mapping(obj.get("charges")).get("data")
    if isinstance(listed, list):
        charges.extend(listed)
    for charge in charges:
        found = _charge_fingerprint(_mapping(charge))
        if found is not None:
            return found
    method = obj.get("payment_method")
    card = _mapping(_mapping(method).get("card"))
    return _fingerprint_text(card.get("fingerprint"))


def _charge_fingerprint(charge: Mapping[str, Any]) -> str | None:
    card = _mapping(_mapping(charge.get("payment_method_details")).get("card"))
    return _fingerprint_text(card.get("fingerprint"))


def _fingerprint_text(value: Any) -> str | None:
    ok = isinstance(value, str) and 0 < len(value) <= 64 and value.isascii() and value.isalnum()
    return value if ok else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_object(obj: Mapping[str, Any], expected: str) -> bool:
    """Whether ``data.object`` is what the event type promises (a missing ``object`` is taken
    on trust; a different one is not)."""
    return bool(obj) and obj.get("object", expected) == expected


def _text(value: Any, limit: int) -> str | None:
    """A usable string field: non-empty, at most ``limit`` characters, no NUL (which a JSON
    string may carry as ``\u0000`` and PostgreSQL text cannot hold)."""
    ok = isinstance(value, str) and 0 < len(value) <= limit and "\x00" not in value
    return value if ok else None


def _ref(value: Any) -> str | None:
    """An object id, given as a string or as an expanded object with an ``id``."""
    if isinstance(value, dict):
        value = value.get("id")
    return _text(value, MAX_REF_CHARS)


def _purchase_id(metadata: Any) -> int | None:
    value = _mapping(metadata).get("purchase_id")
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not (0 < len(value) <= MAX_PURCHASE_ID_DIGITS and value.isascii() and value.isdigit()):
            return None
        value = int(value)
    if isinstance(value, int) and 0 < value < 2**63:
        return value
    return None


def _amount(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    return None


def _currency(value: Any) -> str | None:
    if isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha():
        return value.upper()
    return None
