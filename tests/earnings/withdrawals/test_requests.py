"""Withdrawal requests through the API: what a request reserves, every refusal (nothing moves),
the worked examples of SPEC §10 (2, 3 and 4), idempotency with the second factor, and
concurrent requests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from giftflow.earnings.withdrawals import service
from giftflow.earnings.withdrawals.schemas import WithdrawalIn
from giftflow.ledger.commands import Command
from giftflow.ledger.idempotency import Outcome
from giftflow.schema import withdrawals
from tests.batching import commands_in_one_batch
from tests.earnings.withdrawals.conftest import Creator, OpenW, WApi, err, open_live, open_w

__all__ = ["open_live", "open_w"]


def count(w: WApi) -> int:
    with w.ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(withdrawals)).scalar_one())


def test_a_request_reserves_the_diamonds_and_waits_for_an_operator(open_w: OpenW) -> None:
    with open_w("standard") as w:
        c = w.ready("c1", 500_00)
        r = w.withdraw(c, "w1", amount_minor=100)  # $1.00 = 200 diamonds at $0.005
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["state"] == "requested"
        assert body["diamonds"]["amount"] == 200_00
        assert (body["gross"]["amount"], body["fee"]["amount"], body["net"]["amount"]) == (
            100,
            0,
            100,
        )
        assert body["gross"]["asset"] == "USD"
        assert body["kept"]["amount"] == 0
        assert body["diamonds_available"]["amount"] == 300_00
        assert body["provider"] == "sandbox"
        assert body["policy_version"] == "standard@1"
        day = w.clock.now().date()
        assert body["local_day"] == day.isoformat()
        assert body["expected_payment_on"] == (day + timedelta(days=3)).isoformat()
        assert [h["state"] for h in body["history"]] == ["requested"]
        assert body["history"][0]["transaction_id"] == body["id"]
        assert w.money("c1") | {} == {
            "available": 300_00,
            "reserved": 200_00,
            "in_flight": 0,
            "paid_out": 0,
            "fees": 0,
            "equity": 0,
        }
        mine = w.client.get("/v1/withdrawals", headers=w.user("c1")).json()
        assert [x["id"] for x in mine["data"]] == [body["id"]]
        queue = w.client.get(
            "/v1/admin/withdrawals", params={"state": "requested"}, headers=w.admin()
        ).json()
        assert [x["id"] for x in queue["data"]] == [body["id"]]
        one = w.get("c1", body["id"])
        assert one.status_code == 200
        assert one.json()["history"] == body["history"]
        assert w.get("someone", body["id"]).status_code == 404  # another user's: not found
        w.assert_clean()


def refused(w: WApi, c: Creator, expected: tuple[int, str], **kwargs: object) -> None:
    """The request is refused with ``expected`` and nothing moved."""
    before, n = w.money(c.user_id), count(w)
    r = w.withdraw(c, f"refused-{w.n()}", **kwargs)  # type: ignore[arg-type]
    assert err(r) == expected, r.text
    assert (w.money(c.user_id), count(w)) == (before, n)


def test_every_refusal_moves_nothing(open_w: OpenW) -> None:
    with open_w("standard") as w:
        # identity not verified
        unverified = w.ready("u1", 100_00, kyc="unverified")
        refused(w, unverified, (409, "kyc_required"), amount_minor=100)
        pending = w.ready("u2", 100_00, kyc="pending")
        refused(w, pending, (409, "kyc_required"), amount_minor=100)
        c = w.ready("c1", 5_000_00)
        # second factor: wrong, replayed, missing
        wrong = "000000" if w.code(c.secret) != "000000" else "111111"
        refused(w, c, (409, "second_factor_invalid"), totp=wrong, amount_minor=100)
        used = w.code(c.secret)
        assert w.withdraw(c, "ok-1", totp=used, amount_minor=100).status_code == 201
        refused(w, c, (409, "second_factor_invalid"), totp=used, amount_minor=100)
        r = w.post("/v1/withdrawals", "c1", {"amount_minor": 100, "method_id": c.method_id}, "m")
        assert err(r) == (422, "validation_error")
        # amounts: both or neither, less than a cent, below the minimum
        r = w.withdraw(c, "both", amount_minor=100, diamonds=200_00)
        assert err(r) == (422, "validation_error")
        refused(w, c, (409, "below_minimum"), diamonds=1_99)  # worth 0 cents
        refused(w, c, (409, "below_minimum"), amount_minor=99)  # standard's minimum is $1
        # more than is available
        refused(w, c, (409, "insufficient_funds"), diamonds=10_000_00)
        # the method: another user's, unknown, still cooling off
        other = w.ready("c2", 100_00, email="other@example.com")
        refused(w, c, (404, "not_found"), amount_minor=100, method_id=other.method_id)
        refused(w, c, (404, "not_found"), amount_minor=100, method_id="999999")
        fresh = w.add_method("c1", c.secret, {"kind": "paypal", "email": "new@example.com"})
        refused(w, c, (409, "method_cooling_off"), amount_minor=100, method_id=fresh)
        # frozen
        w.set_user("c1", frozen=True)
        refused(w, c, (409, "account_frozen"), amount_minor=100)
        w.set_user("c1", frozen=False)
        w.assert_clean()


def test_diamonds_still_in_the_hold_cannot_be_withdrawn(open_w: OpenW) -> None:
    with open_w("standard") as w:  # standard holds earnings 7 days
        c = w.ready("c1")
        w.viewer("v1", 2_000)
        live = w.start("c1")
        assert w.gift("v1", live, "panda", 100, "g1").status_code == 201
        assert w.diamonds("c1") == (0, 250_00)
        before = w.money("c1")
        r = w.withdraw(c, "w1", amount_minor=100)
        assert err(r) == (409, "insufficient_funds")
        details = r.json()["error"]["details"]
        assert (details["available"], details["held"]) == (0, 250_00)
        assert "still in the earnings hold" in r.json()["error"]["message"]
        assert w.money("c1") == before and count(w) == 0


def test_five_wrong_codes_lock_withdrawals(open_w: OpenW) -> None:
    with open_w("standard") as w:
        c = w.ready("c1", 1_000_00)
        good = w.code(c.secret)
        wrong = next(x for x in ("123456", "654321", "111111") if x != good)
        for _ in range(4):
            assert err(w.withdraw(c, f"bad-{w.n()}", totp=wrong, amount_minor=100)) == (
                409,
                "second_factor_invalid",
            )
        r = w.withdraw(c, "bad-5", totp=wrong, amount_minor=100)
        assert err(r) == (429, "second_factor_locked")
        r = w.withdraw(c, "good", amount_minor=100)  # a right code is refused while locked
        assert err(r) == (429, "second_factor_locked")
        assert count(w) == 0
        w.clock.advance(timedelta(minutes=15))
        assert w.withdraw(c, "later", amount_minor=100).status_code == 201


def test_a_code_that_cannot_be_one_is_a_422_and_spends_no_attempt(open_w: OpenW) -> None:
    """The withdrawal's code had no pattern (the payout methods' had): NUL or letters outside
    the codes' alphabet each used one of the five attempts."""
    with open_w("standard") as w:
        c = w.ready("c1", 1_000_00)
        for n, junk in enumerate(["\u0000" * 6, "üüüüüü", "12345", "1" * 33, "12 34;56"] * 2):
            r = w.withdraw(c, f"junk-{n}", totp=junk, amount_minor=100)
            assert err(r) == (422, "validation_error"), junk
        assert w.withdraw(c, "good", amount_minor=100).status_code == 201  # not locked


