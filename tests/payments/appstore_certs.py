"""Self-made App Store signing chains and signed notifications, exactly shaped like Apple's.

Apple signs every App Store Server Notification (and every transaction inside one) as a compact
JWS: ``alg`` ES256 and an ``x5c`` header holding three base64 (standard alphabet, not URL-safe)
DER certificates, leaf first: the signing leaf, Apple's WWDR intermediate, Apple's root.
``SignedDataVerifier`` (app-store-server-library 3.1.2) checks that chain against the roots it
was given, with OpenSSL's ``X509_STRICT`` flag, at the JWS's own ``signedDate`` (when online
checks are off), and then requires two Apple marker extensions:

- on the leaf, ``1.2.840.113635.100.6.11.1`` (Mac App Store receipt signing);
- on the intermediate, ``1.2.840.113635.100.6.2.1`` (Apple WWDR intermediate).

``X509_STRICT`` also wants well-formed CA certificates: a critical ``basicConstraints`` with
``CA:TRUE``, a ``keyUsage`` with ``keyCertSign``, a subject key identifier, and an authority key
identifier on every certificate that is not self-signed. This module builds such a chain with
``cryptography`` (ECDSA P-256 everywhere, like Apple's G3 chain) and signs payloads with the
leaf's key, so tests, and the wallet's end-to-end tests later, can produce notifications the real
verifier accepts when it is given ``chain.root_der``.
"""

from __future__ import annotations

import base64
import time
import uuid as uuid_module
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

LEAF_MARKER_OID = "1.2.840.113635.100.6.11.1"
INTERMEDIATE_MARKER_OID = "1.2.840.113635.100.6.2.1"
_ASN1_NULL = b"\x05\x00"  # the value Apple puts in both marker extensions

BUNDLE_ID = "com.example.giftflow"
ENVIRONMENT = "Sandbox"


@dataclass(frozen=True)
class Chain:
    """A root → intermediate → leaf chain: give ``root_der`` to the verifier, sign with
    ``signing_key``, put ``x5c`` (leaf, intermediate, root; base64 DER) in the JWS header."""

    root_der: bytes
    signing_key: ec.EllipticCurvePrivateKey
    x5c: list[str]


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "giftflow tests"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "giftflow test CA"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        ]
    )


def _certificate(
    *,
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    ca: bool,
    marker_oid: str | None,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    public_key = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.subject if issuer is not None else _name(subject))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if marker_oid is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(marker_oid), _ASN1_NULL),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_chain(
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    leaf_marker: bool = True,
    intermediate_marker: bool = True,
) -> Chain:
    """A fresh root CA, intermediate and signing leaf (each call makes new keys).

    The certificates are valid from a day ago for ten years unless told otherwise; the marker
    switches exist to prove the verifier insists on Apple's extensions.
    """
    now = datetime.now(UTC)
    start = not_before or now - timedelta(days=1)
    end = not_after or now + timedelta(days=3650)
    root_key = ec.generate_private_key(ec.SECP256R1())
    intermediate_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    root = _certificate(
        subject="giftflow Test Root CA",
        key=root_key,
        issuer=None,
        issuer_key=root_key,
        ca=True,
        marker_oid=None,
        not_before=start,
        not_after=end,
    )
    intermediate = _certificate(
        subject="giftflow Test WWDR Intermediate",
        key=intermediate_key,
        issuer=root,
        issuer_key=root_key,
        ca=True,
        marker_oid=INTERMEDIATE_MARKER_OID if intermediate_marker else None,
        not_before=start,
        not_after=end,
    )
    leaf = _certificate(
        subject="giftflow Test App Store Signing",
        key=leaf_key,
        issuer=intermediate,
        issuer_key=intermediate_key,
        ca=False,
        marker_oid=LEAF_MARKER_OID if leaf_marker else None,
        not_before=start,
        not_after=end,
    )
    ders = [cert.public_bytes(Encoding.DER) for cert in (leaf, intermediate, root)]
    return Chain(
        root_der=ders[2],
        signing_key=leaf_key,
        x5c=[base64.b64encode(der).decode("ascii") for der in ders],
    )


def sign_jws(chain: Chain, claims: dict[str, Any]) -> str:
    """``claims`` as a compact JWS signed ES256 by the chain's leaf, with Apple's x5c header."""
    return jwt.encode(claims, chain.signing_key, algorithm="ES256", headers={"x5c": chain.x5c})


def now_ms() -> int:
    return int(time.time() * 1000)


def transaction_claims(
    transaction: dict[str, Any], *, bundle_id: str = BUNDLE_ID, environment: str = ENVIRONMENT
) -> dict[str, Any]:
    """A consumable's JWSTransactionDecodedPayload: Apple's usual fields, overridden by
    ``transaction`` (e.g. ``appAccountToken``, ``price`` in milliunits, ``currency``)."""
    signed = now_ms()
    claims: dict[str, Any] = {
        "transactionId": str(2000000000000000 + signed % 1000000000),
        "originalTransactionId": str(2000000000000000 + signed % 1000000000),
        "bundleId": bundle_id,
        "productId": "com.example.giftflow.coins.100",
        "purchaseDate": signed - 1000,
        "originalPurchaseDate": signed - 1000,
        "quantity": 1,
        "type": "Consumable",
        "inAppOwnershipType": "PURCHASED",
        "signedDate": signed,
        "environment": environment,
        "transactionReason": "PURCHASE",
        "storefront": "USA",
        "storefrontId": "143441",
        "price": 990,
        "currency": "USD",
    }
    claims.update(transaction)
    return claims


def sign_transaction(
    chain: Chain,
    transaction: dict[str, Any],
    *,
    bundle_id: str = BUNDLE_ID,
    environment: str = ENVIRONMENT,
) -> str:
    """A signedTransactionInfo JWS (see ``transaction_claims``)."""
    return sign_jws(
        chain, transaction_claims(transaction, bundle_id=bundle_id, environment=environment)
    )


def sign_notification(
    chain: Chain,
    notification_type: str,
    transaction: dict[str, Any] | None,
    *,
    uuid: str | None = None,
    bundle_id: str = BUNDLE_ID,
    environment: str = ENVIRONMENT,
    subtype: str | None = None,
    app_apple_id: int | None = None,
    transaction_bundle_id: str | None = None,
    extra_data: dict[str, Any] | None = None,
) -> str:
    """A signedPayload of App Store Server Notifications v2, as Apple POSTs it.

    ``transaction`` becomes ``data.signedTransactionInfo`` (signed by the same chain, with the
    same bundle id and environment unless ``transaction_bundle_id`` says otherwise); ``None``
    leaves it out, as in a TEST notification. ``uuid`` is the ``notificationUUID`` (a new one
    when omitted).
    """
    data: dict[str, Any] = {"bundleId": bundle_id, "environment": environment}
    if app_apple_id is not None:
        data["appAppleId"] = app_apple_id
    if transaction is not None:
        data["bundleVersion"] = "1.0"
        data["signedTransactionInfo"] = sign_transaction(
            chain,
            transaction,
            bundle_id=transaction_bundle_id or bundle_id,
            environment=environment,
        )
    if extra_data:
        data.update(extra_data)
    claims: dict[str, Any] = {
        "notificationType": notification_type,
        "notificationUUID": uuid or str(uuid_module.uuid4()),
        "data": data,
        "version": "2.0",
        "signedDate": now_ms(),
    }
    if subtype is not None:
        claims["subtype"] = subtype
    return sign_jws(chain, claims)
