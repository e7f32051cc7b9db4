"""Provider webhooks: verify, normalise, hand to the registered sink (to be filled in)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/webhooks", tags=["payments"])
