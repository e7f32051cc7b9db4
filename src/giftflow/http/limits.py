"""Request limits: a maximum body size and strict JSON, enforced before any route runs.

``RequestLimits`` is a plain ASGI middleware (no ``BaseHTTPMiddleware``: that costs a task per
request). For every HTTP request it

- refuses a ``Content-Length`` above the limit at once (413 ``request_too_large``), before reading
  a byte, so a client waiting on ``Expect: 100-continue`` is told without sending the body;
- reads the body itself and counts the bytes that really arrive, so a chunked body or a
  ``Content-Length`` that lies is cut off at the limit just the same (413);
- refuses a non-empty body that is not declared as JSON (``application/json`` or
  ``application/*+json``): every giftflow route that takes a body takes JSON (415
  ``unsupported_media_type``);
- parses a JSON body strictly (``strict_json_loads``) and refuses what is not strict JSON with
  400 ``invalid_json`` and a ``details.reason``: ``encoding`` (not UTF-8, or a byte order mark),
  ``syntax`` (including ``NaN``/``Infinity``, which are not JSON), ``duplicate_key``,
  ``too_deep`` (over ``MAX_DEPTH`` nested arrays/objects), ``number_too_long`` (a number literal
  over ``MAX_NUMBER_CHARS`` characters), ``number_out_of_range`` (a float that overflows to
  infinity) and ``lone_surrogate`` (a ``\\uD800``-style escape that is not half of a pair: it
  cannot be stored as text);
- then hands the body, unchanged, to the app.

The console's sign-in and sign-out forms (``form_paths``) are the one exception: they may post
``application/x-www-form-urlencoded`` (still size-limited).

Why here, and what it costs: FastAPI 0.163 parses a body inside its route handler with the
standard ``request.json()`` on a ``Request`` it makes itself, and offers no hook to hand it a
parsed value short of a custom ``APIRoute`` class on every router. A middleware covers every route,
present and future, by default; the price is that FastAPI parses the body a second time, with the
C ``json.loads``. Measured (CPython 3.11): a 155-byte transfer body takes 3.3 µs in
``strict_json_loads`` against 2.6 µs in ``json.loads``, and the whole middleware adds about 5 µs
to such a request (1.5 µs to one without a body), next to roughly 6 ms for a value request end to
end; a 5 KiB body (50 postings) costs 62 µs against 25 µs.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from fastapi import FastAPI
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from giftflow.errors import GiftflowError, InvalidJson, RequestTooLarge, UnsupportedMediaType

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects accepted (``{"a": [1]}`` has depth 2)."""

MAX_NUMBER_CHARS = 100
"""Longest number literal accepted, sign, fraction and exponent included."""

# The skeleton of a body: everything but brackets and quotes deleted, braces made square.
_NOT_SKELETON = bytes(b for b in range(256) if b not in b'[]{}"')
_SQUARE = bytes.maketrans(b"{}", b"[]")
# A JSON string (used only when the body holds an escaped quote, see nesting_depth).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# A string in the skeleton: nothing but brackets between two quotes.
_QUOTED = re.compile(rb'"[^"]*"')
# A \u escape of a UTF-16 surrogate: only then can a parsed string hold a lone one.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:  # pragma: no branch - a duplicate is always found
            if key in seen:
                raise InvalidJson(
                    f"The key {key[:100]!r} appears twice in one object.",
                    reason="duplicate_key",
                    key=key[:100],
                )
            seen.add(key)
    return obj


def _number_too_long() -> InvalidJson:
    return InvalidJson(
        f"A number is longer than {MAX_NUMBER_CHARS} characters.",
        reason="number_too_long",
        limit=MAX_NUMBER_CHARS,
    )


def _int(literal: str) -> int:
    if len(literal) > MAX_NUMBER_CHARS:
        raise _number_too_long()
    return int(literal)


def _float(literal: str) -> float:
    if len(literal) > MAX_NUMBER_CHARS:
        raise _number_too_long()
    value = float(literal)
    if math.isinf(value):
        raise InvalidJson(
            f"The number {literal[:40]} is too large for a double.", reason="number_out_of_range"
        )
    return value


def _constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not JSON.", reason="syntax", token=name)


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object, parse_int=_int, parse_float=_float, parse_constant=_constant
)


