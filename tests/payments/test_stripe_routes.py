"""POST /v1/webhooks/stripe through the whole app: the request-limits middleware, the route,
verification, and a recording sink at ``app.state.payment_sink``."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from giftflow.api import create_app
from giftflow.payments.events import EventKind
from giftflow.settings import Settings

from .conftest import StripeApi
from .stripe_support import (
    OTHER_SECRET,
    WEBHOOK_SECRET,
    dispute,
    encode,
    event,
    payment_intent,
    sign,
)

URL = "/v1/webhooks/stripe"


def succeeded(event_id: str = "evt_1Test") -> bytes:
    return encode(event("payment_intent.succeeded", payment_intent(), event_id))


def error_code(body: dict[str, Any]) -> str:
    code: str = body["error"]["code"]
    return code


def test_a_verified_event_reaches_the_sink_once(stripe_api: StripeApi) -> None:
    body = succeeded()
    r = stripe_api.deliver(body)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": True, "outcome": "credited"}
    [got] = stripe_api.sink.events
    assert (got.provider, got.event_id, got.kind) == (
        "stripe",
        "evt_1Test",
        EventKind.PAYMENT_SUCCEEDED,
    )
    assert (got.provider_ref, got.purchase_id, got.amount_minor, got.currency) == (
        "pi_3Test",
        42,
        499,
        "USD",
    )
    assert got.payload.encode() == body  # the raw bytes, unchanged by the middleware


def test_the_sinks_outcome_is_echoed(stripe_api: StripeApi) -> None:
    stripe_api.sink.outcome = "unknown_purchase"
    r = stripe_api.deliver(succeeded("evt_a"))
    assert r.status_code == 200 and r.json() == {"received": True, "outcome": "unknown_purchase"}
    r = stripe_api.deliver(encode(event("charge.dispute.created", dispute(), "evt_b")))
    assert r.json()["outcome"] == "unknown_purchase"
    assert [e.kind for e in stripe_api.sink.events] == [
        EventKind.PAYMENT_SUCCEEDED,
        EventKind.DISPUTE_OPENED,
    ]


def test_a_redelivery_is_still_200_and_the_sink_decides(stripe_api: StripeApi) -> None:
    body = succeeded()
    first = stripe_api.deliver(body)
    stripe_api.clock.advance(timedelta(minutes=30))  # Stripe retries later, signed anew
    again = stripe_api.deliver(body)
    assert first.json()["outcome"] == "credited"
    assert again.status_code == 200 and again.json() == {"received": True, "outcome": "duplicate"}
    assert [e.event_id for e in stripe_api.sink.events] == ["evt_1Test", "evt_1Test"]


def test_an_ignored_type_is_received(stripe_api: StripeApi) -> None:
    r = stripe_api.deliver(encode(event("customer.created", {"id": "cus_1", "object": "customer"})))
    assert r.status_code == 200 and r.json() == {"received": True, "outcome": "ignored"}
    assert [e.kind for e in stripe_api.sink.events] == [EventKind.IGNORED]


@pytest.mark.parametrize(
    "header",
    [
        None,  # no Stripe-Signature at all
        "",
        "t=1,v1=abc",
        "garbage",
    ],
)
def test_a_missing_or_bad_signature_is_400_and_nothing_reaches_the_sink(
    stripe_api: StripeApi, header: str | None
) -> None:
    r = stripe_api.deliver(succeeded(), header=header)
    assert r.status_code == 400, r.text
    assert error_code(r.json()) == "invalid_signature"
    assert stripe_api.sink.events == []


def test_a_wrong_secret_is_400(stripe_api: StripeApi) -> None:
    body = succeeded()
    r = stripe_api.deliver(body, header=sign(body, OTHER_SECRET, stripe_api.now()))
    assert r.status_code == 400 and error_code(r.json()) == "invalid_signature"
    assert stripe_api.sink.events == []


def test_a_tampered_body_is_400(stripe_api: StripeApi) -> None:
    body = succeeded()
    header = sign(body, WEBHOOK_SECRET, stripe_api.now())
    tampered = body.replace(b'"amount_received": 499', b'"amount_received": 99999')
    assert tampered != body
    r = stripe_api.deliver(tampered, header=header)
    assert r.status_code == 400 and error_code(r.json()) == "invalid_signature"
    assert stripe_api.sink.events == []


def test_the_tolerance_follows_the_apps_clock(stripe_api: StripeApi) -> None:
    body = succeeded()
    header = sign(body, WEBHOOK_SECRET, stripe_api.now())
    stripe_api.clock.advance(timedelta(seconds=299))
    assert stripe_api.deliver(body, header=header).status_code == 200
    stripe_api.clock.advance(timedelta(seconds=2))  # now 301 s after signing
    r = stripe_api.deliver(body, header=header)
    assert r.status_code == 400 and error_code(r.json()) == "invalid_signature"
    assert r.json()["error"]["details"]["reason"] == "timestamp"
    assert len(stripe_api.sink.events) == 1


def test_stripes_content_type_and_exact_bytes_are_accepted(stripe_api: StripeApi) -> None:
    """Stripe sends ``application/json; charset=utf-8``, pretty-printed, non-ASCII as is: the
    signature covers those exact bytes, so they must arrive unchanged."""
    obj = {**payment_intent(), "description": "Münzen für Zoë ✨"}
    body = json.dumps(event("payment_intent.succeeded", obj), indent=2, ensure_ascii=False)
    raw = body.encode("utf-8") + b"\n"
    r = stripe_api.deliver(raw, content_type="application/json; charset=utf-8")
    assert r.status_code == 200, r.text
    assert stripe_api.sink.events[0].payload.encode() == raw


def test_a_body_that_is_not_json_is_400_before_the_route(stripe_api: StripeApi) -> None:
    body = b'{"id": "evt_1", "type": '
    r = stripe_api.deliver(body)  # correctly signed
    assert r.status_code == 400 and error_code(r.json()) == "invalid_json"
    assert stripe_api.sink.events == []


def test_no_sink_registered_is_503_so_stripe_retries(stripe_api: StripeApi) -> None:
    del stripe_api.app.state.payment_sink
    r = stripe_api.deliver(succeeded())
    assert r.status_code == 503 and error_code(r.json()) == "unavailable"
    assert r.json()["error"]["details"] == {"reason": "no_payment_sink"}


def test_no_signing_secret_configured_is_unknown_provider(sqlite_url: str) -> None:
    app = create_app(
        Settings(database_url=sqlite_url, jwt_secret="x" * 40, stripe_webhook_secret="")
    )
    with TestClient(app) as client:
        body = succeeded()
        r = client.post(
            URL,
            content=body,
            headers={"Content-Type": "application/json", "Stripe-Signature": sign(body)},
        )
    assert r.status_code == 422
    assert error_code(r.json()) == "unknown_provider"
    assert r.json()["error"]["details"]["missing_setting"] == "GIFTFLOW_STRIPE_WEBHOOK_SECRET"


def test_no_credentials_are_needed_or_looked_at(stripe_api: StripeApi) -> None:
    body = succeeded()
    headers = {
        "Content-Type": "application/json",
        "Stripe-Signature": sign(body, WEBHOOK_SECRET, stripe_api.now()),
        "Authorization": "Bearer not-a-real-key",
    }
    assert stripe_api.client.post(URL, content=body, headers=headers).status_code == 200


def test_the_openapi_document_describes_the_webhook(stripe_api: StripeApi) -> None:
    doc = stripe_api.client.get("/openapi.json").json()
    operation = doc["paths"][URL]["post"]
    assert "security" not in operation
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["Stripe-Signature"]["in"] == "header"
    assert "Idempotency-Key" not in params
    body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema["required"] == ["id", "type", "data"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/WebhookReceived"}
    model = doc["components"]["schemas"]["WebhookReceived"]
    assert set(model["properties"]) == {"received", "outcome"}
    assert sorted(model["required"]) == ["outcome", "received"]
    assert {"400", "413", "415", "422", "500", "503"} <= set(operation["responses"])
    assert "unknown_provider" in operation["responses"]["422"]["description"]
    assert "invalid_signature" in operation["responses"]["400"]["description"]
