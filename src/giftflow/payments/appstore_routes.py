"""POST /v1/webhooks/appstore: App Store Server Notifications v2, verified, then handed on.

Apple POSTs ``{"signedPayload": "<JWS>"}``. The route verifies it (``AppStoreVerifier``), turns it
into one ``ProviderEvent`` and hands that to the ``EventSink`` the wallet registered at
``app.state.payment_sink``; the sink deduplicates by ``(provider, event_id)`` and stores every
event. Every verified notification is answered 200 ``{"received": true, "outcome": ...}``, a
duplicate too, so Apple stops retrying; one that does not verify is answered 400
``invalid_signature`` and never reaches the sink. No sink registered is 503, settings that are
missing 422 ``unknown_provider``, settings that are unusable 500: Apple retries every answer
outside 200-206, so nothing verified is lost.

The settings are read from the running app's context (``app.state.giftflow.settings``) without
importing ``giftflow.context``: the payments package may not import it (import-linter contract).
The verifier is built once per app and kept at ``app.state.appstore_verifier``; a test or the app
factory may put one there first.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from giftflow.errors import UnknownProvider, WriterUnavailable
from giftflow.http.schemas import StrictModel
from giftflow.payments.appstore import AppStoreNotConfigured, AppStoreVerifier
from giftflow.payments.events import EventSink
from giftflow.settings import Settings

log = logging.getLogger("giftflow.payments.appstore")

router = APIRouter(prefix="/v1/webhooks", tags=["payments"])


class AppStoreNotificationIn(StrictModel):
    """What Apple sends: the notification as one signed JWS, nothing else."""

    signed_payload: str = Field(
        alias="signedPayload",
        min_length=1,
        description="The notification, a JWS signed by the App Store (ES256, x5c chain).",
    )


class WebhookReceivedOut(BaseModel):
    received: bool = Field(description="Always true: the notification verified and was stored.")
    outcome: str = Field(
        description="What the wallet did with it, e.g. credited, duplicate, unknown_purchase."
    )


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.giftflow.settings
    return settings


def get_appstore_verifier(request: Request) -> AppStoreVerifier:
    """The app's verifier, built from the settings on first use.

    Without a bundle id or root certificates the App Store is not offered here (422
    ``unknown_provider``, as for Stripe without its secret); settings that are present but
    unusable (an unreadable certificate, an environment that skips signature checks, Production
    without the app Apple id) are a deployment error: logged, answered 500.
    """
    state = request.app.state
    verifier: AppStoreVerifier | None = getattr(state, "appstore_verifier", None)
    if verifier is not None:
        return verifier
    settings = _settings(request)
    for name, value in (
        ("GIFTFLOW_APPSTORE_BUNDLE_ID", settings.appstore_bundle_id),
        ("GIFTFLOW_APPSTORE_ROOT_CERTIFICATES", settings.appstore_root_certificates.strip()),
    ):
        if not value:
            log.warning("an App Store notification arrived, but %s is not set", name)
            raise UnknownProvider(
                f"App Store notifications are not configured on this server ({name} is empty).",
                provider="appstore",
                missing_setting=name,
            )
    try:
        verifier = AppStoreVerifier.from_settings(settings)
    except AppStoreNotConfigured as exc:
        log.error("App Store settings are unusable: %s", exc)
        raise
    state.appstore_verifier = verifier
    return verifier


def get_payment_sink(request: Request) -> EventSink:
    sink: EventSink | None = getattr(request.app.state, "payment_sink", None)
    if sink is None:
        raise WriterUnavailable(
            "Payment events cannot be applied yet: no event sink is registered.",
            reason="no_payment_sink",
        )
    return sink


@router.post(
    "/appstore",
    response_model=WebhookReceivedOut,
    summary="App Store Server Notifications v2",
    responses={
        400: {
            "description": "`invalid_signature`: the JWS, its certificate chain, the bundle id "
            "or the environment did not verify (`details.status`); or `invalid_json`."
        },
        422: {
            "description": "`unknown_provider`: the App Store is not configured here "
            "(GIFTFLOW_APPSTORE_BUNDLE_ID or GIFTFLOW_APPSTORE_ROOT_CERTIFICATES); or "
            '`validation_error`: the body is not `{"signedPayload": "..."}`.'
        },
        500: {
            "description": "`internal_error` (unusable App Store settings, logged), or "
            "`ledger_write_failed` while applying the event: Apple retries."
        },
        503: {
            "description": "`unavailable` (no event sink is registered) or `overloaded`: "
            "Apple retries.",
            "headers": {"Retry-After": {"required": True, "schema": {"type": "string"}}},
        },
    },
)
async def appstore_notification(
    body: AppStoreNotificationIn,
    verifier: AppStoreVerifier = Depends(get_appstore_verifier),
    sink: EventSink = Depends(get_payment_sink),
) -> WebhookReceivedOut:
    """Verify an App Store notification and hand it to the wallet (see docs/payments.md)."""
    event = await run_in_threadpool(verifier.verify, body.signed_payload)  # CPU: chain + ECDSA
    result = await sink.handle(event)
    log.info(
        "App Store %s %s (%s): %s", event.event_type, event.event_id, event.kind, result.outcome
    )
    return WebhookReceivedOut(received=True, outcome=result.outcome)
