"""Payout webhook events: one JSON shape (PayPal's), one parser, for PayPal and the sandbox.

Both providers deliver PayPal-shaped events; each verifies its own signature (PayPal through its
verify-webhook-signature API, the sandbox with an HMAC header) and then hands the verified body
here, so the withdrawals code sees one ``PayoutEvent`` whoever sent it.

**Item events** (``PAYMENT.PAYOUTS-ITEM.*``, ``resource_type = "payouts_item"``) are about one
payout item::

    {"id": "WH-…", "event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED",
     "resource": {"payout_batch_id": "…", "payout_item_id": "…", "transaction_status": "SUCCESS",
                  "sender_batch_id": "42",
                  "payout_item": {"sender_item_id": "42", "receiver": "…", "amount": {…}},
                  "errors": {"name": "RECEIVER_UNREGISTERED", "message": "…"}}}

The status is ``resource.transaction_status`` when it names a ``PayoutStatus`` (it is what
PayPal says the item *is*), else the event type's suffix (``ITEM_EVENT_STATUS``: ``HELD`` is
``ONHOLD``, ``CANCELED`` is ``REFUNDED`` because PayPal gives a cancelled unclaimed payout back
to the sender). The failure reason is ``resource.errors.message`` (or its ``name``).

**Batch events** (``PAYMENT.PAYOUTSBATCH.*``) carry ``resource.batch_header``; only
``PAYMENT.PAYOUTSBATCH.DENIED`` says something final about the payout (``DENIED``); PROCESSING
and SUCCESS say nothing an item event or a lookup will not say better, so their status is None.
Any other event type is verified but has nothing to apply (status None).

The withdrawal id is read from what PayPal echoes of ours: ``payout_item.sender_item_id``, then
``sender_batch_id`` (or ``batch_header.sender_batch_header.sender_batch_id``); anything that is
not a plain positive decimal integer gives None (the caller then finds the withdrawal by
``provider_ref``).

A verified body that is not JSON, not an object, or lacks a string ``id`` / ``event_type`` is
``ValidationFailed``: the sender is genuine, the content is not usable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from giftflow.errors import ValidationFailed
from giftflow.payouts.providers import PayoutEvent, PayoutStatus

ITEM_EVENT_PREFIX: Final = "PAYMENT.PAYOUTS-ITEM."
BATCH_EVENT_PREFIX: Final = "PAYMENT.PAYOUTSBATCH."
BATCH_DENIED: Final = "PAYMENT.PAYOUTSBATCH.DENIED"

MAX_ID_CHARS: Final = 255  # event ids and provider refs are stored in bounded columns
MAX_TYPE_CHARS: Final = 100
MAX_REASON_CHARS: Final = 500
MAX_WITHDRAWAL_ID_DIGITS: Final = 18  # below 2**63: fits the BIGINT primary key

ITEM_EVENT_STATUS: Final[Mapping[str, PayoutStatus]] = {
    "SUCCEEDED": PayoutStatus.SUCCESS,
    "FAILED": PayoutStatus.FAILED,
    "BLOCKED": PayoutStatus.BLOCKED,
    "CANCELED": PayoutStatus.REFUNDED,
    "DENIED": PayoutStatus.DENIED,
    "HELD": PayoutStatus.ONHOLD,
    "REFUNDED": PayoutStatus.REFUNDED,
    "RETURNED": PayoutStatus.RETURNED,
    "UNCLAIMED": PayoutStatus.UNCLAIMED,
    "REVERSED": PayoutStatus.REVERSED,
}
"""The status an item event's type means, by the suffix after ``PAYMENT.PAYOUTS-ITEM.``."""

STATUS_EVENT_TYPE: Final[Mapping[PayoutStatus, str]] = {
    PayoutStatus.SUCCESS: "PAYMENT.PAYOUTS-ITEM.SUCCEEDED",
    PayoutStatus.FAILED: "PAYMENT.PAYOUTS-ITEM.FAILED",
    PayoutStatus.BLOCKED: "PAYMENT.PAYOUTS-ITEM.BLOCKED",
    PayoutStatus.DENIED: "PAYMENT.PAYOUTS-ITEM.DENIED",
    PayoutStatus.ONHOLD: "PAYMENT.PAYOUTS-ITEM.HELD",
    PayoutStatus.REFUNDED: "PAYMENT.PAYOUTS-ITEM.REFUNDED",
    PayoutStatus.RETURNED: "PAYMENT.PAYOUTS-ITEM.RETURNED",
    PayoutStatus.UNCLAIMED: "PAYMENT.PAYOUTS-ITEM.UNCLAIMED",
    PayoutStatus.REVERSED: "PAYMENT.PAYOUTS-ITEM.REVERSED",
}
"""The item event PayPal sends when an item reaches a status (PENDING has none: PayPal does
not announce that a payout is still being processed)."""


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (HTTP header names are case-insensitive)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def load_event(payload: str) -> dict[str, Any]:
    """The verified body as a JSON object, or ``ValidationFailed``."""
    try:
        event = json.loads(payload)
    except (ValueError, RecursionError):
        raise ValidationFailed(
            "The verified payout webhook body is not JSON.", reason="syntax"
        ) from None
    if not isinstance(event, dict):
        raise ValidationFailed(
            "The verified payout webhook body is not a JSON object.", reason="shape"
        )
    return event


