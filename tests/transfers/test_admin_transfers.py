"""Operators' value endpoints as a newcomer and an attacker use them: accounts the chart or a
mechanism forbids, users that do not exist, amounts at the limits, keys reused across callers
and across transaction ids. Every refusal moves nothing."""

from __future__ import annotations

from datetime import timedelta

from giftflow.auth.apikeys import create_api_key
from giftflow.db import make_engine, unit_of_work
from giftflow.money.amounts import MAX_AMOUNT
from tests.api.conftest import Api

GRANTS = "platform:equity:grants"


def posting(src: str, dst: str, amount: int, asset: str = "COIN") -> dict[str, object]:
    return {"source": src, "destination": dst, "asset": asset, "amount": amount}


def send(api: Api, idem: str, *postings: dict[str, object]) -> tuple[int, dict[str, object]]:
    r = api.client.post(
        "/v1/admin/transfers", json={"postings": list(postings)}, headers=api.admin(idem)
    )
    return r.status_code, r.json()


def code(body: dict[str, object]) -> str:
    return body["error"]["code"]  # type: ignore[index,no-any-return]


def coins(api: Api, path: str, asset: str = "COIN") -> int:
    r = api.client.get("/v1/admin/balances", params={"path": path}, headers=api.admin())
    return sum(b["amount"] for b in r.json()["balances"] if b["asset"] == asset)


def reserve(
    api: Api, idem: str, source: str, amount: int, expires_at: str | None = None
) -> dict[str, object]:
    """A pending transfer of diamonds from ``source`` towards payouts:in_flight."""
    r = api.client.post(
        "/v1/admin/pending-transfers",
        json={
            "source": source,
            "destination": "payouts:in_flight",
            "asset": "DIAMOND",
            "amount": amount,
            "expires_at": expires_at,
        },
        headers=api.admin(idem),
    )
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def test_mechanism_accounts_are_refused_as_sources_and_destinations(api: Api) -> None:
    api.grant("creator:c:diamonds", 500, "g", asset="DIAMOND")
    hold = "platform:holding:pending"
    for n, (src, dst, asset) in enumerate(
        [
            (GRANTS, hold, "DIAMOND"),
            (hold, "creator:c:diamonds", "DIAMOND"),
            (GRANTS, "platform:diamonds:issued", "DIAMOND"),
            ("platform:coins:issued", GRANTS, "COIN"),
        ]
    ):
        status, body = send(api, f"m{n}", posting(src, dst, 1, asset))
        assert (status, code(body)) == (422, "account_reserved"), body
    # a pending transfer from or to the holding account was a 500 IntegrityError
    for n, (src, dst) in enumerate([(hold, "payouts:in_flight"), ("creator:c:diamonds", hold)]):
        r = api.client.post(
            "/v1/admin/pending-transfers",
            json={"source": src, "destination": dst, "asset": "DIAMOND", "amount": 1},
            headers=api.admin(f"p{n}"),
        )
        assert (r.status_code, code(r.json())) == (422, "account_reserved")
    assert coins(api, hold, "DIAMOND") == 0
    assert coins(api, "creator:c:diamonds", "DIAMOND") == 500


def test_the_chart_binds_assets_and_sub_accounts(api: Api) -> None:
    api.create_users("x")
    for n, (dst, asset) in enumerate(
        [
            ("user:x:coins", "USD"),
            ("user:x:coins", "DIAMOND"),
            ("creator:x:diamonds", "COIN"),
            ("user:x:wallet", "COIN"),
            ("user:x:coins:gold", "COIN"),
            ("platform:revenue:anything", "COIN"),
            ("platform:cash:stripe", "COIN"),
        ]
    ):
        status, body = send(api, f"c{n}", posting(GRANTS, dst, 1, asset))
        assert (status, code(body)) == (422, "invalid_account"), (dst, asset, body)
    status, body = send(api, "ok", posting(GRANTS, "user:x:coins:bonus", 1))
    assert status == 201, body


def test_coins_never_move_between_users_even_for_an_admin(api: Api) -> None:
    api.grant("user:a:coins", 10, "g")
    api.create_users("b")
    status, body = send(api, "t", posting("user:a:coins", "user:b:coins", 5))
    assert (status, code(body)) == (422, "coins_not_transferable")
    # bonus to own paid coins is one owner: allowed; corrections go through equity
    assert send(api, "t2", posting("user:a:coins", "user:a:coins:bonus", 5))[0] == 201
    assert send(api, "t3", posting("user:a:coins", "platform:equity:corrections", 5))[0] == 201
    assert coins(api, "user:b:coins") == 0


def test_unknown_users_are_refused_and_the_refusal_is_not_stored(api: Api) -> None:
    status, body = send(api, "ghost", posting(GRANTS, "user:ghost:coins", 5))
    assert (status, code(body)) == (422, "user_not_found")
    assert body["error"]["details"] == {"users": ["ghost"]}  # type: ignore[index]
    # mixed into one batch with valid requests, only it fails
    api.create_users("ghost")
    status, body = send(api, "ghost", posting(GRANTS, "user:ghost:coins", 5))
    assert status == 201, body
    assert coins(api, "user:ghost:coins") == 5


