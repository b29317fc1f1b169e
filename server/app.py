"""``create_app``: the FastAPI application, built from settings with everything it needs.

One database (``IMGEDIT_DATABASE_URL``; by default ``IMGEDIT_HOME/imgedit.db``) holds the
sessions' tables and the server's (tenants, keys, jobs); the blob store (``IMGEDIT_BLOB_URL``; by
default ``IMGEDIT_HOME/blobs``) holds uploads, versions and job results; the job queue starts
with the app and stops with it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

import server.models  # noqa: F401  (the server's tables, on the one Base)
from imgedit.config import Settings, get_settings
from jobs import deck
from jobs.kinds import KINDS
from server import figma
from server.auth import KeyStore
from server.context import ServerContext
from server.errors import ERROR_RESPONSES, install_error_handlers
from server.events import EventHub
from server.job_host import (
    AgentFactory,
    LocalServices,
    build_services,
    finished_job_cleanups,
    local_runners,
    worker_slots,
)
from server.logs import install_secret_filter
from server.metrics import Metrics, MetricsMiddleware
from server.ratelimit import RateLimiter
from server.routes import batches, catalog, health, sessions, ws
from server.routes import jobs as job_routes
from server.scheduler import JobQueue
from server.scheduler.local import LocalJobQueue
from server.uploads import Decoder, UploadLimitMiddleware

STATIC_DIR = Path(__file__).parent / "static"
#: The PowerPoint add-in's task pane (its manifest points at /addin/taskpane.html on this service).
ADDIN_DIR = Path(__file__).resolve().parents[1] / "plugins" / "pptx" / "addin"
log = logging.getLogger("imgedit.server")


def make_queue(settings: Settings, services: LocalServices) -> JobQueue:
    """The job queue ``IMGEDIT_QUEUE`` names: jobs run by this server's threads (``local``), or
    by ``imgedit worker`` processes behind a broker (``celery``: this server only enqueues)."""
    if settings.queue == "celery":
        from server.scheduler.celery import CeleryJobQueue

        return CeleryJobQueue(services.db, settings)
    return LocalJobQueue(
        services.db,
        local_runners(KINDS.values(), services),
        worker_slots(settings, services.editors),
        step_delay=settings.job_step_delay,
        quiet_seconds={kind.name: kind.quiet_seconds for kind in KINDS.values() if kind.quiet_seconds},
    )


def create_app(
    settings: Settings | None = None,
    *,
    agent_factory: AgentFactory | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    services = build_services(settings, agent_factory=agent_factory)
    db_engine, db, store, editors = services.db_engine, services.db, services.store, services.editors
    # With the local queue this process runs the qwen jobs (with Celery, the gpu workers do, and
    # warm up themselves): its settings are checked now, so a wrong model folder, preset or LoRA
    # stops the start, and the model is warmed up once the app starts.
    warms_up = settings.queue == "local" and editors.get(settings.engine).warms_up()
    if warms_up:
        editors.get(settings.engine).backend("qwen")
    queue = make_queue(settings, services)
    ctx = ServerContext(
        settings=settings,
        db_engine=db_engine,
        db=db,
        store=store,
        keys=KeyStore(db),
        editors=editors,
        queue=queue,
        hub=EventHub(),
        metrics=Metrics(),
        limiter=RateLimiter(settings.rate_limit_per_minute),
        login_limiter=RateLimiter(settings.failed_logins_per_minute, what="failed logins from this address"),
        decoder=Decoder(),
    )
    queue.subscribe(ctx.hub.on_job_event)
    queue.subscribe(ctx.metrics.on_job_event)
    if settings.queue == "local":
        # With Celery the worker that ran a job cleans up after it, where its files are.
        for cleanup in finished_job_cleanups(services):
            queue.subscribe(cleanup)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        install_secret_filter()  # now: uvicorn has configured its loggers by the time it starts us
        if warms_up and settings.qwen_warm_up:
            ctx.warm_up.start(editors.get(settings.engine))
        queue.start()
        if settings.queue == "local":
            deck.remove_leftover_folders(settings, queue.unfinished())
        try:
            yield
        finally:
            queue.stop()
            ctx.decoder.close()
            services.close()

    app = FastAPI(
        title="imgedit",
        version="0.1.0",
        summary="Edit images by saying what you want, in Chinese or English.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.edit_workers = services.processes
    install_error_handlers(app)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    # Auth is by bearer token, never cookies, so any origin (the Figma iframe is "null") may call.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["*"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        allow_credentials=False,
    )
    app.add_middleware(UploadLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(MetricsMiddleware, metrics=ctx.metrics)
    for module in (health, job_routes, sessions, catalog, batches, ws, figma):
        app.include_router(module.router, responses=ERROR_RESPONSES)

    @app.get("/", include_in_schema=False)
    def index() -> Any:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/addin", StaticFiles(directory=ADDIN_DIR, html=True), name="addin")
    return app
