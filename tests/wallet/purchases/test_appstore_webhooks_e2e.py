"""The App Store end to end: a purchase made in the app (provider ``appstore``), Apple-shaped
signed notifications through ``POST /v1/webhooks/appstore``, the wallet's sink and the ledger,
on both databases.

The chain is self-made (``tests/payments/appstore_certs.py``) and its root is configured as the
only trusted root, so the real ``SignedDataVerifier`` accepts what it signs. Policy ``standard``,
app channel: pack 70 costs 84 cents (840 milliunits) and the store keeps its fee.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.payments.appstore_certs import Chain, make_chain, sign_notification

from .conftest import WalletApi
from .webhook_support import (
    OpenApi,
    amount,
    count_events,
    frozen,
    state_of,
    stored_events,
)

BUNDLE_ID = "com.example.live"
ENVIRONMENT = "Sandbox"
CASH = "platform:cash:appstore"
REVENUE = "platform:revenue:coins"
FEES = "platform:fees:store"
PRICE = 84  # pack 70, app channel, policy "standard"
TRANSACTION_ID = "2000000912345678"


@pytest.fixture(scope="module")
def chain() -> Chain:
    return make_chain()


@pytest.fixture
def root_file(chain: Chain, tmp_path: Path) -> Path:
    path = tmp_path / "AppleRootCA-G3.cer"
    path.write_bytes(chain.root_der)  # DER, as Apple publishes its roots
    return path


@contextmanager
def open_appstore(open_api: OpenApi, root: Path) -> Iterator[WalletApi]:
    with open_api(
        "standard",
        appstore_bundle_id=BUNDLE_ID,
        appstore_root_certificates=str(root),
        appstore_environment=ENVIRONMENT,
    ) as api:
        yield api


def buy(api: WalletApi, user_id: str, idem: str = "b1") -> dict[str, Any]:
    """A pack of 70 bought in the app: 201 pending, its appAccountToken as ``provider_ref``."""
    r = api.buy(user_id, idem, pack=70, channel="app", provider="appstore", card=None)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    assert (body["state"], body["provider"], body["channel"]) == ("pending", "appstore", "app")
    token = uuid.UUID(body["provider_ref"])
    assert token.version == 4 and str(token) == body["provider_ref"]
    assert body["client_secret"] == body["provider_ref"]  # what the app hands to StoreKit
    return body


def notification(
    chain: Chain,
    kind: str,
    purchase: dict[str, Any],
    note_id: str,
    **transaction: Any,
) -> str:
    """A signed notification about the purchase's transaction, for its price in milliunits."""
    fields: dict[str, Any] = {
        "transactionId": TRANSACTION_ID,
        "originalTransactionId": TRANSACTION_ID,
        "productId": f"{BUNDLE_ID}.coins.70",
        "appAccountToken": purchase["provider_ref"],
        "price": amount(purchase, "price") * 10,  # cents → milliunits: 0.84 USD = 840
        "currency": "USD",
        **transaction,
    }
    return sign_notification(
        chain, kind, fields, uuid=note_id, bundle_id=BUNDLE_ID, environment=ENVIRONMENT
    )


def post(api: WalletApi, signed: str) -> httpx.Response:
    response: httpx.Response = api.client.post(
        "/v1/webhooks/appstore", json={"signedPayload": signed}
    )
    return response


def outcome(api: WalletApi, signed: str) -> str:
    r = post(api, signed)
    assert r.status_code == 200, r.text
    assert r.json()["received"] is True
    return str(r.json()["outcome"])


def money(api: WalletApi) -> tuple[int, int, int]:
    """(cash at the App Store, coin revenue, store fees) in USD cents."""
    return api.balance(CASH, "USD"), api.balance(REVENUE, "USD"), api.balance(FEES, "USD")


def tampered(signed: str, **changes: Any) -> str:
    """The same JWS with claims of its payload changed, header and signature kept."""
    header, payload, signature = signed.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    raw = json.dumps(claims, separators=(",", ":")).encode()
    forged = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_a_one_time_charge_credits_the_coins_and_books_the_store_fee(
    open_api: OpenApi, chain: Chain, root_file: Path
) -> None:
    with open_appstore(open_api, root_file) as api:
        api.buyer("a1")
        bought = buy(api, "a1")
        fee = amount(bought, "store_fee")
        assert amount(bought, "price") == PRICE and 0 < fee < PRICE  # the app store's cut
        assert api.coins("a1") == {} and money(api) == (0, 0, 0)

        note_id = str(uuid.uuid4())
        assert outcome(api, notification(chain, "ONE_TIME_CHARGE", bought, note_id)) == "credited"

        assert api.coins("a1") == {"user:a1:coins": 70}
        assert money(api) == (-PRICE, PRICE - fee, fee)
        assert api.balance("platform:coins:issued", "COIN") == -70
        assert state_of(api, bought) == "succeeded"
        [stored] = stored_events(api)
        assert (stored["provider"], stored["event_id"], stored["event_type"]) == (
            "appstore",
            note_id,
            "ONE_TIME_CHARGE",
        )
        assert (stored["outcome"], stored["purchase_id"]) == ("credited", int(bought["id"]))
        audit = json.loads(stored["payload"])
        assert audit["transaction"]["appAccountToken"] == bought["provider_ref"]
        assert audit["ignored_reason"] is None
        api.assert_clean()