def test_amounts_and_balances_are_bounded_with_a_422_not_a_500(api: Api) -> None:
    api.create_users("rich")
    status, body = send(api, "huge", posting(GRANTS, "user:rich:coins", 2**62))
    assert (status, code(body)) == (422, "validation_error")
    promo = "platform:equity:promotions"
    assert send(api, "max", posting(promo, "user:rich:coins", MAX_AMOUNT))[0] == 201
    # a source is bounded too, below zero: promotions is now at -MAX_AMOUNT
    status, body = send(api, "deep", posting(promo, "user:rich:coins:bonus", 1))
    assert (status, code(body)) == (422, "amount_limit_exceeded")
    assert body["error"]["details"]["account"] == promo  # type: ignore[index]
    status, body = send(api, "over", posting(GRANTS, "user:rich:coins", 1))
    assert (status, code(body)) == (422, "amount_limit_exceeded")
    assert coins(api, "user:rich:coins") == MAX_AMOUNT
    # the 422 came from inside the writer and was not stored: the same key works later
    assert send(api, "spend", posting("user:rich:coins", "platform:revenue:gifts", 10))[0] == 201
    status, body = send(api, "over", posting(GRANTS, "user:rich:coins", 1))
    assert status == 201, body
    assert coins(api, "user:rich:coins") == MAX_AMOUNT - 9


def test_every_transaction_records_the_policy_version_in_force(api: Api) -> None:
    txn = api.grant("user:a:coins", 10, "g")
    assert txn["policy_version"] == "standard@1"
    rev = api.client.post(f"/v1/admin/transactions/{txn['id']}/reverse", headers=api.admin("r"))
    assert rev.json()["policy_version"] == "standard@1"
    api.grant("creator:a:diamonds", 100, "g2", asset="DIAMOND")
    r = api.client.post(
        "/v1/admin/pending-transfers",
        json={
            "source": "creator:a:diamonds",
            "destination": "payouts:in_flight",
            "asset": "DIAMOND",
            "amount": 40,
        },
        headers=api.admin("p"),
    )
    assert r.json()["transaction"]["policy_version"] == "standard@1"
    voided = api.client.post(
        f"/v1/admin/pending-transfers/{r.json()['id']}/void", headers=api.admin("v")
    )
    assert voided.json()["transaction"]["policy_version"] == "standard@1"


def test_a_key_is_scoped_to_its_caller(api: Api, database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        with unit_of_work(engine) as conn:
            second, _ = create_api_key(conn, "second-operator", {"admin"}, api.clock.now())
    finally:
        engine.dispose()
    api.create_users("a")
    body = {"postings": [posting(GRANTS, "user:a:coins", 3)]}
    one = api.client.post("/v1/admin/transfers", json=body, headers=api.admin("same"))
    two = api.client.post("/v1/admin/transfers", json=body, headers=api.headers(second, "same"))
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] != two.json()["id"]
    assert "Idempotent-Replayed" not in two.headers
    assert coins(api, "user:a:coins") == 6


def test_a_key_reused_on_another_transaction_id_is_refused(api: Api) -> None:
    first = api.grant("user:a:coins", 10, "g1")
    second = api.grant("user:a:coins", 20, "g2")
    ok = api.client.post(f"/v1/admin/transactions/{first['id']}/reverse", headers=api.admin("rv"))
    assert ok.status_code == 201
    other = api.client.post(
        f"/v1/admin/transactions/{second['id']}/reverse", headers=api.admin("rv")
    )
    assert (other.status_code, code(other.json())) == (409, "idempotency_key_reused")
    assert coins(api, "user:a:coins") == 20
    # and pending transfers: posting one and voiding another with one key
    api.grant("creator:a:diamonds", 100, "g3", asset="DIAMOND")
    ids = []
    expires = (api.clock.now() + timedelta(hours=1)).isoformat()
    for n in range(2):
        ids.append(reserve(api, f"pt{n}", "creator:a:diamonds", 10, expires)["id"])
    assert (
        api.client.post(
            f"/v1/admin/pending-transfers/{ids[0]}/post", headers=api.admin("res")
        ).status_code
        == 200
    )
    reused = api.client.post(f"/v1/admin/pending-transfers/{ids[1]}/post", headers=api.admin("res"))
    assert (reused.status_code, code(reused.json())) == (409, "idempotency_key_reused")


def test_wallet_shows_what_pending_transfers_hold(api: Api) -> None:
    api.grant("creator:w:diamonds", 1000, "g", asset="DIAMOND")
    pending = reserve(api, "p", "creator:w:diamonds", 600)
    wallet = api.client.get("/v1/wallet", headers=api.user("w")).json()
    diamonds = next(t for t in wallet["totals"] if t["asset"] == "DIAMOND")
    assert diamonds["available"]["amount"] == 400
    assert diamonds["held"] == {"asset": "DIAMOND", "amount": 600, "display": "6.00"}
    assert diamonds["total"]["amount"] == 1000
    api.client.post(f"/v1/admin/pending-transfers/{pending['id']}/post", headers=api.admin("x"))
    wallet = api.client.get("/v1/wallet", headers=api.user("w")).json()
    diamonds = next(t for t in wallet["totals"] if t["asset"] == "DIAMOND")
    assert (diamonds["available"]["amount"], diamonds["held"]["amount"]) == (400, 0)
