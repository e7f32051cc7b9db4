"""AppStoreVerifier: real SignedDataVerifier checks against self-made Apple-shaped chains.

Every notification here is signed exactly as Apple signs one (ES256, x5c leaf → intermediate →
root, Apple's marker extensions): see ``tests/payments/appstore_certs.py``.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from giftflow.errors import InvalidSignature, UnknownAsset, ValidationFailed
from giftflow.payments.appstore import (
    AppStoreNotConfigured,
    AppStoreVerifier,
    load_root_certificates,
    milliunits_to_minor,
)
from giftflow.payments.events import EventKind, ProviderEvent
from giftflow.settings import Settings

from .appstore_certs import BUNDLE_ID, Chain, make_chain, sign_jws, sign_notification

TOKEN = "7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f"


@pytest.fixture(scope="module")
def chain() -> Chain:
    return make_chain()


@pytest.fixture(scope="module")
def verifier(chain: Chain) -> AppStoreVerifier:
    return AppStoreVerifier([chain.root_der], bundle_id=BUNDLE_ID, environment="Sandbox")


def charge(price: int, currency: str, **extra: Any) -> dict[str, Any]:
    return {"appAccountToken": TOKEN, "price": price, "currency": currency, **extra}


def payload_of(event: ProviderEvent) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(event.payload)
    return doc


def refused(verifier: AppStoreVerifier, signed: str) -> InvalidSignature:
    with pytest.raises(InvalidSignature) as caught:
        verifier.verify(signed)
    assert caught.value.status == 400 and caught.value.code == "invalid_signature"
    return caught.value


# --- valid notifications -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("price", "currency", "amount_minor"),
    [(990, "USD", 99), (160000, "JPY", 160), (4990, "EUR", 499), (1234, "KWD", 1234)],
)
def test_one_time_charge_is_payment_succeeded_with_exact_amount(
    chain: Chain, verifier: AppStoreVerifier, price: int, currency: str, amount_minor: int
) -> None:
    note_id = str(uuid.uuid4())
    signed = sign_notification(chain, "ONE_TIME_CHARGE", charge(price, currency), uuid=note_id)
    event = verifier.verify(signed)
    assert event == ProviderEvent(
        provider="appstore",
        event_id=note_id,
        event_type="ONE_TIME_CHARGE",
        kind=EventKind.PAYMENT_SUCCEEDED,
        provider_ref=TOKEN,
        purchase_id=None,
        amount_minor=amount_minor,
        currency=currency,
        payload=event.payload,
    )
    doc = payload_of(event)
    assert doc["signedPayload"] == signed
    assert doc["ignored_reason"] is None
    assert doc["notification"]["notificationUUID"] == note_id
    assert "signedTransactionInfo" not in doc["notification"]["data"]  # it is in signedPayload
    assert doc["transaction"]["appAccountToken"] == TOKEN
    assert doc["transaction"]["price"] == price


def test_refund_is_refunded_with_the_price(chain: Chain, verifier: AppStoreVerifier) -> None:
    note_id = str(uuid.uuid4())
    refund = charge(
        160000, "JPY", revocationDate=1, revocationReason=0, revocationType="REFUND_FULL"
    )
    event = verifier.verify(sign_notification(chain, "REFUND", refund, uuid=note_id))
    assert (event.kind, event.event_id, event.event_type) == (
        EventKind.REFUNDED,
        note_id,
        "REFUND",
    )
    assert (event.provider_ref, event.amount_minor, event.currency) == (TOKEN, 160, "JPY")


@pytest.mark.parametrize(
    ("notification_type", "kind"),
    [
        ("REFUND_REVERSED", EventKind.DISPUTE_WON),
        ("CONSUMPTION_REQUEST", EventKind.CONSUMPTION_REQUEST),
        ("REFUND_DECLINED", EventKind.IGNORED),
        ("DID_RENEW", EventKind.IGNORED),
        ("SOME_TYPE_APPLE_ADDS_LATER", EventKind.IGNORED),
    ],
)
def test_notification_type_mapping(
    chain: Chain, verifier: AppStoreVerifier, notification_type: str, kind: EventKind
) -> None:
    event = verifier.verify(sign_notification(chain, notification_type, charge(990, "USD")))
    assert (event.kind, event.event_type) == (kind, notification_type)
    assert (event.provider_ref, event.amount_minor, event.currency) == (TOKEN, 99, "USD")


def test_consumption_request_keeps_apples_reason_in_the_payload(
    chain: Chain, verifier: AppStoreVerifier
) -> None:
    signed = sign_notification(
        chain,
        "CONSUMPTION_REQUEST",
        charge(990, "USD"),
        extra_data={"consumptionRequestReason": "UNINTENDED_PURCHASE"},
    )
    event = verifier.verify(signed)
    assert event.kind is EventKind.CONSUMPTION_REQUEST
    data = payload_of(event)["notification"]["data"]
    assert data["consumptionRequestReason"] == "UNINTENDED_PURCHASE"


def test_test_notification_is_ignored_and_has_no_transaction(
    chain: Chain, verifier: AppStoreVerifier
) -> None:
    note_id = str(uuid.uuid4())
    event = verifier.verify(sign_notification(chain, "TEST", None, uuid=note_id))
    assert (event.kind, event.event_id, event.event_type) == (EventKind.IGNORED, note_id, "TEST")
    assert (event.provider_ref, event.amount_minor, event.currency) == (None, None, None)
    assert payload_of(event)["transaction"] is None


def test_a_nul_in_the_notification_type_never_reaches_a_stored_field(
    chain: Chain, verifier: AppStoreVerifier
) -> None:
    """PostgreSQL text cannot hold NUL; a signed type carrying one is kept without it."""
    event = verifier.verify(sign_notification(chain, "TEST\u0000X", None))
    assert (event.kind, event.event_type) == (EventKind.IGNORED, "TESTX")


def test_account_token_is_canonical_and_may_be_absent(
    chain: Chain, verifier: AppStoreVerifier
) -> None:
    upper = charge(990, "usd", appAccountToken=TOKEN.upper())
    event = verifier.verify(sign_notification(chain, "ONE_TIME_CHARGE", upper))
    assert (event.provider_ref, event.currency) == (TOKEN, "USD")
    missing = {"price": 990, "currency": "USD"}
    event = verifier.verify(sign_notification(chain, "ONE_TIME_CHARGE", missing))
    assert event.kind is EventKind.PAYMENT_SUCCEEDED and event.provider_ref is None


# --- verified, but not applicable as it stands: IGNORED with a reason ----------------------
@pytest.mark.parametrize(
    ("notification_type", "transaction", "reason"),
    [
        ("ONE_TIME_CHARGE", charge(995, "USD"), "exact, non-negative amount of USD minor units"),
        ("ONE_TIME_CHARGE", charge(160500, "JPY"), "exact, non-negative amount of JPY minor units"),
        ("REFUND", charge(995, "USD"), "exact, non-negative amount of USD minor units"),
        ("ONE_TIME_CHARGE", charge(-990, "USD"), "exact, non-negative amount of USD minor units"),
        ("ONE_TIME_CHARGE", charge(990, "XTS"), "currency XTS is not known"),
        (
            "ONE_TIME_CHARGE",
            {"appAccountToken": TOKEN, "price": 990.5, "currency": "USD"},
            "is not a whole number of milliunits",
        ),
        ("ONE_TIME_CHARGE", {"appAccountToken": TOKEN, "price": None}, "no price or currency"),
        ("ONE_TIME_CHARGE", charge(990, "USD", quantity=2), "quantity 2"),
        (
            "REFUND",
            charge(990, "USD", revocationType="REFUND_PRORATED", revocationPercentage=50000),
            "not a full refund",
        ),
        ("ONE_TIME_CHARGE", None, "without signedTransactionInfo"),
    ],
)
def test_value_events_that_cannot_be_applied_are_ignored_with_a_reason(
    chain: Chain,
    verifier: AppStoreVerifier,
    notification_type: str,
    transaction: dict[str, Any] | None,
    reason: str,
) -> None:
    event = verifier.verify(sign_notification(chain, notification_type, transaction))
    assert event.kind is EventKind.IGNORED
    assert event.event_type == notification_type  # Apple's own type is kept
    assert reason in payload_of(event)["ignored_reason"]
    if transaction is not None:
        assert event.provider_ref == TOKEN


def test_verified_notification_without_uuid_is_a_validation_error(
    chain: Chain, verifier: AppStoreVerifier
) -> None:
    claims = jwt.decode(sign_notification(chain, "TEST", None), options={"verify_signature": False})
    del claims["notificationUUID"]
    with pytest.raises(ValidationFailed):
        verifier.verify(sign_jws(chain, claims))


# --- refused: InvalidSignature, nothing comes out ------------------------------------------
def test_wrong_root_is_refused(chain: Chain) -> None:
    other = make_chain()
    verifier = AppStoreVerifier([other.root_der], bundle_id=BUNDLE_ID, environment="Sandbox")
    error = refused(verifier, sign_notification(chain, "ONE_TIME_CHARGE", charge(990, "USD")))
    assert error.details == {
        "provider": "appstore",
        "part": "notification",
        "status": "VERIFICATION_FAILURE",
    }


def test_tampered_payload_is_refused(chain: Chain, verifier: AppStoreVerifier) -> None:
    signed = sign_notification(chain, "ONE_TIME_CHARGE", charge(990, "USD"))
    header, body, signature = signed.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["notificationUUID"] = str(uuid.uuid4())  # a replay under a fresh id
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    refused(verifier, f"{header}.{forged}.{signature}")


def test_tampered_transaction_inside_a_valid_notification_is_refused(
    chain: Chain, verifier: AppStoreVerifier
) -> None:
    """The outer JWS is genuine but the transaction in it was altered before signing: the
    transaction's own signature must fail (the attacker cannot re-sign it)."""
    signed = sign_notification(chain, "TEST", None)
    genuine_tx = jwt.decode(
        sign_notification(chain, "ONE_TIME_CHARGE", charge(990, "USD")),
        options={"verify_signature": False},
    )["data"]["signedTransactionInfo"]
    header, body, signature = genuine_tx.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["price"] = 99990
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    outer = jwt.decode(signed, options={"verify_signature": False})
    outer["notificationType"] = "ONE_TIME_CHARGE"
    outer["data"]["signedTransactionInfo"] = f"{header}.{forged}.{signature}"
    error = refused(verifier, sign_jws(chain, outer))
    assert error.details["part"] == "transaction"


