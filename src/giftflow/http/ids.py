"""Ids in URLs and cursors are decimal strings of a 64-bit integer; anything else is unknown."""

from __future__ import annotations

import re

from giftflow.errors import NotFound, ValidationFailed

_ID = re.compile(r"[0-9]{1,18}")


def parse_id(value: str) -> int:
    """A path id: a malformed one is simply not found (404), like a missing one."""
    if not _ID.fullmatch(value):
        raise NotFound("No such object.", id=value[:40])
    return int(value)


def parse_cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not _ID.fullmatch(value):
        raise ValidationFailed("cursor is not valid.", cursor=value[:40])
    return int(value)
