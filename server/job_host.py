"""Runs the job layer's kinds on this process's scheduler: the ``JobContext`` of a local job.

The scheduler (server/scheduler/) knows jobs as JSON and runners; the job layer (jobs/) knows
typed params and ``run(params, ctx)``. This module joins them for jobs run in the server process:
each kind's runner reads its params back into the kind's ``Params`` model and gives it a
``LocalJobContext``. A worker on another machine would give the same kinds its own context.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from engine import Editor
from engine.types import CancelToken
from imgedit.config import Settings
from imgedit.errors import ImgEditError
from jobs.base import JobKind, JobOutcome, TurnFunction
from jobs.edit import EditProduct, EditTask, perform_edit
from jobs.editors import Editors
from server.edit_workers import EditWorkerPool
from server.errors import AgentUnavailableError
from server.scheduler import JobInfo, RunControl, Runner
from sessions import SessionStore


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


@dataclass
class LocalServices:
    """What every local job shares: the stores, the engines, the edit processes, the agent."""

    settings: Settings
    store: SessionStore
    db: sessionmaker[DbSession]
    editors: Editors
    agents: ChatAgents
    processes: EditWorkerPool | None = None


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
