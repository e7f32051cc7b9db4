"""The App Store channel: appAccountToken purchases and App Store Server Notifications v2.

A giftflow purchase made in the iOS app names provider ``appstore``. ``AppStoreProvider.start``
creates nothing at Apple: it mints a fresh UUID (version 4) that becomes the purchase's
``provider_ref`` and that the app passes to StoreKit as ``appAccountToken``. Apple echoes that
token in every signed transaction, so the notifications that follow find the purchase.

``AppStoreVerifier`` checks a notification's ``signedPayload`` with Apple's
``SignedDataVerifier`` (app-store-server-library): the JWS must be ES256 with a three-certificate
``x5c`` chain (leaf, WWDR intermediate, root) that leads to one of the configured Apple roots and
carries Apple's marker extensions, and the payload must name our bundle id, our environment and,
in production, our app Apple id. The transaction inside (``data.signedTransactionInfo``) is
verified the same way. Online (OCSP) checks are off: giftflow makes no network call here, and the
chain is checked as of the payload's ``signedDate``. Anything that fails is ``InvalidSignature``
(400) with the library's status in ``details.status``.

A verified notification becomes one provider-neutral ``ProviderEvent``:

=====================  ======================  ===========================================
notificationType       EventKind               meaning
=====================  ======================  ===========================================
ONE_TIME_CHARGE        PAYMENT_SUCCEEDED       a consumable purchase was charged
REFUND                 REFUNDED                Apple refunded the buyer (full refund)
REFUND_REVERSED        DISPUTE_WON             Apple reversed that refund: the money is back
CONSUMPTION_REQUEST    CONSUMPTION_REQUEST     the buyer asked Apple for a refund
anything else          IGNORED                 stored for audit, nothing to do
=====================  ======================  ===========================================

``event_id`` is the ``notificationUUID`` (the sink deduplicates on it), ``provider_ref`` the
transaction's ``appAccountToken`` (canonical lower-case UUID text), ``amount_minor`` the
transaction's ``price`` (milliunits) in the currency's minor unit, exactly. An event that would
move value but cannot be trusted to mean what it says (a price that does not convert exactly, a
currency giftflow does not know, a quantity other than one, a partial refund, no transaction) is
handed over as ``IGNORED`` instead; the reason is in the payload's ``ignored_reason``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import jwt
from appstoreserverlibrary.models.Environment import Environment
from appstoreserverlibrary.models.JWSTransactionDecodedPayload import (
    JWSTransactionDecodedPayload,
)
from appstoreserverlibrary.models.NotificationTypeV2 import NotificationTypeV2
from appstoreserverlibrary.models.ResponseBodyV2DecodedPayload import (
    ResponseBodyV2DecodedPayload,
)
from appstoreserverlibrary.models.RevocationType import RevocationType
from appstoreserverlibrary.signed_data_verifier import (
    SignedDataVerifier,
    VerificationException,
)
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from giftflow.errors import GiftflowError, InvalidSignature, ProviderError, ValidationFailed
from giftflow.money.assets import get_asset
from giftflow.payments.events import EventKind, ProviderEvent
from giftflow.payments.providers import PaymentRequest, PaymentStart, StartStatus
from giftflow.settings import Settings

log = logging.getLogger("giftflow.payments.appstore")

_T = TypeVar("_T")

PROVIDER = "appstore"

NOTIFICATION_KINDS: dict[NotificationTypeV2, EventKind] = {
    NotificationTypeV2.ONE_TIME_CHARGE: EventKind.PAYMENT_SUCCEEDED,
    NotificationTypeV2.REFUND: EventKind.REFUNDED,
    NotificationTypeV2.REFUND_REVERSED: EventKind.DISPUTE_WON,
    NotificationTypeV2.CONSUMPTION_REQUEST: EventKind.CONSUMPTION_REQUEST,
}
"""How each handled notification type maps to an event kind; every other type is IGNORED."""

_MOVES_VALUE = frozenset({EventKind.PAYMENT_SUCCEEDED, EventKind.REFUNDED, EventKind.DISPUTE_WON})
_MILLIUNIT_DIGITS = 3  # Apple's price is in thousandths of the currency's major unit
_FULL_REVOCATION = 100_000  # revocationPercentage is in milliunits of a percent
_SIGNED_FIELDS = ("signedTransactionInfo", "signedRenewalInfo")  # nested JWS, already in the raw


# --- the provider --------------------------------------------------------------------------
class AppStoreProvider:
    """``PaymentProvider`` for the App Store: the buyer pays Apple inside the app."""

    name = PROVIDER

    def start(self, request: PaymentRequest) -> PaymentStart:
        """A new appAccountToken for the purchase; the app hands it to StoreKit.

        Nothing is created at Apple, so a second call cannot charge anyone twice: the token that
        counts is the one the wallet stores on the purchase. The price is the product's price in
        App Store Connect; the ONE_TIME_CHARGE notification reports what was charged.
        """
        token = str(uuid.uuid4())
        return PaymentStart(status=StartStatus.PENDING, provider_ref=token, client_secret=token)

    def refund(self, provider_ref: str, amount_minor: int, currency: str, key: str) -> None:
        """Always refuses: only Apple refunds App Store purchases."""
        raise ProviderError(
            "App Store purchases are refunded by Apple, not by giftflow: the buyer asks Apple "
            "(reportaproblem.apple.com); giftflow applies the refund when Apple's REFUND "
            "notification arrives.",
            provider=PROVIDER,
            provider_ref=provider_ref,
            reason="refunded_by_apple_only",
        )


# --- configuration -------------------------------------------------------------------------
class AppStoreNotConfigured(RuntimeError):
    """The App Store settings cannot verify anything (a deployment error, answered 500)."""


def load_root_certificates(paths: str | Sequence[str | Path]) -> list[bytes]:
    """Read the trusted roots: comma-separated paths (or a list), DER (Apple's ``.cer``) or PEM.

    Every certificate is returned as DER, the form ``SignedDataVerifier`` takes.
    """
    if isinstance(paths, str):
        entries: list[str | Path] = [p.strip() for p in paths.split(",") if p.strip()]
    else:
        entries = list(paths)
    if not entries:
        raise AppStoreNotConfigured(
            "No Apple root certificate configured (GIFTFLOW_APPSTORE_ROOT_CERTIFICATES)."
        )
    roots: list[bytes] = []
    for entry in entries:
        try:
            raw = Path(entry).read_bytes()
        except OSError as exc:
            raise AppStoreNotConfigured(f"Cannot read root certificate {entry}: {exc}") from exc
        try:
            if raw.lstrip().startswith(b"-----BEGIN"):
                cert = x509.load_pem_x509_certificate(raw)
            else:
                cert = x509.load_der_x509_certificate(raw)
        except ValueError as exc:
            raise AppStoreNotConfigured(f"{entry} is not an X.509 certificate.") from exc
        roots.append(cert.public_bytes(Encoding.DER))
    return roots


def parse_environment(value: str | Environment) -> Environment:
    """Sandbox or Production. Xcode and LocalTesting are refused: the library does not check
    signatures at all in those environments."""
    try:
        environment = Environment(value)
    except ValueError:
        raise AppStoreNotConfigured(
            f"Unknown App Store environment {value!r}: use Sandbox or Production."
        ) from None
    if environment not in (Environment.SANDBOX, Environment.PRODUCTION):
        raise AppStoreNotConfigured(
            f"App Store environment {environment.value} skips signature checks; "
            "giftflow accepts only Sandbox or Production."
        )
    return environment


# --- money ---------------------------------------------------------------------------------
def milliunits_to_minor(price: int, currency: str) -> int | None:
    """Apple's price (thousandths of the major unit) in the currency's minor unit, or ``None``
    when that is not exact (or the price is negative). 160000 JPY → 160; 990 USD → 99;
    995 USD → None. Raises ``UnknownAsset`` for a currency giftflow does not know."""
    scale = get_asset(currency).scale
    if price < 0:
        return None
    if scale >= _MILLIUNIT_DIGITS:
        factor: int = 10 ** (scale - _MILLIUNIT_DIGITS)
        return price * factor
    divisor: int = 10 ** (_MILLIUNIT_DIGITS - scale)
    minor, rest = divmod(price, divisor)
    return minor if rest == 0 else None


def _account_token(token: str | None) -> str | None:
    """The appAccountToken as giftflow writes refs (canonical lower-case UUID text)."""
    if token is None:
        return None
    try:
        return str(uuid.UUID(token))
    except ValueError:
        return token  # not ours, but keep what Apple said: the sink will not find it


# --- verification --------------------------------------------------------------------------
class AppStoreVerifier:
    """Verifies App Store Server Notifications v2 and turns them into ``ProviderEvent``s."""

    def __init__(
        self,
        root_certificates: Sequence[bytes],
        *,
        bundle_id: str,
        environment: str | Environment,
        app_apple_id: int | None = None,
    ) -> None:
        if not root_certificates:
            raise AppStoreNotConfigured("No Apple root certificate configured.")
        if not bundle_id:
            raise AppStoreNotConfigured("No bundle id configured (GIFTFLOW_APPSTORE_BUNDLE_ID).")
        self.bundle_id = bundle_id
        self.environment = parse_environment(environment)
        if self.environment is Environment.PRODUCTION and app_apple_id is None:
            raise AppStoreNotConfigured(
                "Production needs the app's Apple id (GIFTFLOW_APPSTORE_APP_APPLE_ID)."
            )
        self.app_apple_id = app_apple_id
        self._verifier = SignedDataVerifier(
            root_certificates=list(root_certificates),
            enable_online_checks=False,  # no network from here; see the module docstring
            environment=self.environment,
            bundle_id=bundle_id,
            app_apple_id=app_apple_id,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> AppStoreVerifier:
        """Built from ``GIFTFLOW_APPSTORE_*``; raises ``AppStoreNotConfigured`` if incomplete."""
        return cls(
            load_root_certificates(settings.appstore_root_certificates),
            bundle_id=settings.appstore_bundle_id,
            environment=settings.appstore_environment,
            app_apple_id=settings.appstore_app_apple_id,
        )

    def verify(self, signed_payload: str) -> ProviderEvent:
        """The verified notification as a ``ProviderEvent``.

        Raises ``InvalidSignature`` when the notification or its transaction does not verify
        (signature, chain, roots, bundle id, app Apple id, environment), and
        ``ValidationFailed`` when a verified notification carries no ``notificationUUID``.
        """
        notification = self._verified(
            "notification", self._verifier.verify_and_decode_notification, signed_payload
        )
        event_id = notification.notificationUUID
        if not event_id:
            raise ValidationFailed("The notification has no notificationUUID.", provider=PROVIDER)
        signed_transaction = notification.data.signedTransactionInfo if notification.data else None
        transaction: JWSTransactionDecodedPayload | None = None
        if signed_transaction:
            transaction = self._verified(
                "transaction",
                self._verifier.verify_and_decode_signed_transaction,
                signed_transaction,
            )
        return self._event(notification, transaction, signed_payload, signed_transaction)

    @staticmethod
    def _verified(part: str, decode: Callable[[str], _T], signed: str) -> _T:
        try:
            return decode(signed)
        except VerificationException as exc:
            raise InvalidSignature(
                f"The App Store {part} did not verify: {exc.status.name}.",
                provider=PROVIDER,
                part=part,
                status=exc.status.name,
            ) from exc

    def _event(
        self,
        notification: ResponseBodyV2DecodedPayload,
        transaction: JWSTransactionDecodedPayload | None,
        signed_payload: str,
        signed_transaction: str | None,
    ) -> ProviderEvent:
        raw_type = notification.rawNotificationType or ""
        kind = EventKind.IGNORED
        if notification.notificationType is not None:
            kind = NOTIFICATION_KINDS.get(notification.notificationType, EventKind.IGNORED)
        provider_ref: str | None = None
        amount_minor: int | None = None
        currency: str | None = None
        amount_problem: str | None = None
        transaction_claims = _claims(signed_transaction) if signed_transaction else None
        if transaction is not None and transaction_claims is not None:
            provider_ref = _account_token(transaction.appAccountToken)
            amount_minor, currency, amount_problem = _amount(transaction_claims)
        reason: str | None = None  # why an event that would move value is IGNORED instead
        if kind in _MOVES_VALUE:
            if transaction is None:
                reason = f"{raw_type} without signedTransactionInfo"
            else:
                reason = amount_problem or _value_refusal(kind, transaction)
            if reason is not None:
                log.warning(
                    "App Store %s %s handed over as ignored: %s",
                    raw_type,
                    notification.notificationUUID,
                    reason,
                )
                kind = EventKind.IGNORED
        payload = {
            "signedPayload": signed_payload,
            "notification": _claims(signed_payload, drop=_SIGNED_FIELDS),
            "transaction": transaction_claims,
            "ignored_reason": reason,
        }
        return ProviderEvent(
            provider=PROVIDER,
            event_id=str(notification.notificationUUID),
            event_type=raw_type.replace("\x00", ""),  # PostgreSQL text cannot hold NUL
            kind=kind,
            provider_ref=provider_ref,
            purchase_id=None,
            amount_minor=amount_minor,
            currency=currency,
            payload=json.dumps(payload, separators=(",", ":"), sort_keys=True),
        )


def _amount(claims: dict[str, Any]) -> tuple[int | None, str | None, str | None]:
    """(amount in minor units, upper-case currency, problem) from the verified transaction's
    own claims (the library's model would turn a price of ``990.5`` into ``990``); the amount
    is ``None`` whenever there is a problem, which says why."""
    raw_currency = claims.get("currency")
    currency = raw_currency.upper() if isinstance(raw_currency, str) and raw_currency else None
    price = claims.get("price")
    if price is None or currency is None:
        return None, currency, "the transaction has no price or currency"
    if not isinstance(price, int) or isinstance(price, bool):
        return None, currency, f"price {price!r} is not a whole number of milliunits"
    try:
        minor = milliunits_to_minor(price, currency)
    except GiftflowError:  # UnknownAsset
        return None, currency, f"currency {currency} is not known to giftflow"
    if minor is None:
        return (
            None,
            currency,
            f"price {price} milliunits is not an exact, non-negative amount of "
            f"{currency} minor units",
        )
    return minor, currency, None


def _value_refusal(kind: EventKind, transaction: JWSTransactionDecodedPayload) -> str | None:
    """Why an event that would move value cannot be applied as it stands, or ``None``."""
    if transaction.quantity not in (None, 1):
        return f"quantity {transaction.quantity}: giftflow sells one pack per purchase"
    if kind is EventKind.REFUNDED:
        partial = transaction.revocationType not in (None, RevocationType.REFUND_FULL) or (
            transaction.revocationPercentage not in (None, _FULL_REVOCATION)
        )
        if partial:
            return (
                f"not a full refund (revocationType {transaction.rawRevocationType}, "
                f"revocationPercentage {transaction.revocationPercentage})"
            )
    return None


def _claims(signed: str, drop: Sequence[str] = ()) -> dict[str, Any]:
    """The claims of a JWS that has already been verified, for the audit copy; nested JWS
    fields under ``data`` are dropped (they are inside the raw ``signedPayload``)."""
    claims: dict[str, Any] = jwt.decode(signed, options={"verify_signature": False})
    data = claims.get("data")
    if isinstance(data, dict):
        claims["data"] = {k: v for k, v in data.items() if k not in drop}
    return claims
