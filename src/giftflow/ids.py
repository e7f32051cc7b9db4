"""Identifiers shared by every layer: the platform's user ids and the pattern they follow.

A user id is chosen by the platform: 1–64 characters of ``A–Z a–z 0–9 _ . -``. The chart of
accounts embeds it in paths (``user:{id}:coins``), tokens carry it in ``sub``, and routes take it
in paths; all three use this one definition.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

USER_ID_CHARS = r"[A-Za-z0-9_.\-]{1,64}"
USER_ID_PATTERN = re.compile(USER_ID_CHARS)

UserId = Annotated[str, StringConstraints(pattern=f"^{USER_ID_CHARS}$")]


def is_user_id(value: object) -> bool:
    return isinstance(value, str) and USER_ID_PATTERN.fullmatch(value) is not None
