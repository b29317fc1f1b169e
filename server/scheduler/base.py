"""The scheduler interface the API talks to, so a distributed queue can replace the local one.

The API only submits jobs (``submit_job``: a job kind of the job layer and its typed params),
reads ``JobInfo`` snapshots, cancels, and listens to ``JobEvent``s. Nothing here says where jobs
run: ``LocalJobQueue`` uses threads in the server process; a Celery-on-Redis queue with GPU
workers elsewhere would implement the same methods (events arriving over Redis pub/sub instead
of in-process callbacks). Everything above the scheduler imports this module, never an
implementation.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from engine.types import CancelToken
from imgedit.errors import ConflictError
from jobs.base import JobKind, JobOutcome, JobParams, P

log = logging.getLogger("imgedit.server.scheduler")

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
FINISHED: frozenset[str] = frozenset({"done", "failed", "cancelled"})


@dataclass(frozen=True)
class JobSpec:
    """What to run. ``pool`` is where (``cpu`` or ``gpu`` slots, see ``jobs.base.Pool``).

    ``cache_key``, when given, names the result: a finished job of the same tenant with the same
    key is answered at once. ``params`` is the job kind's ``Params`` as JSON (``JobQueue.submit_job``
    builds specs from the typed params).
    """

    tenant: str
    kind: str
    pool: str
    params: dict[str, Any] = field(default_factory=dict)
    input_blob: str | None = None
    priority: int = 0
    cache_key: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class JobInfo:
    """A snapshot of a job, as the API reports it."""

    id: str
    tenant: str
    kind: str
    pool: str
    status: str
    priority: int
    params: dict[str, Any]
    input_blob: str | None
    progress_done: int
    progress_total: int
    result_blob: str | None
    result_format: str | None
    result: dict[str, Any]
    error: dict[str, Any] | None
    cached: bool
    attempts: int
    seconds: float | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass(frozen=True)
class JobEvent:
    """Something that happened to a job: ``type`` is ``job`` (a status change) or ``progress``."""

    type: Literal["job", "progress"]
    job: JobInfo


JobListener = Callable[[JobEvent], None]


class Listeners:
    """A queue's job listeners: added and removed from any thread, each called for every event;
    one that raises is logged and the others still hear the event (a broken listener must not
    break a job)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[JobListener] = []

    def add(self, listener: JobListener) -> Callable[[], None]:
        """Add ``listener``; the function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def emit(self, event: JobEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("job listener failed")


@dataclass(frozen=True)
class PoolState:
    """One pool's figures for ``/metrics`` and ``/healthz``: jobs waiting, jobs running, and
    workers alive (the embedded queue: this process; Celery: worker processes that renewed
    their heartbeat lately)."""

    queued: int
    running: int
    workers: int


@dataclass
class RunControl:
    """What a queue hands the runner of a job: report progress, and see whether it was cancelled.

    ``started`` is the ``time.perf_counter()`` at which the worker took the job, so a runner can
    report how much of the job's time was bookkeeping rather than its own work.
    """

    cancel: CancelToken
    progress: Callable[[int, int], None]
    started: float = field(default_factory=time.perf_counter)


#: Runs one job: its snapshot and the queue's controls in, the outcome back (see server/job_host.py,
#: which runs the job layer's kinds this way).
Runner = Callable[[JobInfo, RunControl], JobOutcome]

__all__ = [
    "FINISHED",
    "JobEvent",
    "JobInfo",
    "JobListener",
    "JobOutcome",
    "JobQueue",
    "JobSpec",
    "JobStatus",
    "Listeners",
    "PoolState",
    "RunControl",
    "Runner",
]


class JobQueue(abc.ABC):
    """Submit, inspect, cancel and watch jobs."""

    @abc.abstractmethod
    def start(self) -> None:
        """Start workers; re-queue jobs a previous process left queued or running."""

    @abc.abstractmethod
    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs; running jobs are cancelled and stay queued for the next start."""

    @abc.abstractmethod
    def submit(self, spec: JobSpec) -> JobInfo:
        """Queue ``spec`` (or return the job an idempotency key or the result cache names)."""

    def submit_job(
        self,
        kind: JobKind[P],
        params: P,
        *,
        tenant: str,
        input_blob: str | None = None,
        priority: int = 0,
        cache_key: str | None = None,
        idempotency_key: str | None = None,
    ) -> JobInfo:
        """Queue a job of ``kind`` on the pool it needs; the one way every adapter submits work.

        With an ``idempotency_key`` the tenant's first job with that key is the answer, as long
        as it was the same request: reusing a key for another request is a ``ConflictError``
        (409), so a client never takes another request's answer for its own.
        """
        spec = JobSpec(
            tenant=tenant,
            kind=kind.name,
            pool=kind.pool(params),
            params=params.model_dump(mode="json"),
            input_blob=input_blob,
            priority=priority,
            cache_key=cache_key,
            idempotency_key=idempotency_key,
        )
        info = self.submit(spec)
        if idempotency_key and not _same_request(kind, info, params, input_blob):
            raise ConflictError(
                "This Idempotency-Key was already used for a different request.",
                hint="Use a new key for a new request; resend a request unchanged to get its first answer.",
            )
        return info

    @abc.abstractmethod
    def get(self, job_id: str, tenant: str) -> JobInfo:
        """The job, or ``NotFoundError`` if it does not exist *for this tenant*."""

    def check_owner(self, job_id: str, tenant: str) -> None:
        """``NotFoundError`` unless ``job_id`` is a job of ``tenant``: the check before a client
        may follow a job. A job's tenant never changes, so a queue may answer it from any
        snapshot it holds, however old (the Celery queue does: no database read)."""
        self.get(job_id, tenant)

    @abc.abstractmethod
    def list(self, tenant: str, *, active_only: bool = False, limit: int = 100) -> list[JobInfo]:
        """The tenant's newest jobs."""

    @abc.abstractmethod
    def unfinished(self) -> set[str]:
        """The ids of all tenants' queued and running jobs (to tell left-over work folders)."""

    @abc.abstractmethod
    def cancel(self, job_id: str, tenant: str) -> JobInfo:
        """Cancel a queued job now, or ask a running one to stop at its next step."""

    @abc.abstractmethod
    def wait(self, job_id: str, timeout: float | None = None) -> bool:
        """Block until the job finishes (True) or ``timeout`` passes (False)."""

    @abc.abstractmethod
    def subscribe(self, listener: JobListener) -> Callable[[], None]:
        """Call ``listener`` for every event; returns a function that unsubscribes."""

    @abc.abstractmethod
    def stats(self) -> dict[str, int]:
        """Counts for metrics: queued and running jobs."""

    @abc.abstractmethod
    def pools(self) -> dict[str, PoolState]:
        """Per pool: jobs queued and running, workers alive."""

    def dependencies(self) -> dict[str, bool]:
        """The services the queue needs besides the database, and whether each answers now
        (``/healthz``): none for the embedded queue, the broker for Celery."""
        return {}


def _same_request(kind: JobKind[Any], info: JobInfo, params: JobParams, input_blob: str | None) -> bool:
    """Whether the job ``info`` was made by the request that gave ``params`` and ``input_blob``."""
    if info.kind != kind.name:
        return False
    try:
        first = kind.parse(info.params)
    except ValueError:
        return False
    if first.request_view() != params.request_view():
        return False
    return params.input_is_resolved() or info.input_blob == input_blob