def test_transaction_from_an_untrusted_chain_is_refused(
    chain: Chain, verifier: AppStoreVerifier
) -> None:
    other = make_chain()
    foreign_tx = jwt.decode(
        sign_notification(other, "ONE_TIME_CHARGE", charge(990, "USD")),
        options={"verify_signature": False},
    )["data"]["signedTransactionInfo"]
    outer = jwt.decode(sign_notification(chain, "TEST", None), options={"verify_signature": False})
    outer["notificationType"] = "ONE_TIME_CHARGE"
    outer["data"]["signedTransactionInfo"] = foreign_tx
    error = refused(verifier, sign_jws(chain, outer))
    assert error.details["part"] == "transaction"


def test_wrong_bundle_id_is_refused(chain: Chain, verifier: AppStoreVerifier) -> None:
    signed = sign_notification(
        chain, "ONE_TIME_CHARGE", charge(990, "USD"), bundle_id="com.example.other"
    )
    assert refused(verifier, signed).details["status"] == "INVALID_APP_IDENTIFIER"


def test_wrong_bundle_id_on_the_transaction_is_refused(
    chain: Chain, verifier: AppStoreVerifier
) -> None:
    signed = sign_notification(
        chain, "ONE_TIME_CHARGE", charge(990, "USD"), transaction_bundle_id="com.example.other"
    )
    error = refused(verifier, signed)
    assert error.details == {
        "provider": "appstore",
        "part": "transaction",
        "status": "INVALID_APP_IDENTIFIER",
    }


