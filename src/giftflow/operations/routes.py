"""GET /healthz, /readyz and /metrics: what load balancers and Prometheus ask."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from giftflow import __version__, metrics
from giftflow.context import AppContext, get_context
from giftflow.http.errors import error_response
from giftflow.operations.schemas import HealthOut, ReadyOut
from giftflow.operations.service import readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=HealthOut)
async def healthz() -> HealthOut:
    """The process is up."""
    return HealthOut(status="ok", version=__version__)


@router.get("/readyz", response_model=ReadyOut, responses={503: {"description": "Not ready"}})
def readyz(ctx: AppContext = Depends(get_context)) -> JSONResponse:
    """The database answers, migrations are current and the ledger writer runs."""
    ready, body = readiness(ctx)
    if not ready:
        return error_response(503, "not_ready", "Not ready.", body)
    return JSONResponse(body)


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(ctx: AppContext = Depends(get_context)) -> Response:
    metrics.WRITER_QUEUE.set(ctx.writer.queue_depth())
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
