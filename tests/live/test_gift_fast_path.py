"""``POST /v1/lives/{id}/gifts`` answers exactly as its FastAPI endpoint does, on the short way
(``giftflow.live.gifting.fast``) as on the long one: the same statuses, bodies and headers for
good gifts, replays and every malformed request, the same idempotency scope and fingerprint (a
key first used on one way is replayed on the other), and user tokens remembered only while valid.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from giftflow.auth import deps
from giftflow.auth.tokencache import VerifiedTokens
from giftflow.auth.tokens import mint_user_token
from giftflow.clock import FrozenClock
from giftflow.errors import Unauthenticated
from giftflow.live.gifting import fast
from giftflow.live.gifting.fast import GiftRoute
from tests.api.conftest import SECRET
from tests.live.conftest import LiveApi, OpenLive

JSON = "application/json"


def _calls(
    api: LiveApi, live: str, creator: str, who: str
) -> list[tuple[str, dict[str, str], bytes]]:
    """(path, headers, body) of every kind of request the route can get, for viewer ``who``."""
    good = b'{"gift_id":"rose","count":1}'
    user = api.user(who)["Authorization"]
    short = mint_user_token(who, SECRET, api.clock.now(), 1)
    path = f"/v1/lives/{live}/gifts"

    def h(key: str | None = "k", auth: str | None = user, ctype: str | None = JSON) -> Any:
        out = {}
        if auth is not None:
            out["Authorization"] = auth
        if ctype is not None:
            out["Content-Type"] = ctype
        if key is not None:
            out["Idempotency-Key"] = key
        return out

    calls = [
        (path, h("g1"), good),
        (path, h("g1"), good),  # replayed
        (path, h("g1"), b'{"count":1,"gift_id":"rose"}'),  # the same request: replayed
        (path, h("g1"), b'{"gift_id":"rose"}'),  # count 1 by default: the same request
        (path, h("g1"), b'{"gift_id":"panda","count":1}'),  # idempotency_key_reused
        (path, h("g2"), b'{"gift_id":"panda","count":2}'),
        (path, h("g3"), b'{ "gift_id" : "rose" , "count" : 3 }'),
        (path, h("  g4  "), good),  # the key is stripped
        (path + "?x=1&a=2", h("g5"), good),  # the query is part of the fingerprint
        (path, h("g6", ctype="application/merge-patch+json; charset=utf-8"), good),
        (path, h("g7"), b'{"gift_id":"unicorn","count":1}'),  # unknown_gift, from the writer
        (path, h("g8"), b'{"gift_id":"rose","count":101}'),  # over the policy's maximum
        (f"/v1/lives/{int(live) + 1000}/gifts", h("g9"), good),  # no such live
        ("/v1/lives/abc/gifts", h("g10"), good),
        ("/v1/lives/0/gifts", h("g10"), good),
        (path, h(None), good),  # idempotency_key_required
        (path, h("   "), good),
        (path, h("x" * 256), good),
        (path, h("x" * 255), good),
        (path, h("b1", auth=None), good),
        (path, h("b2", auth="Basic abc"), good),
        (path, h("b3", auth="Bearer "), good),
        (path, h("b4", auth="Bearer not.a.token"), good),
        (path, h("b5", auth="Bearer " + api.platform_key), good),  # forbidden: not a user
        (path, h("b6", auth="Bearer gfk_unknown"), good),
        (path, h("b7", auth=api.user(creator)["Authorization"]), good),  # self_gift
        (path, h("b8", auth=api.user("ghost")["Authorization"]), good),  # user_not_found
        (path, h("b9", auth="bearer " + short), good),
    ]
    for n, body in enumerate(
        [
            b'{"gift_id":"rose","count":0}',
            b'{"gift_id":"rose","count":"2"}',
            b'{"gift_id":"rose","count":true}',
            b'{"gift_id":"rose","count":1.0}',
            b'{"gift_id":"rose","count":null}',
            b'{"gift_id":"Rose!"}',
            b'{"gift_id":5}',
            b'{"gift_id":"rose","to":"c1"}',
            b'{"gift_id":"rose","count":1,"gift_id":"panda"}',  # duplicate key: invalid_json
            b"{}",
            b"[]",
            b'"rose"',
            b"null",
            b"1",
            b"{",
            b"",
        ]
    ):
        calls.append((path, h(f"v{n}"), body))
    calls += [
        (path, h("m1", ctype=None), good),
        (path, h("m2", ctype="text/plain"), good),
        (path, h("m3", ctype=None), b""),
        (path, h("m4", ctype="text/plain"), b""),
    ]
    return calls


# ids and times differ between the two lives; ``seq`` too once other features append room
# events of their own (a leaderboard update may land between two gifts)
_VARYING = frozenset({"transaction_id", "live_id", "combo_id", "created_at", "id", "seq"})


def _alike(value: Any) -> Any:
    """``value`` with the ids and times that differ between two lives made alike blanked."""
    if isinstance(value, dict):
        return {k: "…" if k in _VARYING else _alike(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_alike(v) for v in value]
    return value


def _seen(r: httpx.Response) -> dict[str, Any]:
    """What a client sees (status, headers that matter, body), ids blanked."""
    headers = {
        k: v
        for k, v in r.headers.items()
        if k.lower()
        in ("content-type", "idempotent-replayed", "retry-after", "www-authenticate", "allow")
    }
    try:
        body: Any = _alike(r.json())
    except ValueError:
        body = r.text
    return {"status": r.status_code, "headers": headers, "body": body}


def _run(api: LiveApi, prefix: str) -> list[dict[str, Any]]:
    creator, viewer = f"{prefix}c", f"{prefix}v"
    api.creator(creator)
    api.viewer(viewer, coins=1000)
    live = api.start(creator)
    out = []
    for path, headers, body in _calls(api, live, creator, viewer):
        r = api.client.post(path, content=body, headers=headers)
        out.append(_seen(r))
    api.clock.advance(timedelta(seconds=60))  # the short token has expired
    r = api.client.post(
        f"/v1/lives/{live}/gifts",
        content=b'{"gift_id":"rose"}',
        headers={
            "Authorization": "Bearer " + mint_user_token(viewer, SECRET, api.clock.now(), 1),
            "Content-Type": JSON,
            "Idempotency-Key": "late",
        },
    )
    out.append(_seen(r))
    return out


def test_the_short_way_answers_as_the_endpoint(
    open_live: OpenLive, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[str] = []
    idempotency = fast._idempotency

    def spy(scope: Any, req: Any) -> Any:
        taken.append(req.key)
        return idempotency(scope, req)

    monkeypatch.setattr(fast, "_idempotency", spy)
    with open_live("seed-002") as api:
        short = _run(api, "a")
        # the well-formed requests went the short way, the others were handed to the endpoint
        assert taken[:4] == ["g1"] * 4 and "v0" not in taken and "b1" not in taken
        assert {"g2", "g3", "  g4  ", "g5", "g6", "g7", "g9", "x" * 255} <= set(taken)
        with monkeypatch.context() as m:
            m.setattr(GiftRoute, "handle", APIRoute.handle)
            long = _run(api, "b")
        assert len(short) == len(long)
        for n, (s, lg) in enumerate(zip(short, long, strict=True)):
            assert s == lg, (n, s, lg)
        assert short[0]["status"] == 201 and short[1]["headers"]["idempotent-replayed"] == "true"
        api.assert_clean()


def test_a_key_is_the_same_on_both_ways(
    open_live: OpenLive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The short way and the endpoint store and find a key under the same scope and
    fingerprint: a retry taking the other way is a replay, not a reused key."""
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=100)
        live = api.start("c1")
        first = api.gift("v1", live, "panda", 2, idem="k1")
        assert first.status_code == 201
        with monkeypatch.context() as m:
            m.setattr(GiftRoute, "handle", APIRoute.handle)
            again = api.gift("v1", live, "panda", 2, idem="k1")
            assert again.headers["Idempotent-Replayed"] == "true"
            assert again.json() == first.json()
            other = api.gift("v1", live, "rose", 1, idem="k2")
            assert other.status_code == 201
        assert api.gift("v1", live, "rose", 1, idem="k2").json() == other.json()
        assert api.gift("v1", live, "rose", 2, idem="k2").json()["error"]["code"] == (
            "idempotency_key_reused"
        )
        assert api.coins("v1") == 100 - 10 - 1