def decode_body(body: bytes) -> str:
    """The body as text; a verified body that is not UTF-8 is ``ValidationFailed``."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("The payout webhook body is not UTF-8.", reason="encoding") from None


def parse_event(provider: str, payload: str) -> PayoutEvent:
    """Parse a verified body (text) into a ``PayoutEvent`` (see the module docstring)."""
    return to_payout_event(provider, load_event(payload), payload)


def to_payout_event(provider: str, event: Mapping[str, Any], payload: str) -> PayoutEvent:
    """Normalise a verified, decoded event (see the module docstring)."""
    event_id = _ref(event.get("id"))
    event_type = _ref(event.get("event_type"))
    if event_id is None:
        raise ValidationFailed(
            "The payout webhook has no usable event id.", reason="shape", field="id"
        )
    if event_type is None or len(event_type) > MAX_TYPE_CHARS:
        raise ValidationFailed(
            "The payout webhook has no usable event type.", reason="shape", field="event_type"
        )
    raw_resource = event.get("resource")
    resource: Mapping[str, Any] = raw_resource if isinstance(raw_resource, dict) else {}
    if event_type.startswith(BATCH_EVENT_PREFIX):
        return _batch_event(provider, event_id, event_type, resource, payload)
    item = _mapping(resource.get("payout_item"))
    withdrawal_id = withdrawal_id_of(item.get("sender_item_id"))
    if withdrawal_id is None:
        withdrawal_id = withdrawal_id_of(resource.get("sender_batch_id"))
    status: PayoutStatus | None = None
    if event_type.startswith(ITEM_EVENT_PREFIX):
        status = _status(resource.get("transaction_status"))
        if status is None:
            status = ITEM_EVENT_STATUS.get(event_type.removeprefix(ITEM_EVENT_PREFIX))
    return PayoutEvent(
        provider=provider,
        event_id=event_id,
        event_type=event_type,
        withdrawal_id=withdrawal_id,
        provider_ref=_ref(resource.get("payout_batch_id")),
        status=status,
        payload=payload,
        failure_reason=failure_reason(resource.get("errors")),
    )


def _batch_event(
    provider: str,
    event_id: str,
    event_type: str,
    resource: Mapping[str, Any],
    payload: str,
) -> PayoutEvent:
    header = _mapping(resource.get("batch_header"))
    sender_header = _mapping(header.get("sender_batch_header"))
    return PayoutEvent(
        provider=provider,
        event_id=event_id,
        event_type=event_type,
        withdrawal_id=withdrawal_id_of(sender_header.get("sender_batch_id")),
        provider_ref=_ref(header.get("payout_batch_id")),
        status=PayoutStatus.DENIED if event_type == BATCH_DENIED else None,
        payload=payload,
        failure_reason=failure_reason(resource.get("errors")),
    )


def withdrawal_id_of(value: Any) -> int | None:
    """Our withdrawal id from an echoed ``sender_*_id``: plain positive decimal digits, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 10**MAX_WITHDRAWAL_ID_DIGITS else None
    if not isinstance(value, str):
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > MAX_WITHDRAWAL_ID_DIGITS:
        return None
    number = int(value)
    return number if number > 0 else None


def status_of(value: Any) -> PayoutStatus | None:
    """A ``PayoutStatus`` from PayPal's status string (any case), or None if it names none."""
    return _status(value)


def failure_reason(errors: Any) -> str | None:
    """PayPal's ``errors`` object as a short reason: its ``message``, else its ``name``."""
    if not isinstance(errors, dict):
        return None
    for key in ("message", "name"):
        value = errors.get(key)
        if isinstance(value, str) and value.replace("\x00", "").strip():
            return value.replace("\x00", "").strip()[:MAX_REASON_CHARS]
    return None


def _status(value: Any) -> PayoutStatus | None:
    if not isinstance(value, str):
        return None
    try:
        return PayoutStatus(value.strip().upper())
    except ValueError:
        return None


def _ref(value: Any) -> str | None:
    """A usable id: a non-empty string of at most ``MAX_ID_CHARS`` without NUL (a JSON string
    may carry ``\u0000``; PostgreSQL text cannot hold it)."""
    if isinstance(value, str) and value and len(value) <= MAX_ID_CHARS and "\x00" not in value:
        return value
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def item_event(
    withdrawal_id: int,
    status: PayoutStatus,
    *,
    event_id: str | None = None,
    provider_ref: str | None = None,
    failure_reason: str | None = None,
) -> dict[str, Any]:
    """A PayPal-shaped ``PAYMENT.PAYOUTS-ITEM.*`` event for one withdrawal reaching ``status``.

    Used by the sandbox to build its deliveries and by tests and demos to play PayPal's part.
    ``status`` must have an item event (not PENDING: PayPal sends none for it).
    """
    event_type = STATUS_EVENT_TYPE.get(status)
    if event_type is None:
        raise ValueError(f"PayPal sends no item event for a {status} payout")
    ref = provider_ref if provider_ref is not None else f"SBX-{withdrawal_id}"
    resource: dict[str, Any] = {
        "payout_batch_id": ref,
        "payout_item_id": f"{ref}-1",
        "transaction_status": status.value,
        "sender_batch_id": str(withdrawal_id),
        "payout_item": {"recipient_type": "EMAIL", "sender_item_id": str(withdrawal_id)},
    }
    if failure_reason is not None:
        resource["errors"] = {"name": "SANDBOX_ERROR", "message": failure_reason}
    return {
        "id": event_id if event_id is not None else f"WH-{ref}-{status.value}",
        "event_version": "1.0",
        "resource_type": "payouts_item",
        "event_type": event_type,
        "summary": f"Payout item {status.value.lower()}",
        "resource": resource,
    }
