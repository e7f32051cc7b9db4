"""The OpenAPI document, made to tell the truth. Filled in next."""

from __future__ import annotations

from fastapi import FastAPI


def install_openapi(app: FastAPI) -> None:
    """Security schemes, the Idempotency-Key header and the real error body on every route."""
