"""``LocalJobQueue``: jobs persisted in the database, run by threads in the server process.

Each pool (``classic``: one slot per CPU core, ``qwen``: one per GPU) has its own worker threads
and its own ready queue. A worker takes the tenant served least recently (round robin, as
InvokeAI's session queue does) and that tenant's highest-priority job, so one tenant's hundred
jobs cannot starve another tenant's one, whatever priority they were given: ``priority`` orders
a tenant's own jobs only.

Every state change is committed before it is announced, so a crash loses nothing: on start,
jobs left ``queued`` are queued again and jobs left ``running`` are re-queued (their runner
must therefore be idempotent, which every kind of the job layer is: its effects are keyed by
the job id, see jobs/base.py).

Progress is the exception: it is written to the database at most every
``PROGRESS_WRITE_INTERVAL`` seconds per job (and with the final status; running.py). ``get``
and ``list`` show the latest step from memory, so this process's API never lags behind its
events. What is done to a row is shared with the Celery queue (rows.py).
Every step is announced as an event, except for job kinds given ``quiet_seconds``: their steps
in a job's first seconds are only recorded (see ``EDIT_QUIET_SECONDS`` in jobs/edit.py).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from engine.types import CancelToken
from imgedit.errors import BadInputError, NotFoundError
from server.models import JobRow
from server.scheduler.base import (
    FINISHED,
    JobEvent,
    JobInfo,
    JobListener,
    JobQueue,
    JobSpec,
    Listeners,
    PoolState,
    Runner,
)
from server.scheduler.rows import CANCELLED, Ending, JobRows, with_progress
from server.scheduler.running import REQUEUE, StepReporter, run_job
from server.scheduler.snapshots import Snapshots

log = logging.getLogger("imgedit.server.scheduler")

#: Pool names of jobs queued by earlier versions, and the pools that run them now.
LEGACY_POOLS = {"classic": "cpu", "qwen": "gpu"}


class _ReadyQueue:
    """One pool's queued jobs: a heap per tenant plus the round-robin order of tenants."""

    def __init__(self) -> None:
        self.heaps: dict[str, list[tuple[int, int, str]]] = {}
        self.order: deque[str] = deque()

    def __len__(self) -> int:
        return sum(len(heap) for heap in self.heaps.values())

    def push(self, tenant: str, priority: int, seq: int, job_id: str) -> None:
        if tenant not in self.heaps:
            self.heaps[tenant] = []
            self.order.append(tenant)
        heapq.heappush(self.heaps[tenant], (-priority, seq, job_id))

    def remove(self, tenant: str, job_id: str) -> bool:
        heap = self.heaps.get(tenant, [])
        for index, entry in enumerate(heap):
            if entry[2] == job_id:
                heap.pop(index)
                heapq.heapify(heap)
                return True
        return False

    def pop(self) -> str | None:
        """The next job: the tenant served least recently, then that tenant's highest priority.

        Fairness between tenants comes first: ``priority`` only orders a tenant's own jobs, so a
        tenant cannot push its backlog ahead of everyone else's by marking it urgent.
        """
        while self.order:
            tenant = self.order.popleft()
            heap = self.heaps.get(tenant)
            if not heap:
                self.heaps.pop(tenant, None)
                continue
            job_id = heapq.heappop(heap)[2]
            if heap:
                self.order.append(tenant)
            else:
                del self.heaps[tenant]
            return job_id
        return None


