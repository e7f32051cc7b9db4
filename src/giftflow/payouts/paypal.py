"""The PayPal provider: PayPal Payouts v1 over ``httpx``, one batch of one item per withdrawal.

**Authentication.** An OAuth2 client-credentials token from ``POST /v1/oauth2/token`` (HTTP basic
auth with the client id and secret), cached until ``TOKEN_MARGIN`` before its ``expires_in`` by
the app's clock, so many calls cost one token call. A 401 on an API call drops the cached token
and retries the call once with a fresh one (PayPal may revoke a token early).

**Submitting** (``POST /v1/payments/payouts``): ``sender_batch_id`` and the item's
``sender_item_id`` are the withdrawal id, and ``PayPal-Request-Id`` is
``giftflow-withdrawal-<id>``. PayPal never pays a ``sender_batch_id`` twice (within 30 days):
a second create answers 400 with a HATEOAS link to the original payout, which ``submit``
follows (``GET /v1/payments/payouts/{payout_batch_id}``, always on ``api_base``: the link's host
is never trusted with our token) and answers that payout's status. So a crash between the
withdrawal's "submitted" mark and PayPal's answer is recovered by submitting again, and never
pays twice. A 201 answers ``PENDING`` (or ``DENIED`` when the batch was refused) with the
``payout_batch_id`` as ``provider_ref``; the item's fate comes later by webhook or ``lookup``.

**Amounts** are integers in the currency's minor unit; PayPal's ``value`` strings are written
from them with the currency's exponent (``giftflow.money.assets``: 208 USD → ``"2.08"``, 1000
JPY → ``"1000"``, 1234 KWD → ``"1.234"``) and read back exactly with ``Decimal``
(``format_value`` / ``parse_value``); no float ever holds an amount.

**Looking up** needs the ``payout_batch_id``: PayPal cannot search by ``sender_batch_id``, so
without ``provider_ref`` ``lookup`` answers None and the caller resubmits (idempotent, above).
404 is None too. Otherwise the item (the one whose ``sender_item_id`` is ours, else the first)
gives the status: its ``transaction_status`` (unknown values are ``PENDING``: not final), with
``errors.message`` (or ``name``) as the failure reason; a batch with no item yet is ``PENDING``
and a ``DENIED`` batch is ``DENIED``. A batch whose ``sender_batch_id`` is another withdrawal's
is refused (``ProviderError``, ``reason = "ref_mismatch"``): never settle a withdrawal on
someone else's payout.

**Webhooks** are verified by PayPal itself (``POST /v1/notifications/verify-webhook-signature``
with the five ``PAYPAL-*`` transmission headers, our ``webhook_id`` and the event):
``verification_status = SUCCESS`` is the only pass. Missing headers, a body that is not a JSON
object (it cannot be sent for verification), a ``FAILURE`` or a 400/422 from the verify call are
``InvalidSignature``; PayPal unreachable is ``ProviderError``. Parsing is ``webhooks.py``'s.
Replays are not refused here: the withdrawals code deduplicates by ``event_id``.

**Failures** reaching PayPal (timeouts, connection errors, 5xx, 429, other refusals, bodies
that are not what PayPal documents) are ``ProviderError`` (502) with ``details``: ``provider``,
``action``, ``reason`` (``timeout``, ``connection``, ``http_error``, ``unexpected_response``,
…), ``http_status``, PayPal's ``paypal_name`` / ``paypal_message`` / ``debug_id`` when given,
and ``retryable`` (True for timeouts, connection errors, 408, 429 and 5xx, where PayPal says
retrying with the same ``sender_batch_id`` is safe). Never a stack trace.

The calls are synchronous (blocking I/O): from async code, run them in a worker thread
(``asyncio.to_thread``). Tests pass ``transport`` (an ``httpx.MockTransport``).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any, Final
from urllib.parse import quote, urlsplit

import httpx

from giftflow.errors import InvalidAmount, InvalidSignature, ProviderError, UnknownAsset
from giftflow.money.assets import get_asset
from giftflow.payouts.providers import PayoutEvent, PayoutRequest, PayoutResult, PayoutStatus
from giftflow.payouts.webhooks import failure_reason, header_value, status_of, to_payout_event

PROVIDER: Final = "paypal"
DEFAULT_API_BASE: Final = "https://api-m.sandbox.paypal.com"
DEFAULT_TIMEOUT_SECONDS: Final = 10.0
TOKEN_MARGIN: Final = timedelta(seconds=60)

TOKEN_PATH: Final = "/v1/oauth2/token"
PAYOUTS_PATH: Final = "/v1/payments/payouts"
VERIFY_PATH: Final = "/v1/notifications/verify-webhook-signature"

EMAIL_SUBJECT: Final = "You have a payout from giftflow"
MAX_NOTE_CHARS: Final = 1000  # PayPal: the batch and item notes together, at most 1,000

TRANSMISSION_HEADERS: Final = (
    ("PAYPAL-AUTH-ALGO", "auth_algo"),
    ("PAYPAL-CERT-URL", "cert_url"),
    ("PAYPAL-TRANSMISSION-ID", "transmission_id"),
    ("PAYPAL-TRANSMISSION-SIG", "transmission_sig"),
    ("PAYPAL-TRANSMISSION-TIME", "transmission_time"),
)
"""The webhook headers PayPal's verify call needs, and the field each one fills."""