def nesting_depth(body: bytes, limit: int = MAX_DEPTH) -> int:
    """How deeply arrays and objects nest in ``body``, counted up to ``limit + 1``.

    Exact for valid JSON: brackets inside strings are not counted. Everything but brackets and
    quotes is deleted in one C-level ``translate``; string regions are then dropped (a string is
    the text between consecutive quotes once no escaped quote is left, and removing any two
    adjacent quotes keeps that pairing); each ``replace`` pass then removes the innermost, now
    empty, containers, so the number of passes is the depth.
    """
    if b'\\"' in body:  # an escaped quote: strip strings properly first (rare)
        body = _STRING.sub(b"", body)
    skeleton = body.translate(_SQUARE, _NOT_SKELETON)
    if b'"' in skeleton:
        skeleton = skeleton.replace(b'""', b"")  # strings without brackets in them
        if b'"' in skeleton:
            skeleton = _QUOTED.sub(b"", skeleton)
    depth = 0
    while skeleton and depth <= limit:
        inner = skeleton.replace(b"[]", b"")
        if len(inner) == len(skeleton):
            break  # unbalanced: the parser reports the syntax error
        depth += 1
        skeleton = inner
    return depth


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def strict_json_loads(body: bytes) -> Any:
    """Parse ``body`` as strict JSON (RFC 8259, UTF-8) or raise ``InvalidJson`` with a reason."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJson("The body is not UTF-8.", reason="encoding", position=exc.start) from None
    if text.startswith("\ufeff"):
        raise InvalidJson("The body starts with a byte order mark.", reason="encoding", position=0)
    # Depth can only pass the limit if there are more opening brackets than the limit.
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and nesting_depth(body) > MAX_DEPTH:
        raise _too_deep()
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise InvalidJson(
            f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).",
            reason="syntax",
            position=exc.pos,
            line=exc.lineno,
            column=exc.colno,
        ) from None
    except RecursionError:  # unbalanced and deeper than the interpreter's stack
        raise _too_deep() from None
    except ValueError:  # the interpreter's own limits on numbers, should the hooks not catch it
        raise _number_too_long() from None
    if _SURROGATE_ESCAPE.search(body) and _has_lone_surrogate(value):
        raise InvalidJson(
            "A \\u escape is half of a UTF-16 surrogate pair, which is not text.",
            reason="lone_surrogate",
        )
    return value


def _too_deep() -> InvalidJson:
    return InvalidJson(
        f"Arrays and objects nest deeper than {MAX_DEPTH} levels.",
        reason="too_deep",
        limit=MAX_DEPTH,
    )


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or ``application/<anything>+json``, parameters ignored.

    The same test FastAPI applies before it parses a body as JSON.
    """
    media_type = content_type.partition(";")[0].strip().lower()
    main, slash, sub = media_type.partition("/")
    return (
        bool(slash)
        and main == "application"
        and "/" not in sub
        and (sub == "json" or sub.endswith("+json"))
    )


FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


class RequestLimits:
    """Body size limit and strict JSON for every HTTP request, as a plain ASGI middleware."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, form_paths: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.form_paths = form_paths  # HTML forms posted here may be urlencoded, not JSON

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = ""
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value.strip()
                if declared.isdigit() and (
                    len(declared) > 19 or int(declared) > self.max_body_bytes
                ):
                    await self._refuse(scope, send, self._too_large(), close=True)
                    return
            elif name == b"content-type":
                content_type = value.decode("latin-1")

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay(message, receive), send)
                return
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._refuse(scope, send, self._too_large(), close=True)
                return
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)

        if body and not (
            scope["path"] in self.form_paths and content_type.startswith(FORM_MEDIA_TYPE)
        ):
            try:
                if not is_json_media_type(content_type):
                    raise UnsupportedMediaType(content_type=content_type[:100])
                strict_json_loads(body)
            except (InvalidJson, UnsupportedMediaType) as exc:
                await self._refuse(scope, send, exc, close=False)
                return
        request: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay(request, receive), send)

    def _too_large(self) -> RequestTooLarge:
        return RequestTooLarge(
            f"The request body is larger than {self.max_body_bytes} bytes.",
            limit=self.max_body_bytes,
        )

    @staticmethod
    async def _refuse(scope: Scope, send: Send, error: GiftflowError, *, close: bool) -> None:
        headers = error.headers()
        if close:  # the rest of the body is never read: the connection cannot be reused
            headers["Connection"] = "close"
        response = JSONResponse(error.to_body(), status_code=error.status, headers=headers)
        await response(scope, _no_receive, send)


async def _no_receive() -> Message:  # pragma: no cover - a JSONResponse never reads
    return {"type": "http.disconnect"}


def _replay(first: Message, receive: Receive) -> Receive:
    """A ``receive`` that hands out ``first`` once, then the server's own messages."""
    pending: list[Message] = [first]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay


def install_request_limits(
    app: FastAPI, max_body_bytes: int, form_paths: frozenset[str] = frozenset()
) -> None:
    """Refuse bodies over ``max_body_bytes`` (413) and JSON that is not strict (400); the
    console's ``form_paths`` may also take an urlencoded HTML form."""
    app.add_middleware(RequestLimits, max_body_bytes=max_body_bytes, form_paths=form_paths)
