"""The Stripe provider: PaymentIntents and Refunds through ``stripe.StripeClient``.

``start`` creates a PaymentIntent for the purchase (amount in minor units, currency in lower
case, ``metadata = {"purchase_id", "user_id"}``, automatic payment methods) and answers
``PENDING`` with the PaymentIntent's id as ``provider_ref`` and its ``client_secret`` for the
buyer's app, which confirms the payment; the outcome arrives later as a signed webhook
(``stripe_webhooks.py``). ``refund`` creates a Refund of that PaymentIntent.

Idempotency: every call carries an ``Idempotency-Key``, ``purchase-<id>`` for the PaymentIntent
and the caller's key for a refund, so a retry after a timeout (the client retries network errors,
409s and 5xxs itself, ``max_network_retries``) or a second ``start`` for the same purchase finds
the first PaymentIntent instead of making another. Stripe keeps keys for at least 24 hours and
refuses a key reused with different parameters (``idempotency_error``).

Every Stripe failure (a refusal, an authentication or rate-limit error, a network error) becomes
``ProviderError`` (502) with ``details`` naming Stripe's ``stripe_code``, ``stripe_type``,
``http_status`` and ``request_id`` when Stripe gave them.

The calls are synchronous (blocking I/O): from async code, run them in a worker thread
(``asyncio.to_thread``). Tests inject ``http_client``, a ``stripe.HTTPClient`` that answers in
process, and ``api_base`` to point the client anywhere.
"""

from __future__ import annotations

from typing import Any

import stripe

from giftflow.errors import ProviderError
from giftflow.payments.providers import PaymentRequest, PaymentStart, StartStatus

DEFAULT_API_BASE = "https://api.stripe.com"


def purchase_idempotency_key(purchase_id: int) -> str:
    """The Idempotency-Key of the PaymentIntent of a purchase."""
    return f"purchase-{purchase_id}"


def provider_error(exc: stripe.StripeError, action: str) -> ProviderError:
    """A ``ProviderError`` carrying what Stripe said about a failed call."""
    details: dict[str, Any] = {"provider": "stripe", "action": action}
    error: Any = exc.json_body.get("error") if isinstance(exc.json_body, dict) else None
    code = exc.code
    if isinstance(error, dict):
        code = code or error.get("code")
        for key, name in (("type", "stripe_type"), ("decline_code", "decline_code")):
            if isinstance(error.get(key), str):
                details[name] = error[key]
    if isinstance(exc, stripe.APIConnectionError):
        details["stripe_type"] = "api_connection_error"
    details["stripe_code"] = code if isinstance(code, str) else None
    if exc.http_status is not None:
        details["http_status"] = exc.http_status
    if exc.request_id:
        details["request_id"] = exc.request_id
    message = f"Stripe refused or could not take the call ({action}): {exc.user_message or exc}"
    return ProviderError(message[:500], **details)


class StripeProvider:
    """A ``PaymentProvider`` backed by Stripe PaymentIntents (see the module docstring)."""

    name: str = "stripe"

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        http_client: stripe.HTTPClient | None = None,
        max_network_retries: int = 2,
    ) -> None:
        if not api_key:
            raise ValueError("StripeProvider needs an API key (GIFTFLOW_STRIPE_API_KEY)")
        self.api_base = api_base.rstrip("/")
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": self.api_base},
            http_client=http_client,
            max_network_retries=max_network_retries,
        )

    def start(self, request: PaymentRequest) -> PaymentStart:
        """Create the purchase's PaymentIntent (idempotent by ``purchase-<id>``): ``PENDING``."""
        try:
            intent = self._client.v1.payment_intents.create(
                params={
                    "amount": request.amount_minor,
                    "currency": request.currency.lower(),
                    "description": request.description,
                    "metadata": {
                        "purchase_id": str(request.purchase_id),
                        "user_id": request.user_id,
                    },
                    "automatic_payment_methods": {"enabled": True},
                },
                options={"idempotency_key": purchase_idempotency_key(request.purchase_id)},
            )
        except stripe.StripeError as exc:
            raise provider_error(exc, "create_payment_intent") from exc
        if not isinstance(intent.id, str) or not intent.id:  # pragma: no cover - Stripe's contract
            raise ProviderError("Stripe answered a PaymentIntent without an id.", provider="stripe")
        return PaymentStart(
            StartStatus.PENDING, provider_ref=intent.id, client_secret=intent.client_secret
        )

    def refund(self, provider_ref: str, amount_minor: int, currency: str, key: str) -> None:
        """Refund ``amount_minor`` of the PaymentIntent ``provider_ref`` (idempotent by ``key``).

        ``currency`` is not sent: a refund is always in the PaymentIntent's currency.
        """
        try:
            self._client.v1.refunds.create(
                params={"payment_intent": provider_ref, "amount": amount_minor},
                options={"idempotency_key": key},
            )
        except stripe.StripeError as exc:
            raise provider_error(exc, "create_refund") from exc