@pytest.mark.parametrize("case", ["wrong_root", "tampered_payload"])
def test_a_notification_that_does_not_verify_changes_nothing(
    open_api: OpenApi, chain: Chain, root_file: Path, case: str
) -> None:
    with open_appstore(open_api, root_file) as api:
        api.buyer("a2")
        bought = buy(api, "a2")
        note_id = str(uuid.uuid4())
        genuine = notification(chain, "ONE_TIME_CHARGE", bought, note_id)
        if case == "wrong_root":
            # Apple-shaped in every way, but its chain leads to a root nobody configured
            refused = notification(make_chain(), "ONE_TIME_CHARGE", bought, note_id)
        else:
            # a replay of the genuine charge dressed up as a new notification
            refused = tampered(genuine, notificationUUID=str(uuid.uuid4()))

        r = post(api, refused)
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error["code"] == "invalid_signature"
        assert error["details"]["part"] == "notification"
        assert state_of(api, bought) == "pending"
        assert api.coins("a2") == {}
        assert money(api) == (0, 0, 0)
        assert count_events(api) == 0  # never reached the sink
        api.assert_clean()

        # the genuine notification (same notificationUUID for wrong_root) still applies
        assert outcome(api, genuine) == "credited"
        assert api.coins("a2") == {"user:a2:coins": 70}


def test_a_repeated_notification_uuid_is_credited_once(
    open_api: OpenApi, chain: Chain, root_file: Path
) -> None:
    with open_appstore(open_api, root_file) as api:
        api.buyer("a3")
        bought = buy(api, "a3")
        fee = amount(bought, "store_fee")
        note_id = str(uuid.uuid4())
        signed = notification(chain, "ONE_TIME_CHARGE", bought, note_id)
        assert outcome(api, signed) == "credited"
        assert outcome(api, signed) == "duplicate"  # Apple's retry: still 200
        # signed again (another signedDate), same notificationUUID: still the same event
        again = notification(chain, "ONE_TIME_CHARGE", bought, note_id)
        assert again != signed
        assert outcome(api, again) == "duplicate"

        assert api.coins("a3") == {"user:a3:coins": 70}
        assert money(api) == (-PRICE, PRICE - fee, fee)
        assert [(e["event_id"], e["outcome"]) for e in stored_events(api)] == [
            (note_id, "credited")
        ]
        api.assert_clean()


def test_a_refund_after_some_coins_were_spent(
    open_api: OpenApi, chain: Chain, root_file: Path
) -> None:
    with open_appstore(open_api, root_file) as api:
        api.buyer("a4")
        bought = buy(api, "a4")
        fee = amount(bought, "store_fee")
        net = PRICE - fee
        charge_id = str(uuid.uuid4())
        assert outcome(api, notification(chain, "ONE_TIME_CHARGE", bought, charge_id)) == (
            "credited"
        )
        assert api.spend("a4", 30).status == 201  # gifted away
        assert frozen(api, "a4") is False

        refund_id = str(uuid.uuid4())
        refund = notification(
            chain,
            "REFUND",
            bought,
            refund_id,
            revocationDate=1_767_225_600_000,
            revocationReason=0,
            revocationType="REFUND_FULL",
            revocationPercentage=100_000,
        )
        assert outcome(api, refund) == "refunded_by_provider"

        owed = net * 30 // 70  # the spent coins' value at the lot's net price
        assert api.coins("a4") == {}  # the 40 left were removed
        assert api.balance("platform:receivable:a4", "USD") == -owed
        # Apple took the whole price back (its fee included); revenue keeps the spent part
        assert money(api) == (0, owed, 0)
        assert api.balance("platform:coins:issued", "COIN") == -30  # still in circulation
        assert state_of(api, bought) == "refunded"
        assert frozen(api, "a4") is True
        assert api.spend("a4", 1).error_code == "account_frozen"
        [case] = api.client.get("/v1/admin/disputes", headers=api.admin()).json()["data"]
        assert (case["coins_removed"], case["coins_spent"]) == (40, 30)
        assert case["receivable"]["amount"] == owed
        api.assert_clean()

        # Apple's retry, and a late second REFUND, change nothing
        assert outcome(api, refund) == "duplicate"
        later_id = str(uuid.uuid4())
        later = notification(chain, "REFUND", bought, later_id)
        assert outcome(api, later) == "no_longer_possible"
        assert api.coins("a4") == {}
        assert api.balance("platform:receivable:a4", "USD") == -owed
        assert money(api) == (0, owed, 0)
        assert {e["event_id"]: e["outcome"] for e in stored_events(api)} == {
            charge_id: "credited",
            refund_id: "refunded_by_provider",
            later_id: "no_longer_possible",
        }
        api.assert_clean()