class LocalJobQueue(JobQueue):
    """In-process scheduler; see the module docstring."""

    def __init__(
        self,
        db: sessionmaker[DbSession],
        runners: dict[str, Runner],
        slots: dict[str, int],
        *,
        step_delay: float = 0.0,
        quiet_seconds: dict[str, float] | None = None,
    ) -> None:
        self.db = db
        # Core statements run on a connection: a Session around them cost as much as the query.
        self.engine: Engine = db.kw["bind"]
        self.rows = JobRows(self.engine)
        self.runners = runners
        self.slots = {pool: count for pool, count in slots.items() if count > 0}
        self.step_delay = step_delay
        self.quiet_seconds = quiet_seconds or {}
        self._cond = threading.Condition()
        self._ready = {pool: _ReadyQueue() for pool in self.slots}
        self._running: dict[str, CancelToken] = {}
        self._busy = {pool: 0 for pool in self.slots}  # running jobs per pool
        self._progress: dict[str, tuple[int, int]] = {}  # latest step of running jobs
        self._snapshots = Snapshots()  # latest committed state (see ``_remember``)
        self._waiters: dict[str, threading.Event] = {}
        self._listeners = Listeners()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._seq = itertools.count()

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        with self.db.begin() as db:
            # A previous process died (or stopped) while these ran: run them again.
            db.execute(update(JobRow).where(JobRow.status == "running").values(status="queued"))
            # Pools were named after engines before the job layer named them after hardware.
            for old, new in LEGACY_POOLS.items():
                if new in self._ready and old not in self._ready:
                    db.execute(update(JobRow).where(JobRow.pool == old).values(pool=new))
            last = db.scalar(select(func.max(JobRow.seq))) or 0
            self._seq = itertools.count(last + 1)
            rows = db.scalars(select(JobRow).where(JobRow.status == "queued").order_by(JobRow.seq)).all()
            queued = [(row.pool, row.tenant, row.priority, row.seq, row.id) for row in rows]
        with self._cond:
            self._stopping = False
            for pool, tenant, priority, seq, job_id in queued:
                if pool in self._ready:
                    self._ready[pool].push(tenant, priority, seq, job_id)
        for pool, count in self.slots.items():
            for index in range(count):
                thread = threading.Thread(
                    target=self._work, args=(pool,), name=f"imgedit-{pool}-{index}", daemon=True
                )
                thread.start()
                self._threads.append(thread)
        if queued:
            log.info("re-queued %d job(s) left by a previous run", len(queued))

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stopping = True
            for token in self._running.values():
                token.cancel()
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    # -- API ------------------------------------------------------------------------------

    def submit(self, spec: JobSpec) -> JobInfo:
        if spec.pool not in self._ready:
            raise BadInputError(
                f"This server has no '{spec.pool}' workers.",
                hint="Use the classic engine, or run the server on a machine with a GPU and a qwen model.",
            )
        if spec.kind not in self.runners:
            raise BadInputError(f"Unknown job kind '{spec.kind}'.")
        seq = next(self._seq)
        inserted = self.rows.insert(spec, seq)
        info = inserted.info
        if not inserted.new:
            return info
        self._remember(info)
        if info.finished:
            self._emit(JobEvent("job", info))
            return info
        with self._cond:
            self._ready[spec.pool].push(spec.tenant, spec.priority, seq, info.id)
            # Every pool's workers wait on this one condition: notify() could wake a CPU worker
            # for a GPU job, which goes back to sleep, and the job would wait for the next submit.
            self._cond.notify_all()
        self._emit(JobEvent("job", info))
        return info

    def get(self, job_id: str, tenant: str) -> JobInfo:
        info = self._snapshots.get(job_id)
        if info is None:
            # A Core read: the ORM's identity map and object loading cost more than the query
            # itself, and the row is turned into a snapshot at once anyway.
            info = self.rows.get(job_id)
        if info is None or info.tenant != tenant:
            raise NotFoundError(f"No job '{job_id}'.")
        return self._latest(info)

    def list(self, tenant: str, *, active_only: bool = False, limit: int = 100) -> list[JobInfo]:
        jobs = self.rows.of_tenant(tenant, active_only=active_only, limit=limit)
        return [self._latest(info) for info in jobs]

    def cancel(self, job_id: str, tenant: str) -> JobInfo:
        info = self.get(job_id, tenant)
        if info.finished:
            return info
        with self._cond:
            token = self._running.get(job_id)
            if token is not None:
                token.cancel()
                return info  # the worker records "cancelled" when the runner stops
            removed = self._ready[info.pool].remove(tenant, job_id) if info.pool in self._ready else False
        if removed or info.status == "queued":
            info = self._finish(job_id, Ending("cancelled", error=dict(CANCELLED)))
        return info

    def wait(self, job_id: str, timeout: float | None = None) -> bool:
        with self._cond:
            event = self._waiters.setdefault(job_id, threading.Event())
        with self.db() as db:
            status = db.scalar(select(JobRow.status).where(JobRow.id == job_id))
        if status is None or status in FINISHED:
            with self._cond:
                self._waiters.pop(job_id, None)
            return True
        return event.wait(timeout)

    def subscribe(self, listener: JobListener) -> Callable[[], None]:
        return self._listeners.add(listener)

    def unfinished(self) -> set[str]:
        return self.rows.unfinished()

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {"queued": sum(len(q) for q in self._ready.values()), "running": len(self._running)}

    def pools(self) -> dict[str, PoolState]:
        with self._cond:
            return {
                pool: PoolState(queued=len(ready), running=self._busy[pool], workers=1)
                for pool, ready in self._ready.items()
            }

    # -- workers --------------------------------------------------------------------------

    def _work(self, pool: str) -> None:
        while True:
            with self._cond:
                while not self._stopping and not self._ready[pool]:
                    self._cond.wait()
                if self._stopping:
                    return
                job_id = self._ready[pool].pop()
                if job_id is None:
                    continue
                token = CancelToken()
                self._running[job_id] = token
                self._busy[pool] += 1
            try:
                self._run(job_id, token)
            except Exception:  # pragma: no cover - _run records every failure itself
                log.exception("job %s: scheduler error", job_id)
            finally:
                with self._cond:
                    self._running.pop(job_id, None)
                    self._busy[pool] -= 1

    def _run(self, job_id: str, token: CancelToken) -> None:
        taken = time.perf_counter()
        # One UPDATE ... RETURNING claims the job (only if still queued) and reads it back.
        info = self.rows.claim(job_id)
        if info is None:
            return
        self._remember(info)
        self._emit(JobEvent("job", info))
        progress = StepReporter(
            self.rows,
            info,
            token,
            self._emit,
            quiet_seconds=self.quiet_seconds.get(info.kind, 0.0),
            step_delay=self.step_delay,
            remember=self._step,
        )
        ending = run_job(self.runners[info.kind], info, token, progress, taken, lambda: self._stopping)
        if ending.status == REQUEUE:
            self._requeue(job_id)
        else:
            self._finish(job_id, ending)

    # -- helpers --------------------------------------------------------------------------

    def _step(self, job_id: str, done: int, total: int) -> None:
        with self._cond:
            self._progress[job_id] = (done, total)

    def _finish(self, job_id: str, ending: Ending) -> JobInfo:
        with self._cond:
            latest = self._progress.pop(job_id, None)
        info = self.rows.finish(job_id, ending, latest=latest)
        assert info is not None  # the job's row exists: this queue inserted it
        self._remember(info)
        self._emit(JobEvent("job", info))
        with self._cond:
            waiter = self._waiters.pop(job_id, None)
        if waiter is not None:
            waiter.set()
        return info

    def _requeue(self, job_id: str) -> None:
        with self._cond:
            self._progress.pop(job_id, None)
        self._snapshots.forget(job_id)
        self.rows.requeue(job_id)

    def _remember(self, info: JobInfo) -> None:
        """Keep ``info``, just committed, for ``get``.

        Every change to a job row goes through this object and is committed before it is
        remembered, so a snapshot here is never older than the database (progress, written
        lazily, comes from ``_progress`` either way). It saves a database read for the reads
        that follow each change: the submitter subscribing to the job, the page or client
        fetching its result. Only the newest jobs are kept (snapshots.py); older ones are read.
        """
        self._snapshots.put(info)

    def _latest(self, info: JobInfo) -> JobInfo:
        """``info`` with the latest progress of a running job (written to the database lazily)."""
        with self._cond:
            latest = self._progress.get(info.id)
        if latest is None or info.status != "running":
            return info
        return with_progress(info, *latest)

    def _emit(self, event: JobEvent) -> None:
        self._listeners.emit(event)
