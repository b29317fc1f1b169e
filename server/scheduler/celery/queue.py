"""``CeleryJobQueue``: the ``JobQueue`` of an API node whose jobs run on ``imgedit worker``s.

The node runs no job. ``submit`` inserts the job's row (idempotency key and result cache as in
the embedded queue: rows.py, shared by every node through the database) and sends one token to
the pool's Celery queue; a worker answering a token claims the pool's next job by the fair rule
(rows.py ``claim_next``). Events come from the Redis channel (events.py), whichever node or
worker made them; cancel of a running job goes through a Redis flag (cancel.py). The node also
runs the reaper (reaper.py).

Reads: ``get`` and ``list`` read the database (a worker writes progress at most every 0.5 s),
with the latest step heard on the event channel laid over a running job, except where the
events heard already say all there is (snapshots.py): a job heard to have ended is answered
from memory (its row never changes again), and so is the tenant check before a client follows
a job. A job that is still queued or running is always read: another node may have changed it
a moment ago, and a client moving between nodes must never see a job go back in time.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from redis.exceptions import RedisError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from imgedit.config import Settings
from imgedit.errors import BadInputError, NotFoundError
from jobs.base import POOLS
from jobs.kinds import KINDS
from server.scheduler.base import JobEvent, JobInfo, JobListener, JobQueue, JobSpec, Listeners, PoolState
from server.scheduler.celery.broker import Broker
from server.scheduler.celery.events import Subscriber, decode_event
from server.scheduler.celery.reaper import Periodic, Reaper
from server.scheduler.rows import JobRows, with_progress
from server.scheduler.snapshots import Snapshots

log = logging.getLogger("imgedit.server.scheduler")

#: Seconds between database reads of a job ``wait`` follows (events usually end the wait first).
WAIT_POLL_SECONDS = 1.0


class CeleryJobQueue(JobQueue):
    def __init__(self, db: sessionmaker[DbSession], settings: Settings) -> None:
        self.rows = JobRows(db.kw["bind"])
        self.settings = settings
        self.broker = Broker(settings)
        self.name = f"api@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.reaper = Reaper(self.rows, self.broker, settings.job_max_attempts, self.name)
        self._lock = threading.Lock()
        self._listeners = Listeners()
        self._progress: dict[str, tuple[int, int]] = {}  # latest step heard of running jobs
        self._snapshots = Snapshots()  # the jobs' states as committed and heard (module docstring)
        self._waiters: dict[str, threading.Event] = {}
        self._subscriber = Subscriber(
            self.broker.client, self.broker.names.events, self._heard, name="imgedit-events"
        )
        self._reaping = Periodic(self.broker.heartbeat, self.reaper.run_once, name="imgedit-reaper")

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._subscriber.start(wait=2.0)
        self._reaping.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Running jobs are the workers' (they go on); this node only stops listening."""
        self._reaping.stop()
        self._subscriber.stop()
        self.broker.close()

    # -- API ------------------------------------------------------------------------------------

    def submit(self, spec: JobSpec) -> JobInfo:
        if spec.pool not in POOLS:
            raise BadInputError(f"There is no '{spec.pool}' pool of workers.")
        if spec.kind not in KINDS:
            raise BadInputError(f"Unknown job kind '{spec.kind}'.")
        inserted = self.rows.insert(spec)
        info = inserted.info
        if not inserted.new:
            return info
        # Announced before the token goes, so the "queued" frame precedes the worker's "running".
        self._announce(info)
        if not info.finished:
            self.broker.send_token(info.pool)
        return info

    def get(self, job_id: str, tenant: str) -> JobInfo:
        info = self._snapshots.finished(job_id) or self.rows.get(job_id)
        if info is None or info.tenant != tenant:
            raise NotFoundError(f"No job '{job_id}'.")
        return self._latest(info)

    def check_owner(self, job_id: str, tenant: str) -> None:
        info = self._snapshots.get(job_id) or self.rows.get(job_id)
        if info is None or info.tenant != tenant:
            raise NotFoundError(f"No job '{job_id}'.")

    def list(self, tenant: str, *, active_only: bool = False, limit: int = 100) -> list[JobInfo]:
        return [
            self._latest(info) for info in self.rows.of_tenant(tenant, active_only=active_only, limit=limit)
        ]

    def cancel(self, job_id: str, tenant: str) -> JobInfo:
        info = self.get(job_id, tenant)
        if info.finished:
            return info
        cancelled = self.rows.cancel_queued(job_id)
        if cancelled is not None:  # it never started: its token will find nothing
            self._announce(cancelled)
            return cancelled
        # Running on some worker: it stops at its next step and records "cancelled".
        self.broker.flags.request(job_id)
        return info

    def wait(self, job_id: str, timeout: float | None = None) -> bool:
        with self._lock:
            event = self._waiters.setdefault(job_id, threading.Event())
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                info = self._snapshots.finished(job_id) or self.rows.get(job_id)
                if info is None or info.finished:
                    return True
                left = (
                    WAIT_POLL_SECONDS
                    if deadline is None
                    else min(WAIT_POLL_SECONDS, deadline - time.monotonic())
                )
                if left <= 0:
                    return False
                event.wait(left)
        finally:
            with self._lock:
                self._waiters.pop(job_id, None)

    def subscribe(self, listener: JobListener) -> Callable[[], None]:
        return self._listeners.add(listener)

    def unfinished(self) -> set[str]:
        return self.rows.unfinished()

    def stats(self) -> dict[str, int]:
        counts = self.rows.counts()
        return {
            "queued": sum(n for (_, status), n in counts.items() if status == "queued"),
            "running": sum(n for (_, status), n in counts.items() if status == "running"),
        }

    def pools(self) -> dict[str, PoolState]:
        counts = self.rows.counts()
        return {
            pool: PoolState(
                queued=counts.get((pool, "queued"), 0),
                running=counts.get((pool, "running"), 0),
                workers=self._workers_alive(pool),
            )
            for pool in POOLS
        }

    def _workers_alive(self, pool: str) -> int:
        """Workers of ``pool`` with a recent heartbeat; none known while Redis is unreachable."""
        try:
            return self.broker.workers_alive(pool)
        except RedisError:
            return 0

    def dependencies(self) -> dict[str, bool]:
        return {"broker": self.broker.reachable()}

    # -- events ---------------------------------------------------------------------------------

    def _announce(self, info: JobInfo) -> None:
        """Publish a change this node committed, remembered first: no event about the job can
        be heard before it, so an older state never replaces a newer one."""
        self._snapshots.put(info)
        self.broker.bus.publish(JobEvent("job", info))

    def _heard(self, data: bytes) -> None:
        event = decode_event(data)
        job = event.job
        if event.type == "job":
            self._snapshots.put(job)
        with self._lock:
            if event.type == "progress":
                self._progress[job.id] = (job.progress_done, job.progress_total)
            elif job.status != "running":
                self._progress.pop(job.id, None)
            waiter = self._waiters.get(job.id) if job.finished else None
        if waiter is not None:
            waiter.set()
        self._listeners.emit(event)

    def _latest(self, info: JobInfo) -> JobInfo:
        """``info`` with the latest step heard, when the job runs (progress is written lazily)."""
        with self._lock:
            latest = self._progress.get(info.id)
        if latest is None or info.status != "running" or latest[0] < info.progress_done:
            return info
        return with_progress(info, *latest)