def test_a_remembered_token_still_expires(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=100)
        live = api.start("c1")
        token = mint_user_token("v1", SECRET, api.clock.now(), 60)
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "t1"}
        url = f"/v1/lives/{live}/gifts"
        assert api.client.post(url, json={"gift_id": "rose"}, headers=headers).status_code == 201
        assert token in deps.USER_TOKENS._entries
        api.clock.advance(timedelta(seconds=60 + 30))  # exp + leeway: still valid
        headers["Idempotency-Key"] = "t2"
        assert api.client.post(url, json={"gift_id": "rose"}, headers=headers).status_code == 201
        api.clock.advance(timedelta(seconds=1))
        headers["Idempotency-Key"] = "t3"
        r = api.client.post(url, json={"gift_id": "rose"}, headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["details"]["reason"] == "expired"
        assert token not in deps.USER_TOKENS._entries
        assert api.coins("v1") == 98


def test_the_token_memory_is_bounded_and_keyed_by_secret() -> None:
    clock = FrozenClock()
    now = clock.now()
    cache = VerifiedTokens(max_entries=3)
    tokens = [mint_user_token(f"u{i}", SECRET, now, 60) for i in range(5)]
    assert [cache.verify(t, SECRET, now, 30, max_ttl_seconds=900) for t in tokens] == [
        f"u{i}" for i in range(5)
    ]
    assert len(cache) == 3  # the oldest went
    # another secret, or a shorter maximum lifetime, never matches what was remembered
    other = "another-secret-another-secret-another-secret"
    with pytest.raises(Unauthenticated):
        cache.verify(tokens[-1], other, now, 30, max_ttl_seconds=900)
    with pytest.raises(Unauthenticated) as caught:
        cache.verify(tokens[-1], SECRET, now, 30, max_ttl_seconds=30)
    assert caught.value.details["reason"] == "lifetime_too_long"
    # issued in the future as the clock sees it now (a clock moved back): refused again
    with pytest.raises(Unauthenticated) as caught:
        cache.verify(tokens[-1], SECRET, now - timedelta(minutes=5), 30, max_ttl_seconds=900)
    assert caught.value.details["reason"] == "issued_in_future"
    # when full, expired entries make room first (the fresh ones stay)
    later = now + timedelta(minutes=5)
    fresh = [mint_user_token(f"f{i}", SECRET, later, 60) for i in range(2)]
    for token in fresh:
        cache.verify(token, SECRET, later, 30, max_ttl_seconds=900)
    assert len(cache) == 2
    assert [cache.verify(t, SECRET, later, 30, max_ttl_seconds=900) for t in fresh] == ["f0", "f1"]
