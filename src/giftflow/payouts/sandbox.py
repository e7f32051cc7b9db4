"""The sandbox payout provider: embedded, deterministic, no network.

It pays nothing; it remembers, per withdrawal id, the one payout it "made" and answers its status
from the app's clock, so tests and demos move a fake clock instead of waiting. A tag after the
last ``+`` of the receiver picks the outcome, like PayPal's sandbox accounts: the local part of
the PayPal e-mail (``ana+fail@example.com``) or the bank account's ``holder_name``
(``Ana Example+return``), case-insensitive. With ``t`` the time since submission and ``S`` =
``settle_seconds``:

====================  =================================================================
tag                   status
====================  =================================================================
none or unknown       PENDING while t < S, then SUCCESS
``fail``              PENDING, then FAILED ("sandbox: receiver refused")
``blocked``           PENDING, then BLOCKED
``onhold``            ONHOLD for good
``pending``           PENDING for good
``unclaimed``         PENDING, then UNCLAIMED, then RETURNED from t = 30 days
``return``            PENDING, then SUCCESS, then RETURNED from t = 1 day (paid, then returned)
``reverse``           PENDING, then SUCCESS, then REVERSED from t = 1 day
====================  =================================================================

With ``settle_seconds = 0`` the first answer is already the settled one.

**Idempotency** is the point of the interface: ``submit`` with an id the sandbox already knows
answers that payout's status now and creates nothing (whatever the new request says: the first
one stands, as with PayPal's ``sender_batch_id``). ``paid_count(id)`` (payouts made: 0 or 1) and
``submissions(id)`` (submit calls that reached the sandbox) let tests prove "exactly one payout".
Setting ``unreachable = True`` makes ``submit`` and ``lookup`` raise ``ProviderError``, as a
network failure would, without touching the stored payouts (to test retries).

**Webhooks** use PayPal's item-event JSON (``webhooks.item_event``) signed like Stripe's:
``Giftflow-Sandbox-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``,
accepted within ``TOLERANCE_SECONDS`` (300 s) of ``now()`` either way. ``sign`` and
``event_body`` build deliveries for tests and demos; ``SandboxPayouts.signed_event`` builds the
delivery for a payout's current status. The sandbox never sends anything itself.

State lives in memory: build one ``SandboxPayouts`` per process (the registry is called once at
startup), and a restart forgets every sandbox payout, so ``lookup`` then answers None and the
caller resubmits, which pays "again" in a sandbox that never paid.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from giftflow.errors import InvalidSignature, ProviderError
from giftflow.payouts.providers import PayoutEvent, PayoutRequest, PayoutResult, PayoutStatus
from giftflow.payouts.webhooks import decode_body, header_value, item_event, parse_event

PROVIDER: Final = "sandbox"
SIGNATURE_HEADER: Final = "Giftflow-Sandbox-Signature"
TOLERANCE_SECONDS: Final = 300

RECEIVER_REFUSED: Final = "sandbox: receiver refused"
BLOCKED_REASON: Final = "sandbox: blocked by compliance review"
RETURNED_REASON: Final = "sandbox: returned to the sender"
REVERSED_REASON: Final = "sandbox: reversed by the receiver's bank"

UNCLAIMED_RETURN_AFTER: Final = timedelta(days=30)
LATE_AFTER: Final = timedelta(days=1)

OUTCOMES: Final = frozenset(
    {"success", "fail", "blocked", "onhold", "pending", "unclaimed", "return", "reverse"}
)
"""Every outcome the sandbox knows; an unknown tag is ``success``."""


def sandbox_ref(withdrawal_id: int) -> str:
    """The sandbox's id of a withdrawal's payout (its ``provider_ref``)."""
    return f"SBX-{withdrawal_id}"


def outcome_of(method: Mapping[str, object]) -> str:
    """The outcome the method's tag asks for (see the module docstring); ``success`` if none.

    Raises ``ProviderError`` for a method the sandbox cannot pay: neither a PayPal e-mail nor a
    bank account, as a real provider would refuse it.
    """
    kind = method.get("kind")
    if kind == "paypal":
        email = method.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise ProviderError(
                "sandbox: the PayPal method has no e-mail address.", provider=PROVIDER
            )
        text = email.rpartition("@")[0]
    elif kind == "bank":
        holder = method.get("holder_name")
        text = holder if isinstance(holder, str) else ""
    else:
        raise ProviderError(
            "sandbox: pays PayPal e-mail and bank methods only.",
            provider=PROVIDER,
            method_kind=str(kind)[:20],
        )
    if "+" not in text:
        return "success"
    tag = text.rpartition("+")[2].strip().lower()
    return tag if tag in OUTCOMES else "success"


def status_at(outcome: str, elapsed: timedelta, settle: timedelta) -> PayoutResult:
    """The status (without ref) of a payout with ``outcome``, ``elapsed`` after submission."""
    if outcome == "onhold":
        return PayoutResult(PayoutStatus.ONHOLD, None)
    if outcome == "pending" or elapsed < settle:
        return PayoutResult(PayoutStatus.PENDING, None)
    if outcome == "fail":
        return PayoutResult(PayoutStatus.FAILED, None, RECEIVER_REFUSED)
    if outcome == "blocked":
        return PayoutResult(PayoutStatus.BLOCKED, None, BLOCKED_REASON)
    if outcome == "unclaimed":
        if elapsed >= UNCLAIMED_RETURN_AFTER:
            return PayoutResult(PayoutStatus.RETURNED, None, RETURNED_REASON)
        return PayoutResult(PayoutStatus.UNCLAIMED, None)
    if outcome == "return" and elapsed >= LATE_AFTER:
        return PayoutResult(PayoutStatus.RETURNED, None, RETURNED_REASON)
    if outcome == "reverse" and elapsed >= LATE_AFTER:
        return PayoutResult(PayoutStatus.REVERSED, None, REVERSED_REASON)
    return PayoutResult(PayoutStatus.SUCCESS, None)


@dataclass(frozen=True, slots=True)
class SandboxPayout:
    """The one payout the sandbox made for a withdrawal."""

    request: PayoutRequest  # the first request: later ones with the same id change nothing
    submitted_at: datetime
    provider_ref: str
    outcome: str


class SandboxPayouts:
    """A ``PayoutProvider`` that pays nobody, deterministically (see the module docstring)."""

    name: str = PROVIDER

    def __init__(
        self,
        now: Callable[[], datetime],
        settle_seconds: int = 10,
        webhook_secret: str = "",
    ) -> None:
        if settle_seconds < 0:
            raise ValueError("settle_seconds must not be negative")
        webhook_secret = webhook_secret or secrets.token_urlsafe(32)  # never a known key
        self._now = now
        self.settle = timedelta(seconds=settle_seconds)
        self.webhook_secret = webhook_secret
        self.unreachable = False
        self.payouts: dict[int, SandboxPayout] = {}
        self._submissions: dict[int, int] = {}
        self._lock = threading.Lock()  # the withdrawals code may call from worker threads

    def submit(self, request: PayoutRequest) -> PayoutResult:
        """Make the withdrawal's payout once; any later call answers its status now."""
        self._reach("submit")
        outcome = outcome_of(request.method)  # refuse an unpayable method before recording it
        with self._lock:
            self._submissions[request.withdrawal_id] = (
                self._submissions.get(request.withdrawal_id, 0) + 1
            )
            payout = self.payouts.get(request.withdrawal_id)
            if payout is None:
                payout = SandboxPayout(
                    request=request,
                    submitted_at=self._now(),
                    provider_ref=sandbox_ref(request.withdrawal_id),
                    outcome=outcome,
                )
                self.payouts[request.withdrawal_id] = payout
        return self._result(payout)

    def lookup(self, withdrawal_id: int, provider_ref: str | None) -> PayoutResult | None:
        """The payout's status now, by our id (``provider_ref`` is not needed); None if the
        sandbox never made a payout for this id."""
        self._reach("lookup")
        with self._lock:
            payout = self.payouts.get(withdrawal_id)
        return None if payout is None else self._result(payout)

    def verify_event(self, headers: Mapping[str, str], body: bytes) -> PayoutEvent:
        """Check ``Giftflow-Sandbox-Signature`` over the raw body, then parse it."""
        header = header_value(headers, SIGNATURE_HEADER)
        verify_signature(body, header, self.webhook_secret, self._now())
        return parse_event(PROVIDER, decode_body(body))

    # --- for tests and demos -------------------------------------------------------------
    def paid_count(self, withdrawal_id: int) -> int:
        """How many payouts the sandbox made for this withdrawal: 0 or 1, never more."""
        with self._lock:
            return 1 if withdrawal_id in self.payouts else 0

    def submissions(self, withdrawal_id: int) -> int:
        """How many ``submit`` calls for this withdrawal reached the sandbox."""
        with self._lock:
            return self._submissions.get(withdrawal_id, 0)

    def signed_event(
        self, withdrawal_id: int, *, at: datetime | None = None
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body of the webhook announcing the payout's current status, signed
        ``at`` (default: now), as a demo delivers it to the webhook route. Raises ``KeyError``
        for an unknown withdrawal and ``ValueError`` while it is PENDING (nothing to say)."""
        with self._lock:
            payout = self.payouts[withdrawal_id]
        result = self._result(payout)
        body = event_body(
            withdrawal_id,
            result.status,
            provider_ref=payout.provider_ref,
            failure_reason=result.failure_reason,
        )
        signature = sign(body, self.webhook_secret, at or self._now())
        return {SIGNATURE_HEADER: signature, "Content-Type": "application/json"}, body

    def _result(self, payout: SandboxPayout) -> PayoutResult:
        found = status_at(payout.outcome, self._now() - payout.submitted_at, self.settle)
        return PayoutResult(found.status, payout.provider_ref, found.failure_reason)

    def _reach(self, action: str) -> None:
        if self.unreachable:
            raise ProviderError(
                f"sandbox: the payout provider cannot be reached ({action}); retry later.",
                provider=PROVIDER,
                action=action,
                reason="unreachable",
                retryable=True,
            )


def event_body(
    withdrawal_id: int,
    status: PayoutStatus,
    *,
    event_id: str | None = None,
    provider_ref: str | None = None,
    failure_reason: str | None = None,
) -> bytes:
    """A PayPal-shaped item event (JSON bytes) saying the withdrawal's payout reached
    ``status``; the default event id is the same for the same payout and status, so a
    redelivery deduplicates. ``ValueError`` for PENDING (no such event)."""
    event = item_event(
        withdrawal_id,
        status,
        event_id=event_id,
        provider_ref=provider_ref if provider_ref is not None else sandbox_ref(withdrawal_id),
        failure_reason=failure_reason,
    )
    return json.dumps(event, separators=(",", ":")).encode()


def sign(body: bytes, secret: str, at: datetime) -> str:
    """The ``Giftflow-Sandbox-Signature`` header value for ``body`` signed at ``at``."""
    timestamp = int(at.timestamp())
    return f"t={timestamp},v1={_digest(body, secret, timestamp)}"


def verify_signature(body: bytes, header: str | None, secret: str, now: datetime) -> None:
    """Check a ``Giftflow-Sandbox-Signature`` header over the raw ``body``.

    Raises ``InvalidSignature`` (``details.reason``: ``signature`` or ``timestamp``) for a
    missing or malformed header, no matching ``v1``, or a time more than 300 s from ``now``.
    """
    if not header or not header.isascii():
        raise InvalidSignature(
            f"The {SIGNATURE_HEADER} header is missing or malformed.", reason="signature"
        )
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t" and timestamp is None and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value.strip().lower())
    if timestamp is None or not candidates:
        raise InvalidSignature(
            f"The {SIGNATURE_HEADER} header needs t=<unix time> and v1=<signature>.",
            reason="signature",
        )
    expected = _digest(body, secret, timestamp)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise InvalidSignature("The sandbox payout signature does not verify.", reason="signature")
    age = int(now.timestamp()) - timestamp
    if abs(age) > TOLERANCE_SECONDS:
        raise InvalidSignature(
            f"The webhook was signed {abs(age)} s {'ago' if age > 0 else 'in the future'}, "
            f"outside the {TOLERANCE_SECONDS} s tolerance.",
            reason="timestamp",
            timestamp=timestamp,
            tolerance_seconds=TOLERANCE_SECONDS,
        )


def _digest(body: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
