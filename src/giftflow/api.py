"""The app factory: mounts each feature's routes, starts the ledger writer, one error handler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from giftflow import __version__, metrics
from giftflow.clock import Clock, SystemClock
from giftflow.db import is_sqlite, make_engine, migration_status, sqlite_path
from giftflow.http.context import AppContext
from giftflow.http.errors import error_response, install_error_handlers
from giftflow.ledger.maintenance import PurgeIdempotencyKeys
from giftflow.ledger.pending import ExpirePending
from giftflow.ledger.routes import router as ledger_router
from giftflow.ledger.writer import LedgerWriter
from giftflow.money.routes import router as policy_router
from giftflow.process_lock import SqliteProcessLock
from giftflow.settings import Settings, get_settings
from giftflow.users.routes import router as users_router
from giftflow.wallet.routes import router as wallet_router
from giftflow.web.routes import mount_web

log = logging.getLogger("giftflow")


async def _maintenance(ctx: AppContext, every: float) -> None:
    """Void expired pending transfers and purge old idempotency keys, through the writer."""
    retention = timedelta(hours=ctx.settings.idempotency_retention_hours)
    rounds = 0
    while True:
        await asyncio.sleep(every)
        with contextlib.suppress(Exception):
            await ctx.writer.submit(ExpirePending())
            if rounds % 60 == 0:
                await ctx.writer.submit(PurgeIdempotencyKeys(retention))
        rounds += 1


class RequestMetrics:
    """Counts requests by route and status: a plain ASGI middleware (no per-request task)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.database_url
        lock = None
        db_file = sqlite_path(url)
        if db_file is not None:
            lock = SqliteProcessLock(db_file)
            lock.acquire()
        writer_engine = make_engine(url, writer=True)
        engine = make_engine(url)
        writer = LedgerWriter(
            writer_engine,
            clock,
            shard=settings.writer_shard,
            max_batch=settings.writer_max_batch,
            queue_limit=settings.writer_queue_limit,
        )
        writer.start()
        ctx = AppContext(settings=settings, engine=engine, writer=writer, clock=clock)
        app.state.giftflow = ctx
        sweeper = None
        if settings.pending_sweep_seconds > 0:
            sweeper = asyncio.create_task(_maintenance(ctx, settings.pending_sweep_seconds))
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.cancel()
            await asyncio.to_thread(writer.stop)
            engine.dispose()
            writer_engine.dispose()
            if lock is not None:
                lock.release()

    app = FastAPI(
        title="giftflow",
        version=__version__,
        description="Ledger-grade virtual-gift economy for live-streaming apps.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)

    app.add_middleware(RequestMetrics)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["operations"])
    def readyz(request: Request) -> JSONResponse:
        """The database answers, migrations are current and the ledger writer runs."""
        ctx: AppContext = request.app.state.giftflow
        checks: dict[str, str] = {}
        started = time.perf_counter()
        try:
            with ctx.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            current, head = migration_status(settings.database_url, ctx.engine)
            checks["migrations"] = "ok" if current == head else f"at {current}, head is {head}"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["writer"] = "ok" if ctx.writer.running else "stopped"
        ready = all(v == "ok" for v in checks.values())
        body = {
            "status": "ready" if ready else "not_ready",
            "checks": checks,
            "backend": "sqlite" if is_sqlite(settings.database_url) else "postgresql",
            "elapsed_ms": round((time.perf_counter() - started) * 1000),
        }
        if not ready:
            return error_response(503, "not_ready", "Not ready.", body)
        return JSONResponse(body)

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    def prometheus_metrics(request: Request) -> Response:
        ctx: AppContext = request.app.state.giftflow
        metrics.WRITER_QUEUE.set(ctx.writer.queue_depth())
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    mount_web(app)
    app.include_router(policy_router)
    app.include_router(users_router)
    app.include_router(wallet_router)
    app.include_router(ledger_router)
    return app