def test_a_retry_replays_the_answer_without_spending_another_code(open_w: OpenW) -> None:
    with open_w("standard") as w:
        c = w.ready("c1", 1_000_00)
        code = w.code(c.secret)
        first = w.withdraw(c, "w1", totp=code, amount_minor=100)
        assert first.status_code == 201
        again = w.withdraw(c, "w1", totp=code, amount_minor=100)  # the same request, same code
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        other = w.withdraw(c, "w1", totp=code, amount_minor=200)
        assert err(other) == (409, "idempotency_key_reused")
        assert count(w) == 1
        # a stored refusal replays too
        r1 = w.withdraw(c, "w2", diamonds=1_000_00)
        assert err(r1) == (409, "insufficient_funds")
        w.grant("c1", 2_000_00)
        r2 = w.withdraw(c, "w2", diamonds=1_000_00)
        assert err(r2) == (409, "insufficient_funds") and r2.headers["Idempotent-Replayed"]


def test_concurrent_requests_make_one_withdrawal(open_w: OpenW) -> None:
    with open_w("standard") as w:
        c = w.ready("c1", 300_00)  # enough for one $1.00 withdrawal of 200 diamonds, not two
        codes = c.recovery_codes  # one single-use code per request
        # different keys that together exceed the balance: one succeeds
        answers = at_once(
            *(
                (lambda k=k, code=code: w.withdraw(c, k, totp=code, amount_minor=100))
                for k, code in (("a", codes[0]), ("b", codes[1]), ("c", codes[2]))
            )
        )
        assert sorted(r.status_code for r in answers) == [201, 409, 409]
        assert {err(r)[1] for r in answers if r.status_code == 409} == {"insufficient_funds"}
        assert count(w) == 1
        assert w.money("c1")["available"] == 100_00
        # the same key twice at once: one withdrawal, the other waits or replays it
        w.grant("c1", 1_000_00)
        answers = at_once(
            *(
                (lambda code=code: w.withdraw(c, "same", totp=code, amount_minor=100))
                for code in (codes[3], codes[4])
            )
        )
        assert count(w) == 2
        assert 201 in {r.status_code for r in answers}
        assert {r.status_code for r in answers} <= {201, 409}
        w.assert_clean()


def at_once(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """The requests from parallel threads (the writer batches whatever arrives together)."""
    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result(60) for f in [pool.submit(call) for call in calls]]


