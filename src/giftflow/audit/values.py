"""Turning what a request carried and what a loader read into JSON the audit log can keep.

``redact`` replaces the value of every field whose name looks like a secret (a second-factor
code, a card, a password, a token, a key) with ``"[redacted]"``, at any depth; ``jsonable``
turns database values (times, dates, decimals, bytes) into JSON ones; ``parse_body`` reads a
captured body as JSON, or describes it when it is not JSON.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from giftflow.clock import rfc3339

REDACTED = "[redacted]"
SECRET_NAME = re.compile(r"totp|code|secret|passw|card|token|key|otp|cvc|cvv|iban", re.I)
"""Field names whose values never reach the audit log (substrings: ``recovery_codes``,
``card_number``, ``api_key``, ``client_secret`` …). Over-redacting a harmless field is the
price of never storing a secret."""

MAX_CAPTURE = 64 * 1024
"""Bodies larger than this are summarised (``{"truncated": true, "bytes": n}``), not stored."""


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-looking field's value replaced."""
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_NAME.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def jsonable(value: Any) -> Any:
    """Database values as JSON values: aware times as RFC 3339 UTC, dates ISO, decimals and
    other scalars as strings, bytes as their length only."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return rfc3339(value) if value.tzinfo is not None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"[{len(bytes(value))} bytes]"
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if hasattr(value, "model_dump"):  # a pydantic model
        return jsonable(value.model_dump(mode="json"))
    return str(value)


def parse_body(body: bytes, size: int, content_type: str) -> Any:
    """What a request or response body was, as JSON: the parsed document, ``None`` when
    empty, a summary when too large to keep or not JSON."""
    if size == 0:
        return None
    if size > MAX_CAPTURE:
        return {"truncated": True, "bytes": size}
    try:
        return json.loads(body)
    except ValueError:
        kind = content_type.partition(";")[0].strip() or "unknown type"
        return f"[{size} bytes of {kind}]"


def dumps(value: Any) -> str | None:
    """Compact JSON text for a column (``None`` stays SQL NULL)."""
    if value is None:
        return None
    return json.dumps(jsonable(value), separators=(",", ":"), ensure_ascii=False)