_PAYOUT_LINK: Final = re.compile(r"^/v1/payments/payouts/([A-Za-z0-9_-]{1,64})/?$")
_VALUE: Final = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,6})?$")
_RETRYABLE_STATUSES: Final = frozenset({408, 429})


def request_id(withdrawal_id: int) -> str:
    """The ``PayPal-Request-Id`` of a withdrawal's payout."""
    return f"giftflow-withdrawal-{withdrawal_id}"


def format_value(minor: int, currency: str) -> str:
    """PayPal's ``amount.value`` for ``minor`` units of ``currency``, exactly (no float).

    Raises ``UnknownAsset`` for a currency giftflow does not know (or one that is not fiat) and
    ``InvalidAmount`` for an amount that is not a positive integer.
    """
    scale = _fiat_scale(currency)
    if isinstance(minor, bool) or not isinstance(minor, int) or minor <= 0:
        raise InvalidAmount("A payout amount must be a positive integer of minor units.")
    if scale == 0:
        return str(minor)
    whole, fraction = divmod(minor, 10**scale)
    return f"{whole}.{fraction:0{scale}d}"


def parse_value(value: str, currency: str) -> int:
    """Minor units of ``currency`` from PayPal's ``value`` string, exactly.

    ``ValueError`` for anything but plain decimal digits, or more decimals than the currency
    has (``"2.085"`` USD is not a whole number of cents). ``"1.0"`` USD is 100.
    """
    scale = _fiat_scale(currency)
    if not isinstance(value, str) or not _VALUE.match(value):
        raise ValueError(f"not a PayPal amount value: {value!r}")
    with localcontext() as context:
        context.prec = 60  # far above 20 digits + 6 decimals: every step below is exact
        scaled = Decimal(value).scaleb(scale)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value!r} has more decimals than {currency} allows ({scale})")
        return int(scaled)


def _fiat_scale(currency: str) -> int:
    asset = get_asset(currency)
    if asset.kind != "fiat":
        raise UnknownAsset(f"{currency!r} is not a currency PayPal can pay.", asset=currency)
    return asset.scale


def duplicate_ref(error: Mapping[str, Any]) -> str | None:
    """The ``payout_batch_id`` of the original payout a duplicate-batch error links to.

    PayPal puts the HATEOAS link under ``details[].link`` (observed) or ``links``; either is
    accepted, and only a link whose path is ``/v1/payments/payouts/{id}`` counts.
    """
    candidates: list[Any] = []
    links = error.get("links")
    if isinstance(links, list):
        candidates.extend(links)
    details = error.get("details")
    if isinstance(details, list):
        for detail in details:
            if not isinstance(detail, dict):
                continue
            for key in ("link", "links"):
                value = detail.get(key)
                if isinstance(value, list):
                    candidates.extend(value)
                elif isinstance(value, dict):
                    candidates.append(value)
    for link in candidates:
        href = link.get("href") if isinstance(link, dict) else None
        if not isinstance(href, str):
            continue
        match = _PAYOUT_LINK.match(urlsplit(href).path)
        if match:
            return match.group(1)
    return None


