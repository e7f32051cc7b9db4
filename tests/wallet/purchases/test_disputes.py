"""Chargebacks: remaining coins removed, spent coins become a receivable, the wallet frozen;
a won dispute restores everything; a lost one can be settled (written off) by an operator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tests.batching import calls_in_one_batch

from .conftest import WalletApi

DISPUTED_CARD = {"number": "4000 0000 0000 0259"}


def dispute(api: WalletApi, purchase_id: str, action: str, idem: str) -> dict[str, Any]:
    r = api.client.post(
        f"/v1/admin/purchases/{purchase_id}/dispute",
        json={"action": action},
        headers=api.admin(idem),
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_chargeback_after_the_coins_were_gifted_away(open_api: Any) -> None:
    with open_api("seed-002") as api:
        api.buyer("cb")
        bought = api.buy("cb", "b", pack=350, card=DISPUTED_CARD).json()
        assert bought["state"] == "succeeded"
        assert api.spend("cb", 300).status == 201  # gifted away
        assert dispute(api, bought["id"], "open", "d1")["outcome"] == "charged_back"
        # the 50 coins still there are removed; the 300 spent are owed at the lot's net price
        assert api.coins("cb") == {}
        net = 420 - bought["store_fee"]["amount"]
        owed = net * 300 // 350
        assert api.balance("platform:receivable:cb", "USD") == -owed
        assert api.balance("platform:cash:sandbox", "USD") == 0  # the money went back
        assert api.balance("platform:coins:issued", "COIN") == -300  # still in circulation
        listed = api.client.get("/v1/admin/disputes", headers=api.admin()).json()["data"]
        assert [(d["state"], d["coins_removed"], d["coins_spent"]) for d in listed] == [
            ("open", 50, 300)
        ]
        assert listed[0]["receivable"]["amount"] == owed
        # frozen for spending, not a negative balance
        api.client.post(
            "/v1/admin/transfers",
            json={
                "postings": [
                    {
                        "source": "platform:equity:promotions",
                        "destination": "user:cb:coins:bonus",
                        "asset": "COIN",
                        "amount": 5,
                    }
                ]
            },
            headers=api.admin("g"),
        )
        frozen = api.spend("cb", 1)
        assert frozen.error_code == "account_frozen"
        # a replayed dispute event changes nothing
        again = dispute(api, bought["id"], "open", "d2")
        assert again["outcome"] == "no_longer_possible"
        api.assert_clean()
        # won: money back, coins restored as a new lot, receivable cleared, unfrozen
        assert dispute(api, bought["id"], "won", "d3")["outcome"] == "dispute_won"
        assert api.coins("cb") == {"user:cb:coins": 50, "user:cb:coins:bonus": 5}
        assert api.balance("platform:receivable:cb", "USD") == 0
        assert api.balance("platform:cash:sandbox", "USD") == -420
        assert api.spend("cb", 55).status == 201
        got = api.client.get(f"/v1/purchases/{bought['id']}", headers=api.user("cb")).json()
        assert (got["state"], got["remaining_coins"]) == ("won", 0)
        api.assert_clean()


def test_a_lost_dispute_stays_frozen_until_an_operator_settles_it(open_api: Any) -> None:
    with open_api("seed-002") as api:
        api.buyer("lo")
        bought = api.buy("lo", "b", pack=70, card=DISPUTED_CARD).json()
        assert api.spend("lo", 70).status == 201
        dispute(api, bought["id"], "open", "d1")
        assert dispute(api, bought["id"], "lost", "d2")["outcome"] == "dispute_lost"
        owed = 84 - bought["store_fee"]["amount"]
        assert api.balance("platform:receivable:lo", "USD") == -owed
        case = api.client.get("/v1/admin/disputes?state=lost", headers=api.admin()).json()
        dispute_id = case["data"][0]["id"]
        r = api.client.post(
            f"/v1/admin/disputes/{dispute_id}/settle",
            json={"note": "written off"},
            headers=api.admin("s1"),
        )
        assert r.status_code == 200 and r.json()["state"] == "settled"
        assert "Idempotent-Replayed" not in r.headers
        again = api.client.post(
            f"/v1/admin/disputes/{dispute_id}/settle",
            json={"note": "written off"},
            headers=api.admin("s1"),
        )
        assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
        assert api.balance("platform:receivable:lo", "USD") == 0
        assert api.balance("platform:equity:writeoffs", "USD") == -owed
        api.assert_clean()


def test_a_dispute_action_is_idempotent_by_its_key_path_and_body(open_api: Any) -> None:
    """The key used to be the whole event id: the same key on another purchase or with another
    action answered 200 "duplicate" and did nothing."""
    with open_api("seed-002") as api:
        api.buyer("dk")
        one = api.buy("dk", "b1", pack=70, card=DISPUTED_CARD).json()
        two = api.buy("dk", "b2", pack=70, card=DISPUTED_CARD).json()

        def act(purchase_id: str, action: str) -> Any:
            return api.client.post(
                f"/v1/admin/purchases/{purchase_id}/dispute",
                json={"action": action},
                headers=api.admin("dk-key"),
            )

        first = act(one["id"], "open")
        assert first.json() == {"outcome": "charged_back", "purchase_id": one["id"]}
        again = act(one["id"], "open")
        assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
        assert again.json() == first.json()
        for other in (act(two["id"], "open"), act(one["id"], "lost")):
            assert (other.status_code, other.json()["error"]["code"]) == (
                409,
                "idempotency_key_reused",
            )
        cases = api.client.get("/v1/admin/disputes", headers=api.admin()).json()["data"]
        assert [(c["purchase_id"], c["state"]) for c in cases] == [(one["id"], "open")]
        assert api.coins("dk") == {"user:dk:coins": 70}  # the second lot untouched
        api.assert_clean()


def test_settles_of_one_dispute_in_one_batch_write_the_debt_off_once(open_api: Any) -> None:
    """Each settle used to read the case from the database, where it was still ``lost`` until
    the batch committed: five settles in one batch wrote the debt off five times."""
    with open_api("seed-002") as api:
        api.buyer("ss")
        bought = api.buy("ss", "b", pack=70, card=DISPUTED_CARD).json()
        assert api.spend("ss", 70).status == 201
        dispute(api, bought["id"], "open", "d1")
        dispute(api, bought["id"], "lost", "d2")
        owed = 84 - bought["store_fee"]["amount"]
        case = api.client.get("/v1/admin/disputes?state=lost", headers=api.admin()).json()
        dispute_id = case["data"][0]["id"]

        def settle(n: int) -> Callable[[], Any]:
            return lambda: api.client.post(
                f"/v1/admin/disputes/{dispute_id}/settle",
                json={"note": f"settle {n}"},
                headers=api.admin(f"settle-{n}"),
            )

        writer = api.client.app.state.giftflow.writer
        answers = calls_in_one_batch(writer, [settle(n) for n in range(5)])
        codes = sorted("ok" if r.status_code == 200 else r.json()["error"]["code"] for r in answers)
        assert codes == ["invalid_transition"] * 4 + ["ok"]
        refused = next(r for r in answers if r.status_code != 200)
        assert (refused.status_code, refused.json()["error"]["details"]["state"]) == (
            409,
            "settled",
        )
        assert api.balance("platform:receivable:ss", "USD") == 0
        assert api.balance("platform:equity:writeoffs", "USD") == -owed
        # and later, alone: still refused, nothing moves
        again = settle(9)()
        assert (again.status_code, again.json()["error"]["code"]) == (409, "invalid_transition")
        assert api.balance("platform:equity:writeoffs", "USD") == -owed
        api.assert_clean()


def test_only_sandbox_purchases_can_be_disputed_by_hand_and_only_by_admins(
    open_api: Any,
) -> None:
    with open_api("standard") as api:
        api.buyer("x")
        bought = api.buy("x", "b", pack=70).json()
        r = api.client.post(
            f"/v1/admin/purchases/{bought['id']}/dispute",
            json={"action": "open"},
            headers=api.user("x") | {"Idempotency-Key": "u"},
        )
        assert r.status_code == 403
        r = api.client.post(
            f"/v1/admin/purchases/{bought['id']}/dispute",
            json={"action": "won"},
            headers=api.admin("w"),
        )
        assert r.json()["outcome"] == "no_longer_possible"  # nothing open to win
        assert api.coins("x") == {"user:x:coins": 70}


def test_a_purchase_disputed_again_after_a_won_dispute_reopens_its_case(open_api: Any) -> None:
    with open_api("seed-002") as api:
        api.buyer("re")
        bought = api.buy("re", "b", pack=70, card=DISPUTED_CARD).json()
        assert api.spend("re", 20).status == 201
        dispute(api, bought["id"], "open", "d1")
        dispute(api, bought["id"], "won", "d2")
        assert dispute(api, bought["id"], "open", "d3")["outcome"] == "charged_back"
        cases = api.client.get("/v1/admin/disputes", headers=api.admin()).json()["data"]
        assert [(c["state"], c["coins_removed"]) for c in cases] == [("open", 50)]
        assert api.coins("re") == {}
        api.assert_clean()


def test_the_disputes_list_pages_with_a_cursor(open_api: Any) -> None:
    with open_api("seed-002") as api:
        ids = []
        for n in range(5):
            api.buyer(f"p{n}")
            bought = api.buy(f"p{n}", "b", pack=70, card=DISPUTED_CARD).json()
            dispute(api, bought["id"], "open", f"page-{n}")
            ids.append(bought["id"])
        seen: list[str] = []
        cursor = ""
        pages = 0
        while True:
            r = api.client.get(f"/v1/admin/disputes?limit=2{cursor}", headers=api.admin())
            assert r.status_code == 200, r.text
            page = r.json()
            seen += [d["purchase_id"] for d in page["data"]]
            pages += 1
            if page["next_cursor"] is None:
                break
            cursor = f"&cursor={page['next_cursor']}"
        assert pages == 3
        assert seen == ids[::-1]  # newest first, each once
        bad = api.client.get("/v1/admin/disputes?cursor=abc", headers=api.admin())
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "validation_error")
        who = api.client.get("/v1/admin/disputes", headers=api.user("p0"))
        assert who.status_code == 403


def test_the_payment_events_list_pages_with_a_cursor(open_api: Any) -> None:
    with open_api("seed-002") as api:
        expected: list[tuple[str, str]] = []
        for n in range(4):
            api.buyer(f"e{n}")
            bought = api.buy(f"e{n}", "b", pack=70, card=DISPUTED_CARD).json()
            dispute(api, bought["id"], "open", f"open-{n}")  # charged_back
            dispute(api, bought["id"], "open", f"again-{n}")  # no_longer_possible: same instant
            if n % 2:
                api.clock.advance(timedelta(seconds=1))  # some events tie on received_at
        everything = api.client.get("/v1/admin/payment-events?limit=500", headers=api.admin())
        assert everything.json()["next_cursor"] is None
        expected = [(e["event_id"], e["outcome"]) for e in everything.json()["data"]]
        assert len(expected) == 8
        times = [e["received_at"] for e in everything.json()["data"]]
        assert times == sorted(times, reverse=True) and len(set(times)) == 2
        for size in (1, 3):
            seen: list[tuple[str, str]] = []
            cursor = ""
            while True:
                r = api.client.get(
                    f"/v1/admin/payment-events?limit={size}{cursor}", headers=api.admin()
                )
                assert r.status_code == 200, r.text
                page = r.json()
                assert len(page["data"]) <= size
                seen += [(e["event_id"], e["outcome"]) for e in page["data"]]
                if page["next_cursor"] is None:
                    break
                cursor = f"&cursor={page['next_cursor']}"
            assert seen == expected  # every event once, in the same order
        # the filter and the cursor together
        first = api.client.get(
            "/v1/admin/payment-events?outcome=charged_back&limit=3", headers=api.admin()
        ).json()
        rest = api.client.get(
            f"/v1/admin/payment-events?outcome=charged_back&cursor={first['next_cursor']}",
            headers=api.admin(),
        ).json()
        assert [e["outcome"] for e in first["data"] + rest["data"]] == ["charged_back"] * 4
        assert rest["next_cursor"] is None
        far = (
            "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzAxOjAwIiwgImEiLCAiYiJd",
            "WyI5OTk5LTEyLTMxVDIzOjAwOjAwLTA1OjAwIiwgImEiLCAiYiJd",
        )  # beyond UTC's years: an overflow 500 before
        naive = "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgImEiLCAiYiJd"
        for bad in (
            "abc",
            "WzEsMiwzXQ",
            "W10",
            "%00",
            "WyJ4IiwieSIsInoiXQ",
            "x" * 1001,
            *far,
            naive,
        ):
            r = api.client.get(f"/v1/admin/payment-events?cursor={bad}", headers=api.admin())
            assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error"), bad
        who = api.client.get(
            f"/v1/admin/payment-events?cursor={first['next_cursor']}", headers=api.user("e0")
        )
        assert who.status_code == 403


def test_purchase_transactions_are_undone_by_their_state_machine_not_reversed(
    open_api: Any,
) -> None:
    with open_api("standard") as api:
        api.buyer("rv")
        api.buy("rv", "b", pack=70)
        txns = api.client.get("/v1/transactions", headers=api.user("rv")).json()["data"]
        purchase_txn = next(t["transaction"] for t in txns if t["kind"] == "purchase")
        r = api.client.post(
            f"/v1/admin/transactions/{purchase_txn}/reverse", headers=api.admin("x")
        )
        assert (r.status_code, r.json()["error"]["code"]) == (409, "not_reversible")
        assert api.coins("rv") == {"user:rv:coins": 70}


def test_admins_see_every_provider_event_and_what_it_did(open_api: Any) -> None:
    with open_api("standard") as api:
        api.buyer("ev")
        bought = api.buy("ev", "b", pack=70, card=DISPUTED_CARD).json()
        dispute(api, bought["id"], "open", "d1")
        dispute(api, bought["id"], "open", "d2")
        r = api.client.get("/v1/admin/payment-events", headers=api.admin())
        assert r.status_code == 200
        seen = sorted((e["event_type"], e["outcome"]) for e in r.json()["data"])
        assert seen == [
            ("sandbox.dispute.open", "charged_back"),
            ("sandbox.dispute.open", "no_longer_possible"),
        ]
        only = api.client.get(
            "/v1/admin/payment-events?outcome=charged_back", headers=api.admin()
        ).json()["data"]
        assert [e["purchase_id"] for e in only] == [bought["id"]]
        assert api.client.get("/v1/admin/payment-events", headers=api.user("ev")).status_code == 403
