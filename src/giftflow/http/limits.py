"""Request limits: body size, strict JSON (no duplicate keys, bounded nesting). Filled in next."""

from __future__ import annotations

from fastapi import FastAPI


def install_request_limits(app: FastAPI, max_body_bytes: int) -> None:
    """Refuse bodies over ``max_body_bytes`` (413) and JSON that is not strict (400)."""
