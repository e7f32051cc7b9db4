"""Admins claw back diamonds still in the earnings hold: newest buckets first, never more than is
held, once per Idempotency-Key, and only with an admin key."""

from __future__ import annotations

from datetime import date, timedelta

from tests.earnings.balances.conftest import (
    LiveApi,
    OpenLive,
    buckets,
    clawback,
    earnings,
    err,
    kinds,
    open_live,
    release,
)

__all__ = ["open_live"]


def two_buckets(api: LiveApi) -> None:
    """c1 holds 5.00 diamonds released on 8 January and 3.00 on 9 January."""
    api.creator("c1")
    api.viewer("v1", coins=100)
    live = api.start("c1")
    assert api.gift("v1", live, "rose", 10, idem="a").status_code == 201
    api.clock.advance(timedelta(days=1))
    assert api.gift("v1", live, "rose", 6, idem="b").status_code == 201
    assert buckets(api, "c1") == {date(2026, 1, 8): 500, date(2026, 1, 9): 300}


def test_a_clawback_takes_the_newest_buckets_first(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        two_buckets(api)
        r = clawback(api, "c1", 400, "k1", reason="chargeback on the gifts of live 1")
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["diamonds"] == {"asset": "DIAMOND", "amount": 400, "display": "4.00"}
        assert [
            (b["release_on"], b["taken"]["amount"], b["left"]["amount"]) for b in body["buckets"]
        ] == [
            ("2026-01-09", 300, 0),
            ("2026-01-08", 100, 400),
        ]
        assert body["held"]["amount"] == 400
        assert body["reason"] == "chargeback on the gifts of live 1"
        assert body["policy_version"] == "standard@1"
        assert buckets(api, "c1") == {date(2026, 1, 8): 400}
        assert api.diamonds("c1") == (0, 400)
        assert api.balance("platform:diamonds:issued", "DIAMOND") == -400
        txn = api.client.get(
            f"/v1/admin/transactions/{body['transaction_id']}", headers=api.admin()
        ).json()
        assert txn["kind"] == "clawback" and txn["memo"] == "chargeback on the gifts of live 1"
        assert [(p["source"], p["destination"], p["amount"]) for p in txn["postings"]] == [
            ("creator:c1:diamonds:pending", "platform:diamonds:issued", 400)
        ]
        view = earnings(api, "c1")
        assert [(x["release_on"], x["diamonds"]["amount"]) for x in view["releases"]] == [
            ("2026-01-08", 400)
        ]
        assert view["lifetime"]["clawed_back"]["amount"] == 400
        # what is left is released on its day, exactly that much
        api.clock.advance(timedelta(days=7))
        assert release(api) == 1
        assert api.diamonds("c1") == (400, 0)
        api.assert_clean()


def test_more_than_is_held_is_refused(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        two_buckets(api)
        r = clawback(api, "c1", 801, "k1")
        assert err(r) == (409, "insufficient_funds")
        details = r.json()["error"]["details"]
        assert (details["account"], details["available"], details["required"]) == (
            "creator:c1:diamonds:pending",
            800,
            801,
        )
        assert api.diamonds("c1") == (0, 800)
        assert buckets(api, "c1") == {date(2026, 1, 8): 500, date(2026, 1, 9): 300}
        # the refusal is the key's outcome for good
        again = clawback(api, "c1", 801, "k1")
        assert err(again) == (409, "insufficient_funds")
        assert again.headers["Idempotent-Replayed"] == "true"
        # released diamonds are no longer held: nothing can be clawed back from them
        api.clock.advance(timedelta(days=8))
        assert release(api) == 2
        assert err(clawback(api, "c1", 1, "k2")) == (409, "insufficient_funds")
        assert api.diamonds("c1") == (800, 0)
        assert kinds(api, "clawback") == 0
        api.assert_clean()


def test_a_clawback_is_idempotent_by_key(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        two_buckets(api)
        first = clawback(api, "c1", 800, "k1")
        assert first.status_code == 201
        again = clawback(api, "c1", 800, "k1")
        assert again.status_code == 201 and again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert err(clawback(api, "c1", 700, "k1")) == (409, "idempotency_key_reused")
        assert kinds(api, "clawback") == 1
        assert api.diamonds("c1") == (0, 0)
        assert buckets(api, "c1") == {}
        api.assert_clean()


def test_only_an_admin_key_claws_back(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        two_buckets(api)
        body = {"diamonds": 100, "reason": "dispute"}
        path = "/v1/admin/creators/c1/clawbacks"
        platform = api.platform() | {"Idempotency-Key": "p"}
        assert err(api.client.post(path, json=body, headers=platform)) == (403, "forbidden")
        creator = api.user("c1") | {"Idempotency-Key": "u"}
        assert err(api.client.post(path, json=body, headers=creator)) == (403, "forbidden")
        assert err(api.client.post(path, json=body, headers=api.admin())) == (
            400,
            "idempotency_key_required",
        )
        assert api.diamonds("c1") == (0, 800)


def test_clawback_requests_are_checked(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        two_buckets(api)
        path = "/v1/admin/creators/c1/clawbacks"
        for n, body in enumerate(
            [
                {"diamonds": 0, "reason": "x"},
                {"diamonds": 1.5, "reason": "x"},
                {"diamonds": "100", "reason": "x"},
                {"diamonds": 100},
                {"diamonds": 100, "reason": ""},
                {"diamonds": 100, "reason": "x", "extra": 1},
                {"diamonds": 10**14 + 1, "reason": "x"},
            ]
        ):
            r = api.client.post(path, json=body, headers=api.admin(f"k{n}"))
            assert err(r) == (422, "validation_error"), body
        # a creator the platform never created
        r = clawback(api, "ghost", 100, "g")
        assert err(r) == (422, "user_not_found")
        assert api.diamonds("c1") == (0, 800)