def _says_duplicate(error: Mapping[str, Any]) -> bool:
    """Whether a 400 is about a ``sender_batch_id`` already used (with or without a link)."""
    details = error.get("details")
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("field", "")).upper() == "SENDER_BATCH_ID":
            return True
    return "already exists" in str(error.get("message", "")).lower()


class PayPalPayouts:
    """A ``PayoutProvider`` backed by PayPal Payouts v1 (see the module docstring)."""

    name: str = PROVIDER

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        api_base: str,
        webhook_id: str,
        now: Callable[[], datetime],
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if not (client_id and client_secret):
            raise ValueError("PayPalPayouts needs GIFTFLOW_PAYPAL_CLIENT_ID and _CLIENT_SECRET")
        if not webhook_id:
            # Without it no webhook verifies: creators would be paid and withdrawals never end.
            raise ValueError("PayPalPayouts needs GIFTFLOW_PAYPAL_WEBHOOK_ID")
        self.api_base = api_base.rstrip("/")
        self.webhook_id = webhook_id
        self._now = now
        self._credentials = (client_id, client_secret)
        self._client = httpx.Client(
            base_url=self.api_base, transport=transport, timeout=httpx.Timeout(timeout)
        )
        self._token: str | None = None
        self._token_expires: datetime | None = None
        self._token_lock = threading.Lock()

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    # --- PayoutProvider --------------------------------------------------------------------
    def submit(self, request: PayoutRequest) -> PayoutResult:
        """Create the withdrawal's payout, or answer the one PayPal already has for its id."""
        body = self.payout_body(request)
        response = self._authed(
            "POST",
            PAYOUTS_PATH,
            action="create_payout",
            json_body=body,
            headers={"PayPal-Request-Id": request_id(request.withdrawal_id)},
        )
        if response.status_code in (200, 201):
            data = _json(response, "create_payout")
            header = _mapping(data.get("batch_header"))
            ref = header.get("payout_batch_id")
            if not isinstance(ref, str) or not ref:
                raise _unexpected("create_payout", "the created payout has no payout_batch_id")
            denied = str(header.get("batch_status", "")).upper() == "DENIED"
            return PayoutResult(PayoutStatus.DENIED if denied else PayoutStatus.PENDING, ref)
        if response.status_code == 400:
            error = _json_or_empty(response)
            original = duplicate_ref(error)
            if original is not None:
                found = self._get_batch(original, request.withdrawal_id, "get_original_payout")
                if found is None:
                    raise _unexpected(
                        "get_original_payout",
                        "PayPal linked a duplicate payout it then could not find",
                        payout_batch_id=original,
                    )
                return found
            if _says_duplicate(error):
                raise _http_error(
                    response,
                    "create_payout",
                    message="PayPal says this withdrawal was already submitted but gave no "
                    "link to the payout; look it up in the PayPal dashboard by sender_batch_id",
                    reason="duplicate_without_link",
                    sender_batch_id=str(request.withdrawal_id),
                )
        raise _http_error(response, "create_payout")

    def lookup(self, withdrawal_id: int, provider_ref: str | None) -> PayoutResult | None:
        """The payout's status by its ``payout_batch_id``; None without one, or on 404."""
        if not provider_ref:
            return None
        return self._get_batch(provider_ref, withdrawal_id, "get_payout")

    def verify_event(self, headers: Mapping[str, str], body: bytes) -> PayoutEvent:
        """Have PayPal verify the delivery, then parse it (see the module docstring)."""
        fields: dict[str, Any] = {}
        missing: list[str] = []
        for header, field in TRANSMISSION_HEADERS:
            value = header_value(headers, header)
            if value:
                fields[field] = value
            else:
                missing.append(header)
        if missing:
            raise InvalidSignature(
                "The PayPal webhook is missing transmission headers.",
                reason="headers",
                missing=missing,
            )
        try:
            payload = body.decode("utf-8")
            event = json.loads(payload)
        except (UnicodeDecodeError, ValueError, RecursionError):
            event = None
        if not isinstance(event, dict):
            raise InvalidSignature(
                "The PayPal webhook body is not a JSON object, so it cannot be verified.",
                reason="body",
            )
        response = self._authed(
            "POST",
            VERIFY_PATH,
            action="verify_webhook_signature",
            json_body={**fields, "webhook_id": self.webhook_id, "webhook_event": event},
        )
        if response.status_code in (400, 422):
            raise InvalidSignature(
                "PayPal refused to verify the webhook's transmission.",
                reason="signature",
                http_status=response.status_code,
            )
        if response.status_code != 200:
            raise _http_error(response, "verify_webhook_signature")
        verdict = _json(response, "verify_webhook_signature").get("verification_status")
        if verdict != "SUCCESS":
            raise InvalidSignature(
                "PayPal says the webhook signature does not verify.",
                reason="signature",
                verification_status=str(verdict)[:20],
            )
        return to_payout_event(PROVIDER, event, payload)

    # --- requests --------------------------------------------------------------------------
    def payout_body(self, request: PayoutRequest) -> dict[str, Any]:
        """The create-payout body for a withdrawal (``ProviderError`` for a non-PayPal method)."""
        method = request.method
        if method.get("kind") != "paypal":
            raise ProviderError(
                "PayPal pays PayPal e-mail methods only",
                provider=PROVIDER,
                action="create_payout",
                reason="method_kind",
                method_kind=str(method.get("kind"))[:20],
                retryable=False,
            )
        email = method.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise ProviderError(
                "The PayPal payout method has no e-mail address.",
                provider=PROVIDER,
                action="create_payout",
                reason="method_email",
                retryable=False,
            )
        note = (request.note or f"giftflow withdrawal {request.withdrawal_id}")[:MAX_NOTE_CHARS]
        return {
            "sender_batch_header": {
                "sender_batch_id": str(request.withdrawal_id),
                "recipient_type": "EMAIL",
                "email_subject": EMAIL_SUBJECT,
            },
            "items": [
                {
                    "recipient_type": "EMAIL",
                    "amount": {
                        "value": format_value(request.net_minor, request.currency),
                        "currency": request.currency,
                    },
                    "receiver": email,
                    "sender_item_id": str(request.withdrawal_id),
                    "note": note,
                }
            ],
        }

    def _get_batch(self, ref: str, withdrawal_id: int, action: str) -> PayoutResult | None:
        response = self._authed("GET", f"{PAYOUTS_PATH}/{quote(ref, safe='')}", action=action)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _http_error(response, action)
        return batch_result(_json(response, action), withdrawal_id, action)

    def _access_token(self) -> str:
        """The cached token, or a new one once it is within ``TOKEN_MARGIN`` of expiring."""
        with self._token_lock:
            now = self._now()
            if self._token is not None and self._token_expires and now < self._token_expires:
                return self._token
            response = _send(
                "oauth2_token",
                lambda: self._client.post(
                    TOKEN_PATH,
                    auth=self._credentials,
                    data={"grant_type": "client_credentials"},
                    headers={"Accept": "application/json"},
                ),
            )
            if response.status_code != 200:
                message = (
                    "PayPal refused the client credentials (GIFTFLOW_PAYPAL_CLIENT_ID/_SECRET)"
                    if response.status_code in (400, 401)
                    else None
                )
                raise _http_error(response, "oauth2_token", message=message)
            data = _json(response, "oauth2_token")
            token = data.get("access_token")
            expires_in = data.get("expires_in")
            if not isinstance(token, str) or not token:
                raise _unexpected("oauth2_token", "the token answer has no access_token")
            if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
                raise _unexpected("oauth2_token", "the token answer has no usable expires_in")
            lifetime = timedelta(seconds=expires_in)
            self._token = token
            self._token_expires = now + lifetime - min(TOKEN_MARGIN, lifetime / 2)
            return token

    def _drop_token(self, token: str) -> None:
        with self._token_lock:
            if self._token == token:
                self._token = None

    def _authed(
        self,
        method: str,
        path: str,
        *,
        action: str,
        json_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One API call with the bearer token; a 401 is retried once with a fresh token."""
        token = self._access_token()
        response = self._request(method, path, token, action, json_body, headers)
        if response.status_code == 401:
            self._drop_token(token)
            token = self._access_token()
            response = self._request(method, path, token, action, json_body, headers)
        return response

    def _request(
        self,
        method: str,
        path: str,
        token: str,
        action: str,
        json_body: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        all_headers.update(headers or {})
        return _send(
            action,
            lambda: self._client.request(method, path, json=json_body, headers=all_headers),
        )


def batch_result(data: Mapping[str, Any], withdrawal_id: int, action: str) -> PayoutResult:
    """A ``PayoutResult`` from a ``GET /v1/payments/payouts/{id}`` answer (module docstring)."""
    header = _mapping(data.get("batch_header"))
    ref = header.get("payout_batch_id")
    if not isinstance(ref, str) or not ref:
        raise _unexpected(action, "the payout has no batch_header.payout_batch_id")
    ours = str(withdrawal_id)
    sender_batch_id = _mapping(header.get("sender_batch_header")).get("sender_batch_id")
    if isinstance(sender_batch_id, str) and sender_batch_id != ours:
        raise ProviderError(
            "This PayPal payout belongs to another withdrawal.",
            provider=PROVIDER,
            action=action,
            reason="ref_mismatch",
            payout_batch_id=ref,
            sender_batch_id=sender_batch_id[:40],
            withdrawal_id=withdrawal_id,
            retryable=False,
        )
    raw_items = data.get("items")
    items = [i for i in raw_items if isinstance(i, dict)] if isinstance(raw_items, list) else []
    item = next(
        (i for i in items if _mapping(i.get("payout_item")).get("sender_item_id") == ours),
        items[0] if items else None,
    )
    reason = failure_reason(item.get("errors")) if item is not None else None
    if str(header.get("batch_status", "")).upper() == "DENIED":
        return PayoutResult(PayoutStatus.DENIED, ref, reason)
    if item is None:
        return PayoutResult(PayoutStatus.PENDING, ref)
    status = status_of(item.get("transaction_status")) or PayoutStatus.PENDING
    return PayoutResult(status, ref, reason)


def _send(action: str, call: Callable[[], httpx.Response]) -> httpx.Response:
    """Run one HTTP call; transport failures become ``ProviderError`` (retryable)."""
    try:
        return call()
    except httpx.TimeoutException as exc:
        raise ProviderError(
            f"PayPal did not answer in time ({action}); retry later.",
            provider=PROVIDER,
            action=action,
            reason="timeout",
            error=type(exc).__name__,
            retryable=True,
        ) from exc
    except httpx.HTTPError as exc:
        raise ProviderError(
            f"PayPal could not be reached ({action}); retry later.",
            provider=PROVIDER,
            action=action,
            reason="connection",
            error=type(exc).__name__,
            retryable=True,
        ) from exc


def _json(response: httpx.Response, action: str) -> dict[str, Any]:
    """A success body as a JSON object, or ``ProviderError`` (``unexpected_response``)."""
    try:
        data = response.json()
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise _unexpected(
            action, "the answer is not a JSON object", http_status=response.status_code
        )
    return data


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _unexpected(action: str, what: str, **details: Any) -> ProviderError:
    return ProviderError(
        f"PayPal answered something unexpected ({action}): {what}.",
        provider=PROVIDER,
        action=action,
        reason="unexpected_response",
        retryable=True,
        **details,
    )


def _http_error(
    response: httpx.Response,
    action: str,
    *,
    message: str | None = None,
    reason: str = "http_error",
    **extra: Any,
) -> ProviderError:
    """A ``ProviderError`` carrying what PayPal said about a refused or failed call."""
    status = response.status_code
    error = _json_or_empty(response)
    details: dict[str, Any] = {
        "provider": PROVIDER,
        "action": action,
        "reason": reason,
        "http_status": status,
        "retryable": status >= 500 or status in _RETRYABLE_STATUSES,
    }
    name = error.get("name") or error.get("error")
    said = error.get("message") or error.get("error_description")
    if isinstance(name, str):
        details["paypal_name"] = name[:100]
    if isinstance(said, str):
        details["paypal_message"] = said[:300]
    debug_id = error.get("debug_id") or response.headers.get("paypal-debug-id")
    if isinstance(debug_id, str):
        details["debug_id"] = debug_id[:100]
    details.update(extra)
    text = message or f"PayPal answered HTTP {status} ({action})" + (
        f": {details['paypal_name']}" if "paypal_name" in details else ""
    )
    return ProviderError(text[:500], **details)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