def test_a_reversed_refund_gives_the_coins_back(
    open_api: OpenApi, chain: Chain, root_file: Path
) -> None:
    with open_appstore(open_api, root_file) as api:
        api.buyer("a5")
        bought = buy(api, "a5")
        fee = amount(bought, "store_fee")
        charge = notification(chain, "ONE_TIME_CHARGE", bought, str(uuid.uuid4()))
        assert outcome(api, charge) == "credited"
        assert api.spend("a5", 30).status == 201
        refund = notification(chain, "REFUND", bought, str(uuid.uuid4()))
        assert outcome(api, refund) == "refunded_by_provider"
        assert frozen(api, "a5") is True

        reversed_ = notification(chain, "REFUND_REVERSED", bought, str(uuid.uuid4()))
        assert outcome(api, reversed_) == "dispute_won"
        assert api.coins("a5") == {"user:a5:coins": 40}
        assert api.balance("platform:receivable:a5", "USD") == 0
        assert money(api) == (-PRICE, PRICE - fee, fee)
        assert frozen(api, "a5") is False
        api.assert_clean()


def test_a_reversed_refund_after_a_write_off_recovers_the_write_off(
    open_api: OpenApi, chain: Chain, root_file: Path
) -> None:
    """An operator wrote the debt off; Apple then reverses its refund: the money owed comes back
    into the write-off account (not the receivable, which would show a debt that is not there)."""
    with open_appstore(open_api, root_file) as api:
        api.buyer("a6")
        bought = buy(api, "a6")
        fee = amount(bought, "store_fee")
        owed = (PRICE - fee) * 30 // 70
        assert outcome(api, notification(chain, "ONE_TIME_CHARGE", bought, str(uuid.uuid4()))) == (
            "credited"
        )
        assert api.spend("a6", 30).status == 201
        assert outcome(api, notification(chain, "REFUND", bought, str(uuid.uuid4()))) == (
            "refunded_by_provider"
        )
        [case] = api.client.get("/v1/admin/disputes", headers=api.admin()).json()["data"]
        r = api.client.post(
            f"/v1/admin/disputes/{case['id']}/settle",
            json={"note": "written off"},
            headers={**api.admin(), "Idempotency-Key": "s1"},
        )
        assert r.status_code == 200, r.text
        assert api.balance("platform:equity:writeoffs", "USD") == -owed
        assert frozen(api, "a6") is False

        reversed_ = notification(chain, "REFUND_REVERSED", bought, str(uuid.uuid4()))
        assert outcome(api, reversed_) == "dispute_won"
        assert api.coins("a6") == {"user:a6:coins": 40}
        assert api.balance("platform:equity:writeoffs", "USD") == 0
        assert api.balance("platform:receivable:a6", "USD") == 0
        assert money(api) == (-PRICE, PRICE - fee, fee)
        assert state_of(api, bought) == "won"
        [case] = api.client.get("/v1/admin/disputes", headers=api.admin()).json()["data"]
        assert case["state"] == "won"
        # a second reversal finds nothing left to reverse
        again = notification(chain, "REFUND_REVERSED", bought, str(uuid.uuid4()))
        assert outcome(api, again) == "no_longer_possible"
        assert api.coins("a6") == {"user:a6:coins": 40}
        api.assert_clean()


def test_a_refund_before_confirmation_cannot_be_reversed_into_coins(
    open_api: OpenApi, chain: Chain, root_file: Path
) -> None:
    """Nothing was credited, so there is no case and no coins to give back: the reversal is
    recorded for an operator and moves nothing."""
    with open_appstore(open_api, root_file) as api:
        api.buyer("a7")
        bought = buy(api, "a7")
        assert outcome(api, notification(chain, "REFUND", bought, str(uuid.uuid4()))) == (
            "refunded_before_confirmation"
        )
        reversed_ = notification(chain, "REFUND_REVERSED", bought, str(uuid.uuid4()))
        assert outcome(api, reversed_) == "no_longer_possible"
        assert api.coins("a7") == {}
        assert state_of(api, bought) == "refunded"
        assert money(api) == (0, 0, 0)
        api.assert_clean()