def test_wrong_environment_is_refused(chain: Chain, verifier: AppStoreVerifier) -> None:
    signed = sign_notification(
        chain, "ONE_TIME_CHARGE", charge(990, "USD"), environment="Production"
    )
    assert refused(verifier, signed).details["status"] == "INVALID_ENVIRONMENT"


@pytest.mark.parametrize("missing", ["leaf_marker", "intermediate_marker"])
def test_chain_without_apples_marker_extensions_is_refused(missing: str) -> None:
    bare = make_chain(
        leaf_marker=missing != "leaf_marker", intermediate_marker=missing != "intermediate_marker"
    )
    verifier = AppStoreVerifier([bare.root_der], bundle_id=BUNDLE_ID, environment="Sandbox")
    refused(verifier, sign_notification(bare, "TEST", None))


def test_chain_not_valid_at_the_signed_date_is_refused() -> None:
    later = datetime.now(UTC) + timedelta(days=30)
    future = make_chain(not_before=later, not_after=later + timedelta(days=365))
    verifier = AppStoreVerifier([future.root_der], bundle_id=BUNDLE_ID, environment="Sandbox")
    refused(verifier, sign_notification(future, "TEST", None))


def test_two_certificate_chain_is_refused(chain: Chain, verifier: AppStoreVerifier) -> None:
    claims = jwt.decode(sign_notification(chain, "TEST", None), options={"verify_signature": False})
    short = jwt.encode(claims, chain.signing_key, algorithm="ES256", headers={"x5c": chain.x5c[:2]})
    assert refused(verifier, short).details["status"] == "INVALID_CHAIN_LENGTH"