def test_requests_of_one_batch_share_the_daily_maximum(open_w: OpenW) -> None:
    """Two requests applied in one batch, each under the $1,000 daily maximum, together over
    it: the second sees the first (the limit is checked inside the batch, not before it)."""
    with open_w("standard") as w:
        w.ready("c1", 400_000_00)
        body = {"amount_minor": 60_000, "method_id": "1", "totp": "000000"}
        commands = [
            service.prepare_request(w.ctx, "c1", WithdrawalIn.model_validate(body))
            for _ in range(2)
        ]
        outcomes = in_one_batch(w, commands)
        assert sorted(o.status for o in outcomes) == [201, 409]
        refusal = next(o for o in outcomes if o.status == 409)
        assert refusal.error_code == "withdrawal_limit_exceeded"
        assert (
            refusal.body["error"]["details"]["period"],
            refusal.body["error"]["details"]["left"],
        ) == ("day", 40_000)
        assert count(w) == 1
        w.assert_clean()


def in_one_batch(w: WApi, commands: Sequence[Command]) -> list[Outcome]:
    """Submit ``commands`` while the writer is held, so they are applied in one batch."""
    return commands_in_one_batch(w.ctx.writer, commands)


# --- SPEC §10 --------------------------------------------------------------------------------
def test_example_2_full_withdrawal_pays_208_cents_and_leaves_half_a_diamond(
    open_w: OpenW,
) -> None:
    """Seed 002: 833 coins gifted are 416.50 diamonds; a full withdrawal pays 208 cents ($2.08)
    and leaves 0.50 diamond."""
    with open_w("seed-002") as w:
        c = w.ready("c2")
        w.viewer("v2")
        w.buy("v2", 833, "b1")
        live = w.start("c2")
        for n, count_ in enumerate([100] * 8 + [33]):
            assert w.gift("v2", live, "rose", count_, f"g{n}").status_code == 201
        assert w.diamonds("c2") == (416_50, 0)
        r = w.withdraw(c, "all", diamonds=416_50)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["diamonds"]["amount"] == 416_00
        assert (body["gross"]["display"], body["net"]["display"]) == ("2.08", "2.08")
        assert body["net"]["amount"] == 208
        assert body["kept"] == {"asset": "DIAMOND", "amount": 50, "display": "0.50"}
        assert body["diamonds_available"]["display"] == "0.50"
        assert w.approve(body["id"]).status_code == 200
        w.later(seconds=31)
        assert w.state(body["id"]) == "paid"
        assert w.diamonds("c2") == (50, 0)
        # the sandbox's cash took the $10.00 purchase in and paid $2.08 out
        assert w.balance("platform:cash:sandbox", "USD") == -1_000 + 208
        w.assert_clean()


def test_example_3_half_is_the_cash_out_fee(open_w: OpenW) -> None:
    """Seed 000: 100 diamonds are worth 50 cents and pay 25 after the fee; 10,000 diamonds are
    worth $50 and pay $25."""
    with open_w("seed-000") as w:
        c = w.ready("c0", 20_000_00)
        small = w.withdraw(c, "s", diamonds=100_00).json()
        assert (small["gross"]["amount"], small["fee"]["amount"], small["net"]["amount"]) == (
            50,
            25,
            25,
        )
        big = w.withdraw(c, "b", diamonds=10_000_00).json()
        assert (big["gross"]["display"], big["fee"]["display"], big["net"]["display"]) == (
            "50.00",
            "25.00",
            "25.00",
        )
        for x in (small, big):
            assert w.approve(x["id"]).status_code == 200
        w.later(seconds=31)
        assert w.balance("platform:cash:sandbox", "USD") == 25 + 2_500
        assert w.balance("platform:fees:cashout", "USD") == 25 + 2_500
        assert w.balance("platform:equity:payouts", "USD") == -(50 + 5_000)
        w.assert_clean()


def test_example_4_minimum_and_weekly_maximum_with_the_week_rolling_over(open_w: OpenW) -> None:
    """Seed 001: $99 is below the $100 minimum; after $1,000 in a week, $100 more is over the
    weekly maximum, and the same request is accepted once the week rolls over."""
    with open_w("seed-001") as w:
        c = w.ready("c1", 1_000_000_00)
        assert err(w.withdraw(c, "w99", amount_minor=99_00)) == (409, "below_minimum")
        for n in range(4):
            r = w.withdraw(c, f"w{n}", amount_minor=250_00)
            assert r.status_code == 201, r.text
        r = w.withdraw(c, "over", amount_minor=100_00)
        assert err(r) == (409, "withdrawal_limit_exceeded")
        assert r.json()["error"]["details"]["period"] == "week"
        today = w.clock.now().date()
        monday = today + timedelta(days=7 - today.weekday())
        w.clock.advance(monday - today)
        # the key of the refused request replays its refusal; the same request under a new key
        assert err(w.withdraw(c, "over", amount_minor=100_00)) == (409, "withdrawal_limit_exceeded")
        r = w.withdraw(c, "over-next-week", amount_minor=100_00)
        assert r.status_code == 201, r.text
        assert r.json()["local_day"] == monday.isoformat()
