"""Content negotiation shared by report endpoints: JSON by default, CSV when asked for."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

CSV = "text/csv"


def report_response(
    request: Request, *, csv: Callable[[], str], filename: str, json: Callable[[], dict[str, Any]]
) -> Response:
    """A report as CSV (an attachment named ``filename``) when the caller's ``Accept`` prefers
    it, else as JSON; only the chosen form is rendered."""
    if wants_csv(request.headers.get("accept", "")):
        return Response(
            csv(),
            media_type=f"{CSV}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return JSONResponse(json())


def wants_csv(accept: str) -> bool:
    """Whether an ``Accept`` header prefers ``text/csv`` to ``application/json`` (JSON is the
    default: for a missing header, ``*/*`` or anything else)."""
    quality = {CSV: 0, "application/json": 0}  # in thousandths (q has at most 3 decimals)
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1000
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                q = _thousandths(value.strip())
        media = media.lower()
        if media in quality:
            quality[media] = max(quality[media], q)
    return quality[CSV] > 0 and quality[CSV] >= quality["application/json"]


def _thousandths(value: str) -> int:
    """An RFC 9110 quality value ("0.8", "1", "0.125") in thousandths; 0 if malformed."""
    if not re.fullmatch(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?", value):
        return 0
    whole, _, frac = value.partition(".")
    return int(whole) * 1000 + int((frac + "000")[:3])