@pytest.mark.parametrize("signed", ["", "not a jws", "a.b.c"])
def test_garbage_is_refused(verifier: AppStoreVerifier, signed: str) -> None:
    refused(verifier, signed)


def test_hmac_signed_payload_is_refused(chain: Chain, verifier: AppStoreVerifier) -> None:
    claims = jwt.decode(sign_notification(chain, "TEST", None), options={"verify_signature": False})
    forged = jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"x5c": chain.x5c})
    refused(verifier, forged)


# --- configuration -------------------------------------------------------------------------
def test_from_settings_reads_der_and_pem_roots(chain: Chain, tmp_path: Path) -> None:
    der = tmp_path / "AppleRootCA-G3.cer"
    der.write_bytes(chain.root_der)
    pem = tmp_path / "other.pem"
    pem.write_bytes(
        x509.load_der_x509_certificate(make_chain().root_der).public_bytes(Encoding.PEM)
    )
    settings = Settings(
        appstore_bundle_id=BUNDLE_ID,
        appstore_environment="Sandbox",
        appstore_root_certificates=f"{pem}, {der}",
    )
    verifier = AppStoreVerifier.from_settings(settings)
    event = verifier.verify(sign_notification(chain, "ONE_TIME_CHARGE", charge(990, "USD")))
    assert event.kind is EventKind.PAYMENT_SUCCEEDED
    assert load_root_certificates(f"{pem},{der}")[1] == chain.root_der


def test_production_checks_the_app_apple_id(chain: Chain) -> None:
    verifier = AppStoreVerifier(
        [chain.root_der], bundle_id=BUNDLE_ID, environment="Production", app_apple_id=1234
    )
    good = sign_notification(chain, "TEST", None, environment="Production", app_apple_id=1234)
    assert verifier.verify(good).kind is EventKind.IGNORED
    bad = sign_notification(chain, "TEST", None, environment="Production", app_apple_id=999)
    assert refused(verifier, bad).details["status"] == "INVALID_APP_IDENTIFIER"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"environment": "Xcode"}, "skips signature checks"),
        ({"environment": "LocalTesting"}, "skips signature checks"),
        ({"environment": "Staging"}, "Unknown App Store environment"),
        ({"environment": "Production"}, "app's Apple id"),
        ({"bundle_id": ""}, "No bundle id"),
    ],
)
def test_unsafe_or_incomplete_configuration_is_refused(
    chain: Chain, kwargs: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"bundle_id": BUNDLE_ID, "environment": "Sandbox", **kwargs}
    with pytest.raises(AppStoreNotConfigured, match=message):
        AppStoreVerifier([chain.root_der], **arguments)


def test_missing_or_unreadable_roots_are_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(AppStoreNotConfigured, match="No Apple root"):
        load_root_certificates(" , ")
    with pytest.raises(AppStoreNotConfigured, match="Cannot read"):
        load_root_certificates(str(tmp_path / "missing.cer"))
    junk = tmp_path / "junk.cer"
    junk.write_bytes(b"not a certificate")
    with pytest.raises(AppStoreNotConfigured, match=r"not an X\.509"):
        load_root_certificates([junk])
    with pytest.raises(AppStoreNotConfigured, match="No Apple root"):
        AppStoreVerifier([], bundle_id=BUNDLE_ID, environment="Sandbox")


# --- money ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("price", "currency", "minor"),
    [
        (990, "USD", 99),
        (1000, "USD", 100),
        (0, "USD", 0),
        (995, "USD", None),
        (160000, "JPY", 160),
        (160001, "JPY", None),
        (1234, "KWD", 1234),
        (-10, "USD", None),
        (10**18, "USD", 10**17),
    ],
)
def test_milliunits_to_minor(price: int, currency: str, minor: int | None) -> None:
    assert milliunits_to_minor(price, currency) == minor


def test_milliunits_of_an_unknown_currency() -> None:
    with pytest.raises(UnknownAsset):
        milliunits_to_minor(990, "XTS")
