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
``PROGRESS_WRITE_INTERVAL`` seconds per job (and with the final status). A commit per step
cost 2-4 ms per job in bench/server_load.py, half the engine time of a simple classic edit, and
progress lost in a crash is worthless anyway (the job re-runs from the start). ``get`` and
``list`` show the latest step from memory, so this process's API never lags behind its events.
Every step is announced as an event, except for job kinds given ``quiet_seconds``: their steps
in a job's first seconds are only recorded (see ``EDIT_QUIET_SECONDS`` in jobs/edit.py).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from engine.types import CancelToken
from imgedit.errors import BadInputError, EditCancelledError, ImgEditError, NotFoundError
from server.errors import storage_full
from server.models import JobRow
from server.scheduler.base import (
    FINISHED,
    JobEvent,
    JobInfo,
    JobListener,
    JobOutcome,
    JobQueue,
    JobSpec,
    RunControl,
    Runner,
)
from sessions.db import utcnow

log = logging.getLogger("imgedit.server.scheduler")

#: Seconds between progress writes of one job (steps in between are kept in memory).
PROGRESS_WRITE_INTERVAL = 0.5
#: Pool names of jobs queued by earlier versions, and the pools that run them now.
LEGACY_POOLS = {"classic": "cpu", "qwen": "gpu"}
#: How many job snapshots ``get`` answers from memory (see ``LocalJobQueue._remember``).
SNAPSHOTS = 2048


#: The jobs table, for reads that need a row's values but not an ORM object (see ``get``).
JOBS = cast(Table, JobRow.__table__)

# The statements of a job's life, built once. Building a statement and computing its cache key
# cost 3-8x as much as SQLite running it (e.g. claiming a job: 0.47 ms built per call, 0.14 ms
# prebuilt), and each edit runs five of them (bench/server_load.py). Values come as parameters;
# for the UPDATEs and the INSERT the parameters' names also choose the columns that are set.
_INSERT = insert(JOBS).returning(*JOBS.c)
_GET = select(JOBS).where(JOBS.c.id == bindparam("job_id"))
_CLAIM = (
    update(JOBS)
    .where(JOBS.c.id == bindparam("job_id"), JOBS.c.status == "queued")
    .values(status="running", attempts=JOBS.c.attempts + 1, error=None)
    .returning(*JOBS.c)
)
_UPDATE = update(JOBS).where(JOBS.c.id == bindparam("job_id"))
_FINISH = _UPDATE.returning(*JOBS.c)
#: ``_FINISH`` for a job that succeeded without reporting steps here: all its steps show done.
_FINISH_ALL_STEPS = _FINISH.values(
    progress_done=case(
        (JOBS.c.progress_total > JOBS.c.progress_done, JOBS.c.progress_total), else_=JOBS.c.progress_done
    )
)
_CACHED = (
    select(JOBS.c.result_blob, JOBS.c.result_format, JOBS.c.result, JOBS.c.progress_total)
    .where(
        JOBS.c.tenant == bindparam("tenant"),
        JOBS.c.cache_key == bindparam("cache_key"),
        JOBS.c.status == "done",
    )
    .order_by(JOBS.c.seq.desc())
    .limit(1)
)


