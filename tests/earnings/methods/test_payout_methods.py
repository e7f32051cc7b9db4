"""Payout methods through the API: validation, the second factor, encryption and masking, the
cooling-off period, ownership, changes and removal, and key rotation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from giftflow.db import unit_of_work
from giftflow.earnings.identity.crypto import SecretsUnavailable
from giftflow.earnings.methods import repository, service
from giftflow.errors import MethodCoolingOff, NotFound
from giftflow.schema import payout_methods
from tests.earnings.identity.conftest import (
    KEY_A,
    KEY_B,
    Factor,
    FactorApi,
    err,
    fapi,
    running,
)

__all__ = ["fapi"]

IBAN = "DE89 3704 0044 0532 0130 00"


def paypal(email: str = "payouts@example.com") -> dict[str, Any]:
    return {"kind": "paypal", "email": email}


def bank(iban: str = IBAN, holder: str = "Alice Example") -> dict[str, Any]:
    return {"kind": "bank", "iban": iban, "holder_name": holder}


def add(fapi: FactorApi, factor: Factor, body: dict[str, Any]) -> httpx.Response:
    sent = body | {"totp": fapi.next_code(factor.secret)}
    return fapi.post("/v1/payout-methods", factor.user_id, sent)


def listed(fapi: FactorApi, user_id: str) -> list[dict[str, Any]]:
    r = fapi.client.get("/v1/payout-methods", headers=fapi.user(user_id))
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def stored_count(fapi: FactorApi) -> int:
    with fapi.ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(payout_methods)).scalar_one())


def test_add_paypal_and_bank(fapi: FactorApi) -> None:
    alice = fapi.active_factor("alice")
    r = add(fapi, alice, paypal("Payouts.Alice@Example.COM"))
    assert r.status_code == 201, r.text
    added = r.json()
    assert added == {
        "id": added["id"],
        "object": "payout_method",
        "kind": "paypal",
        "masked": "P***@example.com",
        "usable_from": "2026-01-03T00:00:30Z",  # 48 hours after now (one step was let pass)
        "usable": False,
        "created_at": "2026-01-01T00:00:30Z",
        "updated_at": "2026-01-01T00:00:30Z",
    }
    r = add(fapi, alice, bank(" de89 3704 0044 0532 0130 00 ", "  Alice Example "))
    assert r.status_code == 201, r.text
    assert r.json()["masked"] == "DE89 **** **** **** **30 00"
    assert [(m["kind"], m["masked"]) for m in listed(fapi, "alice")] == [
        ("paypal", "P***@example.com"),
        ("bank", "DE89 **** **** **** **30 00"),
    ]

    # stored sealed: neither the address nor the IBAN nor the holder is readable in the row
    with fapi.ctx.engine.connect() as conn:
        rows = conn.execute(select(payout_methods).order_by(payout_methods.c.id)).all()
    for row in rows:
        text = " ".join(str(v) for v in row)
        for secret in ("Payouts.Alice", "payouts.alice", "370400440532", "Alice Example"):
            assert secret not in text
        assert row.details_encrypted.startswith("gAAAAA")
    # what the payout provider will get
    with fapi.ctx.engine.connect() as conn:
        methods = repository.methods_of(conn, "alice")
    assert [service.method_details(fapi.ctx, m) for m in methods] == [
        {"kind": "paypal", "email": "Payouts.Alice@example.com"},
        {"kind": "bank", "iban": "DE89370400440532013000", "holder_name": "Alice Example"},
    ]


@pytest.mark.parametrize(
    "body",
    [
        bank("DE89 3704 0044 0532 0130 01"),  # check digits
        bank("DE89 3704 0044 0532 0130"),  # length
        bank("XX00 1234"),
        bank(holder=""),
        bank(holder="   "),
        bank(holder="Alice\x07Example"),
        paypal("not-an-address"),
        paypal("a@b"),
        paypal("a@@example.com"),
        paypal("a b@example.com"),
        paypal(".a@example.com"),
        paypal("a@-example.com"),
        {"kind": "iban", "iban": IBAN},
        {"kind": "paypal"},
        paypal() | {"iban": IBAN},
    ],
)
def test_bad_details_are_422_and_use_no_code(fapi: FactorApi, body: dict[str, Any]) -> None:
    alice = fapi.active_factor("alice")
    code = fapi.next_code(alice.secret)
    r = fapi.post("/v1/payout-methods", "alice", body | {"totp": code})
    assert err(r) == (422, "validation_error"), r.text
    assert stored_count(fapi) == 0
    # the code was not used up, nothing was counted
    assert fapi.verify("alice", code).status_code == 200


def test_the_second_factor_is_needed(fapi: FactorApi) -> None:
    fapi.person("bob")
    # no code at all
    assert err(fapi.post("/v1/payout-methods", "bob", paypal())) == (422, "validation_error")
    # no factor enrolled (or only pending)
    r = fapi.post("/v1/payout-methods", "bob", paypal() | {"totp": "123456"})
    assert err(r) == (409, "second_factor_required")
    bob = fapi.enrol("bob")
    r = fapi.post("/v1/payout-methods", "bob", paypal() | {"totp": fapi.code(bob.secret)})
    assert err(r) == (409, "second_factor_required")
    fapi.confirm(bob)
    # a wrong code, or a used one
    r = fapi.post("/v1/payout-methods", "bob", paypal() | {"totp": fapi.wrong_code(bob.secret)})
    assert err(r) == (409, "second_factor_invalid")
    used = fapi.next_code(bob.secret)
    assert fapi.verify("bob", used).status_code == 200
    r = fapi.post("/v1/payout-methods", "bob", paypal() | {"totp": used})
    assert err(r) == (409, "second_factor_invalid")
    assert stored_count(fapi) == 0 and listed(fapi, "bob") == []
    # a recovery code does it too
    r = fapi.post("/v1/payout-methods", "bob", paypal() | {"totp": bob.recovery_codes[0]})
    assert r.status_code == 201, r.text


def test_a_locked_factor_refuses_changes(fapi: FactorApi) -> None:
    alice = fapi.active_factor("alice")
    for _ in range(5):
        fapi.verify("alice", fapi.wrong_code(alice.secret))
    r = add(fapi, alice, paypal())
    assert err(r) == (429, "second_factor_locked")
    assert int(r.headers["Retry-After"]) > 0
    assert stored_count(fapi) == 0


def test_cooling_off(fapi: FactorApi) -> None:
    alice = fapi.active_factor("alice")
    method = add(fapi, alice, bank()).json()
    method_id = int(method["id"])
    assert method["usable"] is False

    def usable() -> Any:
        with fapi.ctx.engine.connect() as conn:
            return repository.usable_method(conn, "alice", method_id, fapi.clock.now())

    with pytest.raises(MethodCoolingOff) as caught:
        usable()
    assert caught.value.details == {"id": str(method_id), "usable_from": method["usable_from"]}
    fapi.clock.advance(timedelta(hours=47, minutes=59))
    assert listed(fapi, "alice")[0]["usable"] is False
    fapi.clock.advance(timedelta(minutes=1))  # 48 hours
    assert listed(fapi, "alice")[0]["usable"] is True
    assert usable().masked == "DE89 **** **** **** **30 00"

    # a change starts the cooling-off again
    r = fapi.client.put(
        f"/v1/payout-methods/{method_id}",
        json=paypal("new@example.com") | {"totp": fapi.next_code(alice.secret)},
        headers=fapi.user("alice"),
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["kind"], changed["masked"], changed["usable"]) == (
        "paypal",
        "n***@example.com",
        False,
    )
    assert changed["usable_from"] == "2026-01-05T00:01:00Z"
    assert changed["created_at"] == method["created_at"]
    with pytest.raises(MethodCoolingOff):
        usable()
    assert service.method_details(fapi.ctx, listed_row(fapi, method_id)) == {
        "kind": "paypal",
        "email": "new@example.com",
    }


def listed_row(fapi: FactorApi, method_id: int) -> repository.MethodRow:
    with fapi.ctx.engine.connect() as conn:
        row = repository.get_method(conn, method_id)
    assert row is not None
    return row


def test_another_users_method_is_not_found(fapi: FactorApi) -> None:
    alice = fapi.active_factor("alice")
    mallory = fapi.active_factor("mallory")
    method_id = add(fapi, alice, paypal()).json()["id"]
    assert listed(fapi, "mallory") == []
    code = fapi.next_code(mallory.secret)
    for method, body in (("PUT", paypal() | {"totp": code}), ("DELETE", {"totp": code})):
        r = fapi.client.request(
            method, f"/v1/payout-methods/{method_id}", json=body, headers=fapi.user("mallory")
        )
        assert err(r) == (404, "not_found")
    for bad_id in ("999999", "abc", "-1", "1" * 30):
        r = fapi.client.request(
            "DELETE",
            f"/v1/payout-methods/{bad_id}",
            json={"totp": code},
            headers=fapi.user("alice"),
        )
        assert err(r) == (404, "not_found")
    assert fapi.verify("mallory", code).status_code == 200  # a 404 uses up no code
    with fapi.ctx.engine.connect() as conn, pytest.raises(NotFound):
        repository.usable_method(conn, "mallory", int(method_id), fapi.clock.now())
    assert len(listed(fapi, "alice")) == 1


def test_remove(fapi: FactorApi) -> None:
    alice = fapi.active_factor("alice")
    keep = add(fapi, alice, paypal()).json()["id"]
    gone = add(fapi, alice, bank()).json()["id"]
    path = f"/v1/payout-methods/{gone}"
    r = fapi.client.request("DELETE", path, json={}, headers=fapi.user("alice"))
    assert err(r) == (422, "validation_error")
    r = fapi.client.request(
        "DELETE", path, json={"totp": fapi.wrong_code(alice.secret)}, headers=fapi.user("alice")
    )
    assert err(r) == (409, "second_factor_invalid")
    r = fapi.client.request(
        "DELETE", path, json={"totp": fapi.next_code(alice.secret)}, headers=fapi.user("alice")
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"id": gone, "object": "payout_method", "removed": True}
    assert [m["id"] for m in listed(fapi, "alice")] == [keep]
    fapi.clock.advance(timedelta(days=3))
    with fapi.ctx.engine.connect() as conn, pytest.raises(NotFound):
        repository.usable_method(conn, "alice", int(gone), fapi.clock.now())
    r = fapi.client.request(
        "DELETE", path, json={"totp": fapi.next_code(alice.secret)}, headers=fapi.user("alice")
    )
    assert err(r) == (404, "not_found")
    # the row stays (withdrawals refer to it), marked removed
    assert listed_row(fapi, int(gone)).removed_at is not None


def test_at_most_ten_methods(fapi: FactorApi) -> None:
    alice = fapi.active_factor("alice")
    for n in range(service.MAX_METHODS):
        assert add(fapi, alice, paypal(f"p{n}@example.com")).status_code == 201
    code = fapi.next_code(alice.secret)
    r = fapi.post("/v1/payout-methods", "alice", paypal() | {"totp": code})
    assert err(r) == (422, "validation_error")
    assert r.json()["error"]["details"] == {"limit": 10}
    assert fapi.verify("alice", code).status_code == 200  # not used up


def test_user_tokens_only(fapi: FactorApi) -> None:
    r = fapi.client.get("/v1/payout-methods", headers=fapi.admin())
    assert err(r) == (403, "forbidden")
    r = fapi.client.post("/v1/payout-methods", json=paypal(), headers=fapi.platform())
    assert err(r) in ((403, "forbidden"), (422, "validation_error"))


def test_without_a_secrets_key_methods_are_unavailable(database_url: str) -> None:
    with running(database_url, KEY_A) as keyed:
        alice = keyed.active_factor("alice")
        assert add(keyed, alice, paypal()).status_code == 201
        keys, clock = (keyed.admin_key, keyed.platform_key), keyed.clock
    with running(database_url, "", clock, keys) as keyless:
        code = keyless.next_code(alice.secret)
        r = keyless.post("/v1/payout-methods", "alice", paypal() | {"totp": code})
        assert err(r) == (503, "secrets_unavailable")
        assert "GIFTFLOW_SECRETS_KEY" in r.json()["error"]["message"]
        # listing needs no key (the masked form is stored beside the sealed details)
        assert [m["masked"] for m in listed(keyless, "alice")] == ["p***@example.com"]
        with pytest.raises(SecretsUnavailable):
            service.method_details(keyless.ctx, listed_row(keyless, 1))
    with running(database_url, KEY_A, clock, keys) as keyed:
        assert keyed.verify("alice", code).status_code == 200  # the 503 used up no code


def test_key_rotation(database_url: str) -> None:
    with running(database_url, KEY_A) as first:
        alice = first.active_factor("alice")
        assert add(first, alice, bank()).status_code == 201
        keys = (first.admin_key, first.platform_key)
        clock = first.clock

    # the new key first, the old one still listed: everything opens, new values use the new key
    with running(database_url, f"{KEY_B},{KEY_A}", clock, keys) as rotated:
        row = listed_row(rotated, 1)
        assert service.method_details(rotated.ctx, row)["iban"] == "DE89370400440532013000"
        assert rotated.verify("alice", rotated.next_code(alice.secret)).status_code == 200
        assert add(rotated, alice, paypal()).status_code == 201
        # re-seal what is left under the old key; then the old key can go
        from giftflow.earnings.identity import service as identity

        assert (identity.reseal_all(rotated.ctx), service.reseal_all(rotated.ctx)) == (1, 1)
        assert (identity.reseal_all(rotated.ctx), service.reseal_all(rotated.ctx)) == (0, 0)

    with running(database_url, KEY_B, clock, keys) as only_new:
        rows = [listed_row(only_new, i) for i in (1, 2)]
        assert [service.method_details(only_new.ctx, r)["kind"] for r in rows] == ["bank", "paypal"]
        assert only_new.verify("alice", only_new.next_code(alice.secret)).status_code == 200

    # a server whose key list lost the key that sealed a value says so (503), it does not guess
    with running(database_url, KEY_A, clock, keys) as wrong:
        with pytest.raises(SecretsUnavailable):
            service.method_details(wrong.ctx, listed_row(wrong, 1))
        r = wrong.verify("alice", wrong.next_code(alice.secret))
        assert err(r) == (503, "secrets_unavailable")
        # and it counted nothing
        with unit_of_work(wrong.ctx.engine) as conn:
            assert conn.execute(select(func.count()).select_from(payout_methods)).scalar_one() == 2
        assert wrong.factor_state("alice")["state"] == "active"
        # the factor can still be replaced with a recovery code (nothing sealed is needed)
        wrong.confirm(wrong.enrol("alice", alice.recovery_codes[0]))
        assert wrong.factor_state("alice")["state"] == "active"
