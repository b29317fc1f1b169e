"""Runs the job layer's kinds on this process's scheduler: the ``JobContext`` of a local job.

The scheduler (server/scheduler/) knows jobs as JSON and runners; the job layer (jobs/) knows
typed params and ``run(params, ctx)``. This module joins them for jobs run in the server process:
each kind's runner reads its params back into the kind's ``Params`` model and gives it a
``LocalJobContext``. A Celery worker (server/scheduler/celery/worker.py) runs the same kinds with
the same context, over services built by the same ``build_services``: whichever process runs a
job, it runs it alike.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from engine import Editor
from engine.types import CancelToken
from imgedit.config import Settings
from imgedit.errors import ImgEditError
from jobs import deck
from jobs.base import JobKind, JobOutcome, TurnFunction
from jobs.batch import BATCH
from jobs.edit import EditProduct, EditTask, perform_edit
from jobs.editors import Editors
from server.edit_workers import EditWorkerPool, processes_enabled
from server.errors import AgentUnavailableError
from server.input_cleanup import FailedInputCleaner
from server.scheduler import JobEvent, JobInfo, RunControl, Runner
from server.scheduler.base import FINISHED, JobListener
from sessions import SessionStore, create_db_engine, create_sessionmaker, open_blob_store

#: Builds the agent's turn function over a store, an editor and settings (tests give their own).
AgentFactory = Callable[[SessionStore, Editor, Settings], TurnFunction]


class ChatAgents:
    """The agent's turn function, built on the first chat turn (the agent is optional here).

    If the agent package is missing or broken the turn fails with ``agent_unavailable`` (503) and
    everything else keeps working.
    """

    def __init__(self, factory: Callable[[], TurnFunction]) -> None:
        self.factory = factory
        self._turn: TurnFunction | None = None
        self._lock = threading.Lock()

    def get(self) -> TurnFunction:
        with self._lock:
            if self._turn is None:
                try:
                    self._turn = self.factory()
                except ImgEditError:
                    raise
                except Exception as exc:
                    raise AgentUnavailableError(
                        f"The chat agent is not available on this server ({type(exc).__name__}: {exc}).",
                        hint="Use POST /v1/sessions/{id}/edits for direct edits meanwhile.",
                    ) from exc
            return self._turn


def default_agent_factory(store: SessionStore, editor: Editor, settings: Settings) -> TurnFunction:
    """The agent's turn function over ``store`` (imported late: the agent is optional here)."""
    from server.agent_bridge import make_turn_function

    return make_turn_function(store, editor, settings)


def worker_slots(settings: Settings, editors: Editors) -> dict[str, int]:
    """One CPU slot per core (or IMGEDIT_CLASSIC_WORKERS); GPU slots only where qwen runs."""
    cpu = settings.classic_workers or os.cpu_count() or 1
    gpu = settings.gpu_workers if editors.get(settings.engine).qwen_available() else 0
    return {"cpu": cpu, "gpu": gpu}


@dataclass
class LocalServices:
    """What every job run in this process shares: the stores, the engines, the edit processes,
    the agent."""

    settings: Settings
    db_engine: Engine
    store: SessionStore
    db: sessionmaker[DbSession]
    editors: Editors
    agents: ChatAgents
    processes: EditWorkerPool | None = None

    def close(self) -> None:
        if self.processes is not None:
            self.processes.close()
        self.db_engine.dispose()  # a PostgreSQL server counts its connections


def build_services(
    settings: Settings, *, cpu_slots: int | None = None, agent_factory: AgentFactory | None = None
) -> LocalServices:
    """The services jobs run with, for the server's embedded queue and for a Celery worker alike.

    ``cpu_slots``: classic jobs run at once (one edit process each, forked on the first job, when
    the machine has more than one core: the interpreter that schedules then only schedules);
    by default ``worker_slots``.
    """
    db_engine = create_db_engine(settings=settings)
    store = SessionStore(db_engine, open_blob_store(settings), settings=settings)
    editors = Editors(settings)
    slots = cpu_slots if cpu_slots is not None else worker_slots(settings, editors)["cpu"]
    processes = (
        EditWorkerPool(settings, store.blobs.url, slots)
        if processes_enabled(settings, os.cpu_count())
        else None
    )
    factory = agent_factory or default_agent_factory
    return LocalServices(
        settings=settings,
        store=store,
        db=create_sessionmaker(db_engine),
        editors=editors,
        agents=ChatAgents(lambda: factory(store, editors.get(settings.engine), settings)),
        processes=processes,
        db_engine=db_engine,
    )


def finished_job_cleanups(services: LocalServices) -> list[JobListener]:
    """What is cleaned up once a job is over, on the machine that ran it: a deck or batch job's
    work folder (a re-queued job keeps it to resume), and the unreadable input of a failed
    one-shot edit. The embedded queue subscribes them; a Celery worker calls them on its jobs."""
    settings = services.settings

    def remove_work_folder(event: JobEvent) -> None:
        kinds = (deck.DECK.name, BATCH.name)
        if event.job.kind in kinds and event.type == "job" and event.job.status in FINISHED:
            deck.remove_job_folder(settings, event.job.id)

    return [remove_work_folder, FailedInputCleaner(services.db_engine, services.store.blobs).on_job_event]


@dataclass
class LocalJobContext:
    """``jobs.base.JobContext`` for a job run by this process's scheduler."""

    job_id: str
    input_blob: str | None
    started: float
    cancel: CancelToken
    services: LocalServices
    control: RunControl

    @property
    def store(self) -> SessionStore:
        return self.services.store

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def db(self) -> sessionmaker[DbSession]:
        return self.services.db

    def progress(self, done: int, total: int) -> None:
        self.control.progress(done, total)

    def editor(self, engine: str) -> Editor:
        return self.services.editors.get(engine)

    def perform_edit(self, task: EditTask) -> EditProduct:
        """Classic edits in a worker process when the server has them (server/edit_workers.py;
        ``IMGEDIT_CLASSIC_PROCESSES``), everything else in this thread: the same image work."""
        processes = self.services.processes
        if processes is not None and task.params.engine == "classic":
            with processes.worker() as worker:
                return worker.run(task, self.progress, self.cancel)
        return perform_edit(
            self.editor(task.params.engine),
            self.store.blobs,
            self.settings,
            task,
            progress=self.progress,
            cancel=self.cancel,
        )

    def chat_turns(self) -> TurnFunction:
        return self.services.agents.get()


def local_runners(kinds: Iterable[JobKind[Any]], services: LocalServices) -> dict[str, Runner]:
    """A scheduler runner per job kind: params read back into the kind's model, a local context."""

    def runner_for(kind: JobKind[Any]) -> Runner:
        def run(job: JobInfo, control: RunControl) -> JobOutcome:
            ctx = LocalJobContext(
                job_id=job.id,
                input_blob=job.input_blob,
                started=control.started,
                cancel=control.cancel,
                services=services,
                control=control,
            )
            return kind.execute(job.params, ctx)

        return run

    return {kind.name: runner_for(kind) for kind in kinds}
