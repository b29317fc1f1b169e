"""``create_app``: the FastAPI application, built from settings with everything it needs.

One database (``IMGEDIT_DATABASE_URL``; by default ``IMGEDIT_HOME/imgedit.db``) holds the
sessions' tables and the server's (tenants, keys, jobs); the blob store (``IMGEDIT_BLOB_URL``; by
default ``IMGEDIT_HOME/blobs``) holds uploads, versions and job results; the job queue starts
with the app and stops with it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

import server.models  # noqa: F401  (the server's tables, on the one Base)
from engine import Editor
from imgedit.config import Settings, get_settings
from jobs import deck
from jobs.base import TurnFunction
from jobs.batch import BATCH
from jobs.editors import Editors
from jobs.kinds import KINDS
from server import figma
from server.auth import KeyStore
from server.context import ServerContext
from server.edit_workers import EditWorkerPool, processes_enabled
from server.errors import ERROR_RESPONSES, install_error_handlers
from server.events import EventHub
from server.input_cleanup import FailedInputCleaner
from server.job_host import ChatAgents, LocalServices, local_runners
from server.logs import install_secret_filter
from server.metrics import Metrics, MetricsMiddleware
from server.ratelimit import RateLimiter
from server.routes import batches, catalog, health, sessions, ws
from server.routes import jobs as job_routes
from server.scheduler import JobEvent
from server.scheduler.base import FINISHED
from server.scheduler.local import LocalJobQueue
from server.uploads import Decoder, UploadLimitMiddleware
from sessions import SessionStore, create_db_engine, create_sessionmaker, open_blob_store

STATIC_DIR = Path(__file__).parent / "static"
#: The PowerPoint add-in's task pane (its manifest points at /addin/taskpane.html on this service).
ADDIN_DIR = Path(__file__).resolve().parents[1] / "plugins" / "pptx" / "addin"
log = logging.getLogger("imgedit.server")


def default_agent_factory(store: SessionStore, editor: Editor, settings: Settings) -> TurnFunction:
    """The agent's turn function over ``store`` (imported late: the agent is optional here)."""
    from server.agent_bridge import make_turn_function

    return make_turn_function(store, editor, settings)


def worker_slots(settings: Settings, editors: Editors) -> dict[str, int]:
    """One CPU slot per core (or IMGEDIT_CLASSIC_WORKERS); GPU slots only where qwen runs."""
    cpu = settings.classic_workers or os.cpu_count() or 1
    gpu = settings.gpu_workers if editors.get(settings.engine).qwen_available() else 0
    return {"cpu": cpu, "gpu": gpu}


def create_app(
    settings: Settings | None = None,
    *,
    agent_factory: Callable[[SessionStore, Editor, Settings], TurnFunction] | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    db_engine = create_db_engine(settings=settings)
    db = create_sessionmaker(db_engine)
    store = SessionStore(db_engine, open_blob_store(settings), settings=settings)
    editors = Editors(settings)

    def chat_editor() -> Editor:
        return editors.get(settings.engine)

    slots = worker_slots(settings, editors)
    # Classic edits in worker processes (one per slot, started on the first job): the server's
    # interpreter then only does HTTP, scheduling and events (server/edit_workers.py).
    processes = (
        EditWorkerPool(settings, store.blobs.url, slots["cpu"])
        if processes_enabled(settings, os.cpu_count())
        else None
    )
    services = LocalServices(
        settings=settings,
        store=store,
        db=db,
        editors=editors,
        agents=ChatAgents(lambda: (agent_factory or default_agent_factory)(store, chat_editor(), settings)),
        processes=processes,
    )
    queue = LocalJobQueue(
        db,
        local_runners(KINDS.values(), services),
        slots,
        step_delay=settings.job_step_delay,
        quiet_seconds={kind.name: kind.quiet_seconds for kind in KINDS.values() if kind.quiet_seconds},
    )
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

    def remove_deck_folder(event: JobEvent) -> None:
        """A deck or batch job's work folder goes once the job is over (a re-queued job keeps it to
        resume)."""
        kinds = (deck.DECK.name, BATCH.name)
        if event.job.kind in kinds and event.type == "job" and event.job.status in FINISHED:
            deck.remove_job_folder(settings, event.job.id)

    queue.subscribe(remove_deck_folder)
    queue.subscribe(FailedInputCleaner(db_engine, store.blobs).on_job_event)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        install_secret_filter()  # now: uvicorn has configured its loggers by the time it starts us
        queue.start()
        deck.remove_leftover_folders(settings, queue.unfinished())
        try:
            yield
        finally:
            queue.stop()
            ctx.decoder.close()
            if processes is not None:
                processes.close()
            db_engine.dispose()  # a PostgreSQL server counts its connections

    app = FastAPI(
        title="imgedit",
        version="0.1.0",
        summary="Edit images by saying what you want, in Chinese or English.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.edit_workers = processes
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
