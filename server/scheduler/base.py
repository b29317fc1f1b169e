"""The scheduler interface the API talks to, so a distributed queue can replace the local one.

The API only submits ``JobSpec``s, reads ``JobInfo`` snapshots, cancels, and listens to
``JobEvent``s. Nothing here says where jobs run: ``LocalJobQueue`` uses threads in the server
process; a Celery-on-Redis queue with GPU workers elsewhere would implement the same methods
(events arriving over Redis pub/sub instead of in-process callbacks).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
FINISHED: frozenset[str] = frozenset({"done", "failed", "cancelled"})


@dataclass(frozen=True)
class JobSpec:
    """What to run. ``pool`` is where (``classic``: CPU slots, ``qwen``: GPU slots).

    ``cache_key``, when given, names the result: a finished job of the same tenant with the same
    key is answered at once. ``params`` is JSON, the job kind's runner reads it.
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

    @abc.abstractmethod
    def get(self, job_id: str, tenant: str) -> JobInfo:
        """The job, or ``NotFoundError`` if it does not exist *for this tenant*."""

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