def job_info(row: Any) -> JobInfo:
    """A snapshot of a job from a ``JobRow`` or a Core row of the jobs table (same names)."""
    return JobInfo(
        id=row.id,
        tenant=row.tenant,
        kind=row.kind,
        pool=row.pool,
        status=row.status,
        priority=row.priority,
        params=dict(row.params or {}),
        input_blob=row.input_blob,
        progress_done=row.progress_done,
        progress_total=row.progress_total,
        result_blob=row.result_blob,
        result_format=row.result_format,
        result=dict(row.result or {}),
        error=dict(row.error) if row.error else None,
        cached=bool(row.cached),
        attempts=row.attempts,
        seconds=row.seconds,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


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
        self.runners = runners
        self.slots = {pool: count for pool, count in slots.items() if count > 0}
        self.step_delay = step_delay
        self.quiet_seconds = quiet_seconds or {}
        self._cond = threading.Condition()
        self._ready = {pool: _ReadyQueue() for pool in self.slots}
        self._running: dict[str, CancelToken] = {}
        self._progress: dict[str, tuple[int, int]] = {}  # latest step of running jobs
        self._snapshots: OrderedDict[str, JobInfo] = OrderedDict()  # latest committed state
        self._waiters: dict[str, threading.Event] = {}
        self._listeners: list[JobListener] = []
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
        if spec.idempotency_key:
            existing = self._by_idempotency_key(spec.tenant, spec.idempotency_key)
            if existing is not None:
                return existing
        cached = self._cached_result(spec)
        values: dict[str, Any] = {
            "seq": next(self._seq),
            "tenant": spec.tenant,
            "kind": spec.kind,
            "pool": spec.pool,
            "priority": spec.priority,
            "params": spec.params,
            "input_blob": spec.input_blob,
            "cache_key": spec.cache_key,
            "idempotency_key": spec.idempotency_key,
        }
        if cached is not None:
            now = utcnow()
            values.update(
                status="done",
                cached=1,
                result_blob=cached.result_blob,
                result_format=cached.result_format,
                result=cached.result,
                progress_done=cached.progress_total,
                progress_total=cached.progress_total,
                started_at=now,
                finished_at=now,
                seconds=0.0,
            )
        # A Core INSERT ... RETURNING (the columns' defaults apply as with the ORM), without the
        # unit of work a mapped object goes through.
        try:
            with self.engine.begin() as db:
                row = db.execute(_INSERT, values).one()
            info = job_info(row)
        except IntegrityError:
            # Two requests with one idempotency key raced; the other one won.
            existing = self._by_idempotency_key(spec.tenant, spec.idempotency_key or "")
            if existing is None:  # pragma: no cover - the constraint names exactly that row
                raise
            return existing
        self._remember(info)
        if info.finished:
            self._emit(JobEvent("job", info))
            return info
        with self._cond:
            self._ready[spec.pool].push(spec.tenant, spec.priority, row.seq, row.id)
            self._cond.notify()
        self._emit(JobEvent("job", info))
        return info

    def get(self, job_id: str, tenant: str) -> JobInfo:
        with self._cond:
            info = self._snapshots.get(job_id)
        if info is None:
            # A Core read: the ORM's identity map and object loading cost more than the query
            # itself, and the row is turned into a snapshot at once anyway.
            with self.engine.connect() as db:
                row = db.execute(_GET, {"job_id": job_id}).first()
            info = job_info(row) if row is not None else None
        if info is None or info.tenant != tenant:
            raise NotFoundError(f"No job '{job_id}'.")
        return self._latest(info)

    def list(self, tenant: str, *, active_only: bool = False, limit: int = 100) -> list[JobInfo]:
        query = select(JOBS).where(JobRow.tenant == tenant)
        if active_only:
            query = query.where(JobRow.status.not_in(FINISHED))
        with self.engine.connect() as db:
            rows = db.execute(query.order_by(JobRow.seq.desc()).limit(limit)).all()
        return [self._latest(job_info(row)) for row in rows]

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
            info = self._finish(job_id, "cancelled", error={"code": "cancelled", "message": "Cancelled."})
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
        with self._cond:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._cond:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def unfinished(self) -> set[str]:
        with self.engine.connect() as db:
            query = select(JobRow.id).where(JobRow.status.not_in(FINISHED))
            return set(db.scalars(query))

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {"queued": sum(len(q) for q in self._ready.values()), "running": len(self._running)}

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
            try:
                self._run(job_id, token)
            except Exception:  # pragma: no cover - _run records every failure itself
                log.exception("job %s: scheduler error", job_id)
            finally:
                with self._cond:
                    self._running.pop(job_id, None)

    def _run(self, job_id: str, token: CancelToken) -> None:
        taken = time.perf_counter()
        # One UPDATE ... RETURNING claims the job (only if still queued) and reads it back.
        with self.engine.begin() as db:
            row = db.execute(_CLAIM, {"job_id": job_id, "started_at": utcnow()}).first()
            if row is None:
                return
            info = job_info(row)
        self._remember(info)
        self._emit(JobEvent("job", info))
        started = time.perf_counter()
        written = started
        quiet_until = started + self.quiet_seconds.get(info.kind, 0.0)

        def progress(done: int, total: int) -> None:
            nonlocal written
            with self._cond:
                self._progress[job_id] = (done, total)
            now = time.perf_counter()
            if now - written >= PROGRESS_WRITE_INTERVAL:
                written = now
                with self.engine.begin() as db:
                    db.execute(_UPDATE, {"job_id": job_id, "progress_done": done, "progress_total": total})
            if now >= quiet_until:
                self._emit(JobEvent("progress", _with_progress(info, done, total)))
            if self.step_delay:
                # Testing knob (IMGEDIT_JOB_STEP_DELAY): slows each step, still cancellable.
                deadline = time.monotonic() + self.step_delay
                while time.monotonic() < deadline and not token.cancelled:
                    time.sleep(0.02)

        try:
            outcome = self.runners[info.kind](
                info, RunControl(cancel=token, progress=progress, started=taken)
            )
        except EditCancelledError:
            if self._stopping:
                self._requeue(job_id)
                return
            self._finish(job_id, "cancelled", error={"code": "cancelled", "message": "Cancelled."})
        except ImgEditError as exc:
            error = {**exc.to_dict(), "http_status": exc.http_status}
            self._finish(job_id, "failed", error=error, seconds=time.perf_counter() - started)
        except Exception as exc:
            log.error("job %s failed:\n%s", job_id, traceback.format_exc())
            full = storage_full(exc)
            error = (
                {**full.to_dict(), "http_status": full.http_status}
                if full is not None
                else {
                    "code": "internal_error",
                    "message": f"The job failed on our side ({type(exc).__name__}).",
                }
            )
            self._finish(job_id, "failed", error=error, seconds=time.perf_counter() - started)
        else:
            self._finish(job_id, "done", outcome=outcome, seconds=time.perf_counter() - started)

    # -- helpers --------------------------------------------------------------------------

    def _finish(
        self,
        job_id: str,
        status: str,
        *,
        outcome: JobOutcome | None = None,
        error: dict[str, Any] | None = None,
        seconds: float | None = None,
    ) -> JobInfo:
        with self._cond:
            latest = self._progress.pop(job_id, None)
        values: dict[str, Any] = {
            "job_id": job_id,
            "status": status,
            "finished_at": utcnow(),
            "seconds": seconds,
            "error": error,
        }
        finish = _FINISH
        if latest is not None:
            values["progress_done"], values["progress_total"] = latest
        if outcome is not None:
            values.update(
                result_blob=outcome.result_blob, result_format=outcome.result_format, result=outcome.result
            )
            # A finished job shows all its steps done.
            if latest is not None:
                values["progress_done"] = max(latest)
            else:
                finish = _FINISH_ALL_STEPS
        # One UPDATE ... RETURNING instead of loading the row, changing it and flushing it.
        with self.engine.begin() as db:
            row = db.execute(finish, values).one()
            info = job_info(row)
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
            self._snapshots.pop(job_id, None)
        with self.engine.begin() as db:
            db.execute(_UPDATE, {"job_id": job_id, "status": "queued"})

    def _remember(self, info: JobInfo) -> None:
        """Keep ``info``, just committed, for ``get``.

        Every change to a job row goes through this object and is committed before it is
        remembered, so a snapshot here is never older than the database (progress, written
        lazily, comes from ``_progress`` either way). It saves a database read for the reads
        that follow each change: the submitter subscribing to the job, the page or client
        fetching its result. Only the newest ``SNAPSHOTS`` jobs are kept; older ones are read.
        """
        with self._cond:
            self._snapshots[info.id] = info
            self._snapshots.move_to_end(info.id)
            if len(self._snapshots) > SNAPSHOTS:
                self._snapshots.popitem(last=False)

    def _latest(self, info: JobInfo) -> JobInfo:
        """``info`` with the latest progress of a running job (written to the database lazily)."""
        with self._cond:
            latest = self._progress.get(info.id)
        if latest is None or info.status != "running":
            return info
        return _with_progress(info, *latest)

    def _by_idempotency_key(self, tenant: str, key: str) -> JobInfo | None:
        with self.db() as db:
            row = db.scalar(select(JobRow).where(JobRow.tenant == tenant, JobRow.idempotency_key == key))
            return job_info(row) if row is not None else None

    def _cached_result(self, spec: JobSpec) -> Any:
        """The result columns of the newest finished job with ``spec``'s cache key, or ``None``."""
        if not spec.cache_key:
            return None
        with self.engine.connect() as db:
            return db.execute(_CACHED, {"tenant": spec.tenant, "cache_key": spec.cache_key}).first()

    def _emit(self, event: JobEvent) -> None:
        with self._cond:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not break the job
                log.exception("job listener failed")


def _with_progress(info: JobInfo, done: int, total: int) -> JobInfo:
    from dataclasses import replace

    return replace(info, progress_done=done, progress_total=total)
