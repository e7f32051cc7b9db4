"""Request limits: bodies over the maximum are refused (413) whether or not they say their size,
and a body that is not strict JSON is refused (400 invalid_json, with a reason) before any route
runs, so nothing moves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from giftflow.errors import InvalidJson
from giftflow.http.limits import (
    MAX_DEPTH,
    MAX_NUMBER_CHARS,
    is_json_media_type,
    nesting_depth,
    strict_json_loads,
)

from .conftest import Api

LIMIT = 65536  # Settings.max_request_bytes, the default the api fixture runs with
JSON = {"Content-Type": "application/json"}


def posting(destination: str, amount: int = 5) -> dict[str, object]:
    return {
        "source": "platform:equity:grants",
        "destination": destination,
        "asset": "COIN",
        "amount": amount,
    }


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    assert set(body) == {"code", "message", "details"}
    return body


def nested(depth: int) -> str:
    """A JSON value with ``depth`` nested arrays and objects (``[{"a": [...]}]``)."""
    text = "1"
    for level in range(depth):
        text = f"[{text}]" if level % 2 else f'{{"a": {text}}}'
    return text


# --- the parser on its own ---------------------------------------------------------------
def reason(body: bytes) -> str:
    with pytest.raises(InvalidJson) as caught:
        strict_json_loads(body)
    value: str = caught.value.details["reason"]
    return value


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"a": 1, "a": 2}', "duplicate_key"),
        (b'{"a": {"b": 1, "c": 2, "b": 3}}', "duplicate_key"),
        (nested(MAX_DEPTH + 1).encode(), "too_deep"),
        (b"[" * 100_000, "too_deep"),  # unbalanced and deeper than the interpreter's stack
        (b'{"n": ' + b"9" * 5000 + b"}", "number_too_long"),
        (b'{"n": -' + b"9" * MAX_NUMBER_CHARS + b"}", "number_too_long"),
        (b'{"n": 0.' + b"1" * MAX_NUMBER_CHARS + b"}", "number_too_long"),
        (b'{"n": 1e400}', "number_out_of_range"),
        (b'{"n": NaN}', "syntax"),
        (b'{"n": -Infinity}', "syntax"),
        (b'{"a": 1', "syntax"),
        (b'{"a": 1} x', "syntax"),
        (b"  ", "syntax"),
        (b'{"a": "\xff"}', "encoding"),
        (b'\xef\xbb\xbf{"a": 1}', "encoding"),
        ('{"a": 1}'.encode("utf-16"), "encoding"),
        (b'{"a": "\\ud800"}', "lone_surrogate"),
        (b'{"\\udc00": 1}', "lone_surrogate"),
        (b'["x\\ud83d"]', "lone_surrogate"),
    ],
)
def test_strict_parser_refuses_with_a_reason(body: bytes, expected: str) -> None:
    assert reason(body) == expected


def test_strict_parser_accepts_strict_json() -> None:
    body = {
        "a": [1, -2.5, "x", None, True, {"b": '[{\\"]}'}],
        "emoji": "\U0001f381",
        "n": int("9" * MAX_NUMBER_CHARS),
    }
    assert strict_json_loads(json.dumps(body).encode()) == body
    assert strict_json_loads(json.dumps(body, ensure_ascii=False).encode()) == body
    assert strict_json_loads(b'"\\ud83c\\udf81"') == "\U0001f381"  # a surrogate pair is fine
    assert strict_json_loads(nested(MAX_DEPTH).encode()) is not None


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("[]", 1),
        ("[[], [[]], {}]", 3),
        ('{"a": "[[[[[[", "b": ["]]]]"]}', 2),  # brackets in strings do not count
        ('["\\"[[[", {"k\\\\": [[]]}]', 4),  # escaped quotes and backslashes
        (nested(40), 33),  # counted only up to limit + 1
    ],
)
def test_nesting_depth_ignores_strings(text: str, depth: int) -> None:
    assert nesting_depth(text.encode()) == depth


@pytest.mark.parametrize(
    ("content_type", "is_json"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/merge-patch+json", True),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        ("application/json/x", False),
        ("", False),
    ],
)
def test_json_media_types(content_type: str, is_json: bool) -> None:
    assert is_json_media_type(content_type) is is_json


# --- through the app, on each database ---------------------------------------------------
def test_body_over_the_limit_with_content_length_is_413(api: Api) -> None:
    body = json.dumps({"postings": [posting("user:big:coins")], "memo": "x" * LIMIT}).encode()
    r = api.client.post("/v1/admin/transfers", content=body, headers={**api.admin("big"), **JSON})
    assert r.status_code == 413
    assert error(r)["code"] == "request_too_large"
    assert error(r)["details"] == {"limit": LIMIT}


def test_body_at_the_limit_is_read(api: Api) -> None:
    body = b'{"memo": "' + b"x" * (LIMIT - 12) + b'"}'
    assert len(body) == LIMIT
    r = api.client.post("/v1/admin/transfers", content=body, headers={**api.admin("at"), **JSON})
    assert r.status_code == 422  # parsed and validated: no postings, memo too long
    assert error(r)["code"] == "validation_error"


def test_chunked_body_over_the_limit_is_413(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"memo": "'
        for _ in range(LIMIT // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    r = api.client.post(
        "/v1/admin/transfers", content=chunks(), headers={**api.admin("chunked"), **JSON}
    )
    assert "content-length" not in r.request.headers
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert r.status_code == 413
    assert error(r)["code"] == "request_too_large"


def asgi_post(
    api: Api, headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> tuple[int, Any, int]:
    """POST /v1/admin/transfers straight into the ASGI app, one message per chunk.

    Returns the status, the JSON body and how many chunks the app read.
    """
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read < len(messages):
            read += 1
            return messages[read - 1]
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/admin/transfers",
        "raw_path": b"/v1/admin/transfers",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    asyncio.run(api.client.app(scope, receive, send))  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), read


def test_a_lying_content_length_is_cut_off_at_the_limit(api: Api) -> None:
    auth = (b"authorization", f"Bearer {api.admin_key}".encode())
    headers = [auth, (b"content-type", b"application/json"), (b"content-length", b"10")]
    chunks = [b'{"memo": "'] + [b"x" * 4096] * 100 + [b'"}']
    status, body, read = asgi_post(api, headers, chunks)
    assert status == 413 and body["error"]["code"] == "request_too_large"
    assert read == 1 + LIMIT // 4096  # it stopped reading at the chunk that passed the limit


def test_a_declared_length_over_the_limit_is_refused_before_reading(api: Api) -> None:
    auth = (b"authorization", f"Bearer {api.admin_key}".encode())
    headers = [auth, (b"content-type", b"application/json"), (b"content-length", b"1000000")]
    status, body, read = asgi_post(api, headers, [b"{}"])
    assert status == 413 and body["error"]["code"] == "request_too_large"
    assert read == 0


def coins(api: Api, user_id: str) -> list[dict[str, Any]]:
    r = api.client.get(
        "/v1/admin/balances", params={"path": f"user:{user_id}:coins"}, headers=api.admin()
    )
    assert r.status_code == 200, r.text
    balances: list[dict[str, Any]] = r.json()["balances"]
    return balances


def test_duplicate_keys_are_refused_and_nothing_moves(api: Api) -> None:
    api.grant("user:dupe:coins", 10, "seed-dupe")  # creates the user first
    before = coins(api, "dupe")
    one, two = (
        json.dumps([posting("user:dupe:coins", 5)]),
        json.dumps([posting("user:dupe:coins", 7)]),
    )
    body = f'{{"postings": {one}, "postings": {two}}}'
    r = api.client.post(
        "/v1/admin/transfers", content=body, headers={**api.admin("dupe-1"), **JSON}
    )
    assert r.status_code == 400, r.text
    assert error(r)["code"] == "invalid_json"
    assert error(r)["details"] == {"reason": "duplicate_key", "key": "postings"}
    assert coins(api, "dupe") == before
    # a 400 is not stored: the same key still works for a valid request
    r = api.client.post(
        "/v1/admin/transfers",
        json={"postings": [posting("user:dupe:coins", 5)]},
        headers=api.admin("dupe-1"),
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"postings": [], "metadata": ' + nested(MAX_DEPTH) + "}", "too_deep"),
        ('{"postings": [{"amount": ' + "9" * 5000 + "}]}", "number_too_long"),
        ('{"postings": [', "syntax"),
        ('{"postings": [], "memo": NaN}', "syntax"),
        ('{"postings": [], "memo": "\\ud800"}', "lone_surrogate"),  # a 500 before
    ],
)
def test_json_that_is_not_strict_is_400_invalid_json(api: Api, body: str, expected: str) -> None:
    r = api.client.post("/v1/admin/transfers", content=body, headers={**api.admin("j"), **JSON})
    assert r.status_code == 400, r.text
    assert error(r)["code"] == "invalid_json"
    assert error(r)["details"]["reason"] == expected


def test_nesting_at_the_limit_reaches_validation(api: Api) -> None:
    body = '{"postings": [], "metadata": ' + nested(MAX_DEPTH - 1) + "}"  # depth 32 in all
    r = api.client.post("/v1/admin/transfers", content=body, headers={**api.admin("d"), **JSON})
    assert r.status_code == 422 and error(r)["code"] == "validation_error"


def test_syntax_error_says_where(api: Api) -> None:
    r = api.client.put(
        "/v1/users/u1", content='{"display_name": }', headers={**api.platform(), **JSON}
    )
    assert r.status_code == 400
    assert error(r)["details"] == {"reason": "syntax", "position": 17, "line": 1, "column": 18}


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_declared_json_is_refused(api: Api, content_type: str | None) -> None:
    headers = api.platform()
    if content_type:
        headers["Content-Type"] = content_type
    r = api.client.put("/v1/users/u1", content=b'{"display_name": "x"}', headers=headers)
    assert r.status_code == 415, r.text
    assert error(r)["code"] == "unsupported_media_type"
    assert api.client.get("/v1/users/u1", headers=api.platform()).status_code == 404


def test_requests_without_a_body_pass(api: Api) -> None:
    assert api.client.get("/healthz").status_code == 200
    r = api.client.put("/v1/users/u2", json={"display_name": "Ann"}, headers=api.platform())
    assert r.status_code == 201, r.text
