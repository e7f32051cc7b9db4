"""The payout state machine on the sandbox provider, with the ledger asserted after each step:
paid, failed, returned late, reversed, unclaimed then returned; operators' approve, reject and
retry; the creator's cancel; illegal transitions; a crash between ``submitted`` and the
provider's answer; webhooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from giftflow.errors import ProviderError
from giftflow.payouts.providers import PayoutRequest, PayoutResult, PayoutStatus
from giftflow.payouts.sandbox import SandboxPayouts
from tests.earnings.withdrawals.conftest import OpenW, WApi, err, open_live, open_w

__all__ = ["open_live", "open_w"]

D, G = 2_000_00, 10_00  # 2,000 diamonds are $10.00 under standard (no fee)


def start(w: WApi, email: str = "creator@example.com", user: str = "c1") -> str:
    c = w.ready(user, 5_000_00, email=email)
    r = w.withdraw(c, f"w-{user}", diamonds=D)
    assert r.status_code == 201, r.text
    wid: str = r.json()["id"]
    return wid


def money(w: WApi, **expected: int) -> None:
    base = {
        "available": 5_000_00 - D,
        "reserved": D,
        "in_flight": 0,
        "paid_out": 0,
        "fees": 0,
        "equity": 0,
    }
    assert w.money("c1") == base | expected


def history(w: WApi, wid: str) -> list[str]:
    return [h["state"] for h in w.get("c1", wid).json()["history"]]


def test_paid(open_w: OpenW) -> None:
    with open_w("standard") as w:
        wid = start(w)
        money(w)
        r = w.approve(wid)  # the answer, then the payout job sends it (background task)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "approved"
        assert w.state(wid) == "in_transit"  # the sandbox keeps it PENDING for 10 s
        money(w, in_flight=G, equity=-G)
        assert w.sandbox.submissions(int(wid)) == 1
        w.later(seconds=31)
        assert w.state(wid) == "paid"
        # the reservation ended, the diamonds retired: the liability fell by exactly D
        money(w, reserved=0, paid_out=G, equity=-G)
        assert w.balance("platform:diamonds:issued", "DIAMOND") == D  # granted from equity
        assert history(w, wid) == ["requested", "approved", "submitted", "in_transit", "paid"]
        body = w.get("c1", wid).json()
        assert body["provider_ref"] == f"SBX-{wid}"
        w.later(days=2)  # nothing more happens to a plain payout
        assert w.state(wid) == "paid"
        assert w.sandbox.paid_count(int(wid)) == 1
        w.assert_clean()


@pytest.mark.parametrize(
    ("tag", "first", "then", "after"),
    [
        ("fail", "failed", None, {}),
        ("blocked", "failed", None, {}),
        ("return", "paid", "returned", {"days": 1}),
        ("reverse", "paid", "reversed", {"days": 1}),
        ("unclaimed", "in_transit", "returned", {"days": 30}),
    ],
)
def test_failures_give_the_diamonds_back(
    open_w: OpenW, tag: str, first: str, then: str | None, after: dict[str, float]
) -> None:
    with open_w("standard") as w:
        wid = start(w, email=f"creator+{tag}@example.com")
        assert w.approve(wid).status_code == 200
        w.later(seconds=31)
        assert w.state(wid) == first
        if first == "paid":
            money(w, reserved=0, paid_out=G, equity=-G)
        if then is not None:
            w.later(**after)
            assert w.state(wid) == then
        # everything is back where it was before the request
        assert w.money("c1") == {
            "available": 5_000_00,
            "reserved": 0,
            "in_flight": 0,
            "paid_out": 0,
            "fees": 0,
            "equity": 0,
        }
        w.later(days=60)
        assert w.state(wid) == (then or first)  # final: nothing more moves
        w.assert_clean()


def test_operators_reject_and_creators_cancel(open_w: OpenW) -> None:
    with open_w("standard") as w:
        wid = start(w)
        r = w.admin_post(wid, "reject", {"reason": "name does not match the account"})
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "rejected"
        assert r.json()["failure_reason"] == "name does not match the account"
        money(w, available=5_000_00, reserved=0)
        assert err(w.approve(wid)) == (409, "invalid_transition")
        c2 = w.ready("c2", 1_000_00, email="two@example.com")
        wid2 = w.withdraw(c2, "w2", diamonds=D // 4).json()["id"]
        r = w.post(f"/v1/withdrawals/{wid2}/cancel", "c1", idem="x")  # not c1's
        assert err(r) == (404, "not_found")
        r = w.post(f"/v1/withdrawals/{wid2}/cancel", "c2", idem="x")
        assert r.status_code == 200 and r.json()["state"] == "canceled"
        assert w.diamonds("c2") == (1_000_00, 0)
        r = w.post(f"/v1/withdrawals/{wid2}/cancel", "c2", idem="y")
        assert err(r) == (409, "invalid_transition")
        r = w.admin_post("12345", "approve")
        assert err(r) == (404, "not_found")
        w.assert_clean()


def test_illegal_transitions_are_refused(open_w: OpenW) -> None:
    with open_w("standard") as w:
        wid = start(w)
        assert w.approve(wid).status_code == 200
        assert w.state(wid) == "in_transit"
        before = w.money("c1")
        for action, body in (("approve", None), ("reject", {"reason": "too late"})):
            r = w.admin_post(wid, action, body)
            assert err(r) == (409, "invalid_transition"), r.text
            assert r.json()["error"]["details"]["state"] == "in_transit"
        assert err(w.post(f"/v1/withdrawals/{wid}/cancel", "c1", idem="c")) == (
            409,
            "invalid_transition",
        )
        assert w.money("c1") == before
        w.later(seconds=31)
        assert err(w.admin_post(wid, "retry")) == (409, "invalid_transition")  # paid


def test_an_unreachable_provider_is_retried_under_the_same_id(open_w: OpenW) -> None:
    with open_w("standard") as w:
        wid = start(w)
        w.sandbox.unreachable = True
        assert w.approve(wid).status_code == 200
        assert w.state(wid) == "submitted"  # marked, but the provider never answered
        money(w, in_flight=G, equity=-G)
        w.later(seconds=31)
        assert w.state(wid) == "submitted"
        w.sandbox.unreachable = False
        r = w.admin_post(wid, "retry")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "in_transit"
        w.later(seconds=31)
        assert w.state(wid) == "paid"
        assert w.sandbox.paid_count(int(wid)) == 1
        w.assert_clean()


class Crash(Exception):
    """The process dies here."""


def crash_on_submit(sandbox: SandboxPayouts, *, after_provider: bool) -> Callable[[], None]:
    """Make the next submit die before the provider hears of it, or after it accepted the
    payout but before we hear its answer; returns the undo."""
    real = sandbox.submit

    def dying(request: PayoutRequest) -> PayoutResult:
        sandbox.submit = real  # type: ignore[method-assign]
        if after_provider:
            real(request)
        raise Crash

    sandbox.submit = dying  # type: ignore[method-assign]

    def undo() -> None:
        sandbox.submit = real  # type: ignore[method-assign]

    return undo


@pytest.mark.parametrize("after_provider", [False, True])
def test_a_crash_between_submitted_and_the_answer_pays_once(
    open_w: OpenW, after_provider: bool
) -> None:
    with open_w("standard") as w:
        c = w.ready("c1", 5_000_00)
        wid = w.withdraw(c, "w", diamonds=D).json()["id"]
        undo = crash_on_submit(w.sandbox, after_provider=after_provider)
        with pytest.raises(Crash):
            w.approve(wid)  # TestClient re-raises the background task's crash
        undo()
        assert w.state(wid) == "submitted"
        assert w.sandbox.submissions(int(wid)) == (1 if after_provider else 0)
        w.later(seconds=31)  # recovery asks the provider under the same id
        # it never paid twice: the payout the provider already had (settled meanwhile) or a
        # first one now
        assert w.state(wid) == ("paid" if after_provider else "in_transit")
        w.later(seconds=31)
        assert w.state(wid) == "paid"
        assert len([k for k in w.sandbox.payouts if k == int(wid)]) == 1
        assert w.sandbox.paid_count(int(wid)) == 1
        assert w.balance("platform:cash:sandbox", "USD") == G
        w.assert_clean()


def webhook(w: WApi, body: bytes, signature: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Giftflow-Sandbox-Signature"] = signature
    return w.client.post("/v1/webhooks/payouts/sandbox", content=body, headers=headers)


def test_webhooks_apply_once_and_need_a_signature(open_w: OpenW) -> None:
    from giftflow.payouts import sandbox as sb

    with open_w("standard") as w:
        wid = start(w)
        assert w.approve(wid).status_code == 200
        assert w.state(wid) == "in_transit"
        body = sb.event_body(int(wid), PayoutStatus.SUCCESS, event_id="WH-1")
        sandbox = w.ctx.payouts["sandbox"]
        assert isinstance(sandbox, sb.SandboxPayouts)
        secret = sandbox.webhook_secret
        r = webhook(w, body, "t=1,v1=00")
        assert err(r) == (400, "invalid_signature")
        r = webhook(w, body, sb.sign(body, "sandbox-payouts", w.clock.now()))  # the old default
        assert err(r) == (400, "invalid_signature")
        assert w.state(wid) == "in_transit"
        r = webhook(w, body, sb.sign(body, secret, w.clock.now()))
        assert r.status_code == 200, r.text
        assert r.json()["outcome"] == "paid"
        assert w.state(wid) == "paid"
        r = webhook(w, body, sb.sign(body, secret, w.clock.now()))
        assert r.json()["outcome"] == "duplicate"
        late = sb.event_body(int(wid), PayoutStatus.UNCLAIMED, event_id="WH-0")
        r = webhook(w, late, sb.sign(late, secret, w.clock.now()))
        assert r.json()["outcome"] == "unchanged"  # a stale status never moves it back
        r = w.client.post(
            "/v1/webhooks/payouts/nope",
            content=b"{}",
            headers={"Content-Type": "application/json"},
        )
        assert err(r) == (404, "not_found")
        money(w, reserved=0, paid_out=G, equity=-G)
        w.assert_clean()


@pytest.mark.parametrize(
    ("status", "final"),
    [(422, "failed"), (401, "submitted"), (503, "submitted")],
)
def test_a_provider_refusal_for_good_fails_the_withdrawal(
    open_w: OpenW, status: int, final: str
) -> None:
    """A 4xx on create (PayPal refused the payout: nothing was paid) fails the withdrawal and
    gives the diamonds back; a credentials problem or a 5xx keeps it submitted for a retry."""
    with open_w("standard") as w:
        wid = start(w)
        sandbox = w.sandbox

        def refuse(request: PayoutRequest) -> PayoutResult:
            raise ProviderError(
                "PayPal answered HTTP",
                action="create_payout",
                reason="http_error",
                http_status=status,
                retryable=status >= 500,
            )

        sandbox.submit = refuse  # type: ignore[method-assign]
        assert w.approve(wid).status_code == 200
        assert w.state(wid) == final
        if final == "failed":
            assert w.money("c1")["available"] == 5_000_00
            assert w.get("c1", wid).json()["failure_reason"] == "PayPal answered HTTP"
        else:
            money(w, in_flight=G, equity=-G)
        w.assert_clean()
