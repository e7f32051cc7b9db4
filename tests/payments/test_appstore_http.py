"""POST /v1/webhooks/appstore through HTTP, with a recording fake sink.

The app under test is a bare FastAPI app holding only what the route needs: the App Store router,
giftflow's error handlers and request limits, a context-like ``app.state.giftflow`` carrying
``Settings`` (the route reads nothing else from it) and a fake ``EventSink`` at
``app.state.payment_sink``. ``giftflow.api.create_app`` is not used: its lifespan opens a database
and starts the ledger writer, and it mounts the wallet routes other engineers are writing now;
none of that is part of verifying a notification, and the real sink is tested by the wallet.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from giftflow.http.errors import install_error_handlers
from giftflow.http.limits import install_request_limits
from giftflow.payments.appstore_routes import router
from giftflow.payments.events import EventKind, EventResult, ProviderEvent
from giftflow.settings import Settings

from .appstore_certs import BUNDLE_ID, Chain, make_chain, sign_notification

TOKEN = "0b9e5a8c-3f7d-4e21-9c6a-5d4e3f2a1b0c"
URL = "/v1/webhooks/appstore"


class RecordingSink:
    """Mimics the wallet's sink: records every event, answers ``duplicate`` for a repeat."""

    def __init__(self) -> None:
        self.events: list[ProviderEvent] = []
        self.seen: set[tuple[str, str]] = set()

    async def handle(self, event: ProviderEvent) -> EventResult:
        self.events.append(event)
        key = (event.provider, event.event_id)
        if key in self.seen:
            return EventResult("duplicate")
        self.seen.add(key)
        return EventResult("credited", purchase_id=7)


@pytest.fixture(scope="module")
def chain() -> Chain:
    return make_chain()


def build_app(root: Path | str, sink: RecordingSink | None) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    install_request_limits(app, 65536)
    app.include_router(router)
    settings = Settings(
        appstore_bundle_id=BUNDLE_ID,
        appstore_environment="Sandbox",
        appstore_root_certificates=str(root),
    )
    app.state.giftflow = SimpleNamespace(settings=settings)
    if sink is not None:
        app.state.payment_sink = sink
    return app


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def client(chain: Chain, sink: RecordingSink, tmp_path: Path) -> Iterator[TestClient]:
    root = tmp_path / "AppleRootCA-G3.cer"
    root.write_bytes(chain.root_der)
    with TestClient(build_app(root, sink)) as test_client:
        yield test_client


def charge(chain: Chain, note_id: str) -> str:
    transaction = {"appAccountToken": TOKEN, "price": 160000, "currency": "JPY"}
    return sign_notification(chain, "ONE_TIME_CHARGE", transaction, uuid=note_id)


def test_valid_notification_reaches_the_sink_once(
    client: TestClient, sink: RecordingSink, chain: Chain
) -> None:
    note_id = str(uuid.uuid4())
    response = client.post(URL, json={"signedPayload": charge(chain, note_id)})
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "outcome": "credited"}
    assert len(sink.events) == 1
    event = sink.events[0]
    assert (event.provider, event.event_id, event.kind) == (
        "appstore",
        note_id,
        EventKind.PAYMENT_SUCCEEDED,
    )
    assert (event.provider_ref, event.amount_minor, event.currency) == (TOKEN, 160, "JPY")


def test_duplicate_is_answered_200_and_the_sink_decides(
    client: TestClient, sink: RecordingSink, chain: Chain
) -> None:
    body = {"signedPayload": charge(chain, str(uuid.uuid4()))}
    first = client.post(URL, json=body)
    again = client.post(URL, json=body)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["outcome"] == "credited"
    assert again.json() == {"received": True, "outcome": "duplicate"}
    assert len(sink.events) == 2 and sink.events[0] == sink.events[1]


def test_ignored_notification_is_still_stored_and_acknowledged(
    client: TestClient, sink: RecordingSink, chain: Chain
) -> None:
    response = client.post(URL, json={"signedPayload": sign_notification(chain, "TEST", None)})
    assert response.status_code == 200
    assert [e.kind for e in sink.events] == [EventKind.IGNORED]


def test_invalid_signature_is_400_and_reaches_nothing(
    client: TestClient, sink: RecordingSink
) -> None:
    other = make_chain()  # not the configured root
    signed = charge(other, str(uuid.uuid4()))
    response = client.post(URL, json={"signedPayload": signed})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_signature"
    assert error["details"]["status"] == "VERIFICATION_FAILURE"
    assert sink.events == []


def test_tampered_jws_is_400(client: TestClient, sink: RecordingSink, chain: Chain) -> None:
    header, _, signature = charge(chain, str(uuid.uuid4())).split(".")
    _, body, _ = charge(chain, str(uuid.uuid4())).split(".")  # another payload, same header
    response = client.post(URL, json={"signedPayload": f"{header}.{body}.{signature}"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert sink.events == []


@pytest.mark.parametrize(
    "body",
    [{}, {"signedPayload": ""}, {"signedPayload": 5}, {"signedPayload": "x", "extra": 1}],
)
def test_malformed_body_is_422(client: TestClient, sink: RecordingSink, body: object) -> None:
    response = client.post(URL, json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert sink.events == []


def test_no_registered_sink_is_503_so_apple_retries(chain: Chain, tmp_path: Path) -> None:
    root = tmp_path / "root.cer"
    root.write_bytes(chain.root_der)
    with TestClient(build_app(root, None)) as test_client:
        response = test_client.post(URL, json={"signedPayload": charge(chain, "x")})
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.json()["error"]["details"] == {"reason": "no_payment_sink"}


def test_missing_root_setting_is_unknown_provider(chain: Chain, sink: RecordingSink) -> None:
    with TestClient(build_app("", sink)) as test_client:
        response = test_client.post(URL, json={"signedPayload": charge(chain, "x")})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_provider"
    assert error["details"]["missing_setting"] == "GIFTFLOW_APPSTORE_ROOT_CERTIFICATES"
    assert sink.events == []


def test_unreadable_root_is_a_500_and_reaches_nothing(
    chain: Chain, sink: RecordingSink, tmp_path: Path
) -> None:
    app = build_app(tmp_path / "missing.cer", sink)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.post(URL, json={"signedPayload": charge(chain, "x")})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert sink.events == []


def test_verifier_is_built_once_per_app(client: TestClient, chain: Chain) -> None:
    client.post(URL, json={"signedPayload": charge(chain, str(uuid.uuid4()))})
    app = client.app
    assert isinstance(app, FastAPI)
    verifier = app.state.appstore_verifier
    client.post(URL, json={"signedPayload": charge(chain, str(uuid.uuid4()))})
    assert app.state.appstore_verifier is verifier
