"""``JobRows``: every read and write of the jobs table, shared by both queues.

The embedded queue (local.py) and the Celery queue (celery/) keep jobs in the same table and
must agree on what each step does to a row: the insert with its idempotency key and result
cache, the claim, the lazy progress write, the final state, the reads. Each is here once.

The statements are Core statements built once (values come as parameters; for the UPDATEs and
the INSERT the parameters' names also choose the columns that are set). Building a statement
and computing its cache key cost 3-8x as much as SQLite running it (claiming a job: 0.47 ms built
per call, 0.14 ms prebuilt), and each edit runs five of them (bench/server_load.py).

``claim_next`` is the distributed queue's fair choice, in one ``UPDATE ... RETURNING``: the
pool's queued job of the tenant served least recently (never served first), then that tenant's
highest priority, then its oldest job; on PostgreSQL the choice is ``FOR UPDATE SKIP LOCKED``,
so two workers claiming at once take two different jobs instead of one waiting on the other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import DateTime, Engine, Table, and_, bindparam, case, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from jobs.base import JobOutcome
from server.models import JobRow
from server.scheduler.base import FINISHED, JobInfo, JobSpec
from sessions.db import utcnow

#: The type of the table's times, for parameters that are not compared with a column.
_WHEN = DateTime(timezone=True)
#: The jobs table, for reads that need a row's values but not an ORM object.
JOBS = cast(Table, JobRow.__table__)
#: The error of a job cancelled by its user.
CANCELLED = {"code": "cancelled", "message": "Cancelled."}

_INSERT = insert(JOBS).returning(*JOBS.c)
_GET = select(JOBS).where(JOBS.c.id == bindparam("job_id"))
_BY_KEY = select(JOBS).where(
    JOBS.c.tenant == bindparam("tenant"), JOBS.c.idempotency_key == bindparam("idempotency_key")
)
_CLAIM = (
    update(JOBS)
    .where(JOBS.c.id == bindparam("job_id"), JOBS.c.status == "queued")
    .values(status="running", attempts=JOBS.c.attempts + 1, error=None)
    .returning(*JOBS.c)
)
_UPDATE = update(JOBS).where(JOBS.c.id == bindparam("job_id"))
_FINISH = _UPDATE.returning(*JOBS.c)
#: ``_FINISH`` for a job that succeeded without reporting steps here: all its steps show done.
_ALL_STEPS = {
    "progress_done": case(
        (JOBS.c.progress_total > JOBS.c.progress_done, JOBS.c.progress_total), else_=JOBS.c.progress_done
    )
}
_FINISH_ALL_STEPS = _FINISH.values(**_ALL_STEPS)
#: The final state written by a lease holder: only while it still holds the job (a worker that
#: lost its lease, its job queued again and taken by another, must not overwrite that run).
_OWNED = and_(JOBS.c.worker == bindparam("owner"), JOBS.c.status == "running")
_FINISH_OWNED = update(JOBS).where(JOBS.c.id == bindparam("job_id"), _OWNED).returning(*JOBS.c)
_FINISH_OWNED_ALL_STEPS = _FINISH_OWNED.values(**_ALL_STEPS)
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
#: The next sequence number, taken inside the INSERT so API nodes never need to agree on a
#: counter (two inserts at once may share a number: ``seq`` only orders, ties go by id).
_NEXT_SEQ = select(func.coalesce(func.max(JOBS.c.seq), 0) + 1).scalar_subquery()
_INSERT_NEXT_SEQ = insert(JOBS).values(seq=_NEXT_SEQ).returning(*JOBS.c)
_CANCEL_QUEUED = (
    update(JOBS)
    .where(JOBS.c.id == bindparam("job_id"), JOBS.c.status == "queued")
    .values(status="cancelled", error=CANCELLED)
    .returning(*JOBS.c)
)


def _claim_next_statement() -> Any:
    served = JOBS.alias("served")
    last_served = (
        select(func.max(served.c.started_at))
        .where(served.c.pool == JOBS.c.pool, served.c.tenant == JOBS.c.tenant)
        .scalar_subquery()
    )
    # Never-served tenants first, on every database (PostgreSQL sorts NULL last by default).
    never = case((last_served.is_(None), literal(0)), else_=literal(1))
    choice = (
        select(JOBS.c.id)
        .where(JOBS.c.pool == bindparam("claim_pool"), JOBS.c.status == "queued")
        .order_by(never, last_served, JOBS.c.priority.desc(), JOBS.c.seq, JOBS.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        update(JOBS)
        .where(JOBS.c.id == choice, JOBS.c.status == "queued")
        .values(
            status="running",
            attempts=JOBS.c.attempts + 1,
            error=None,
            started_at=bindparam("started_at", type_=_WHEN),
            worker=bindparam("owner", type_=JOBS.c.worker.type),
            lease_until=bindparam("lease_until", type_=_WHEN),
        )
        .returning(*JOBS.c)
    )


_CLAIM_NEXT = _claim_next_statement()
_RENEW = (
    update(JOBS)
    .where(JOBS.c.worker == bindparam("owner"), JOBS.c.status == "running")
    .values(lease_until=bindparam("lease_until", type_=_WHEN))
)
#: Jobs whose worker stopped renewing their lease: queued again, or failed once they have had
#: their attempts. One UPDATE, so each expired job is handled by exactly one node.
_NOW = bindparam("now", type_=_WHEN)
_REAP = (
    update(JOBS)
    .where(JOBS.c.status == "running", JOBS.c.lease_until < _NOW)
    .values(
        status=case((JOBS.c.attempts >= bindparam("max_attempts"), "failed"), else_="queued"),
        error=case(
            (JOBS.c.attempts >= bindparam("max_attempts"), bindparam("worker_lost", type_=JOBS.c.error.type)),
            else_=None,
        ),
        finished_at=case((JOBS.c.attempts >= bindparam("max_attempts"), _NOW), else_=None),
        worker=None,
        lease_until=None,
    )
    .returning(*JOBS.c)
)
_COUNTS = select(JOBS.c.pool, JOBS.c.status, func.count()).where(JOBS.c.status.in_(("queued", "running")))


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


def _insert_values(spec: JobSpec, cached: Any, seq: int | None) -> dict[str, Any]:
    """The new row's values; ``cached``: the result columns of a finished job with the same
    cache key (the job is then done at once), or ``None``."""
    values: dict[str, Any] = {
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
    if seq is not None:
        values["seq"] = seq
    return values


def with_progress(info: JobInfo, done: int, total: int) -> JobInfo:
    return replace(info, progress_done=done, progress_total=total)


@dataclass(frozen=True)
class Ending:
    """How a run ended, to be written by ``JobRows.finish``."""

    status: str
    outcome: JobOutcome | None = None
    error: dict[str, Any] | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class Inserted:
    """``JobRows.insert``'s answer: the job, and whether this call made it (``False``: the
    idempotency key named an earlier job)."""

    info: JobInfo
    new: bool


class JobRows:
    """The jobs table on ``engine``; see the module docstring."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- submission -----------------------------------------------------------------------------

    def insert(self, spec: JobSpec, seq: int | None = None) -> Inserted:
        """Insert ``spec``'s job (done at once from the result cache when its key has a result),
        or return the tenant's job with the same idempotency key. ``seq``: the queue's own
        counter (the embedded queue); by default the next number in the table.

        The key's look-up, the cache's and the insert share one connection: each checkout from
        the pool costs a round trip of its own on PostgreSQL (the pool pings a connection
        before handing it out)."""
        try:
            with self.engine.begin() as db:
                if spec.idempotency_key:
                    existing = db.execute(
                        _BY_KEY, {"tenant": spec.tenant, "idempotency_key": spec.idempotency_key}
                    ).first()
                    if existing is not None:
                        return Inserted(job_info(existing), new=False)
                cached = (
                    db.execute(_CACHED, {"tenant": spec.tenant, "cache_key": spec.cache_key}).first()
                    if spec.cache_key
                    else None
                )
                # A Core INSERT ... RETURNING (the columns' defaults apply as with the ORM),
                # without the unit of work a mapped object goes through.
                statement = _INSERT if seq is not None else _INSERT_NEXT_SEQ
                row = db.execute(statement, _insert_values(spec, cached, seq)).one()
        except IntegrityError:
            # Two requests with one idempotency key raced; the other one won.
            found = self.by_idempotency_key(spec.tenant, spec.idempotency_key or "")
            if found is None:  # pragma: no cover - the constraint names exactly that row
                raise
            return Inserted(found, new=False)
        return Inserted(job_info(row), new=True)

    def by_idempotency_key(self, tenant: str, key: str) -> JobInfo | None:
        with self.engine.connect() as db:
            row = db.execute(_BY_KEY, {"tenant": tenant, "idempotency_key": key}).first()
        return job_info(row) if row is not None else None

    # -- reads ----------------------------------------------------------------------------------

    def get(self, job_id: str) -> JobInfo | None:
        with self.engine.connect() as db:
            row = db.execute(_GET, {"job_id": job_id}).first()
        return job_info(row) if row is not None else None

    def of_tenant(self, tenant: str, *, active_only: bool = False, limit: int = 100) -> list[JobInfo]:
        query = select(JOBS).where(JOBS.c.tenant == tenant)
        if active_only:
            query = query.where(JOBS.c.status.not_in(FINISHED))
        with self.engine.connect() as db:
            rows = db.execute(query.order_by(JOBS.c.seq.desc(), JOBS.c.id.desc()).limit(limit)).all()
        return [job_info(row) for row in rows]

    def unfinished(self) -> set[str]:
        with self.engine.connect() as db:
            return set(db.scalars(select(JOBS.c.id).where(JOBS.c.status.not_in(FINISHED))))

    def counts(self) -> dict[tuple[str, str], int]:
        """``(pool, status) -> jobs`` for the queued and running jobs of every tenant."""
        with self.engine.connect() as db:
            return {
                (pool, status): count
                for pool, status, count in db.execute(_COUNTS.group_by(JOBS.c.pool, JOBS.c.status))
            }

    # -- a job's life ---------------------------------------------------------------------------

    def claim(self, job_id: str) -> JobInfo | None:
        """Take the queued job ``job_id`` (``None`` if it is no longer queued)."""
        with self.engine.begin() as db:
            row = db.execute(_CLAIM, {"job_id": job_id, "started_at": utcnow()}).first()
        return job_info(row) if row is not None else None

    def claim_next(self, pool: str, owner: str, lease: float) -> JobInfo | None:
        """Take the pool's next job by the fair rule (module docstring) for ``owner``, with a
        lease of ``lease`` seconds; ``None`` when the pool has no queued job."""
        now = utcnow()
        values = {
            "claim_pool": pool,
            "owner": owner,
            "started_at": now,
            "lease_until": now + timedelta(seconds=lease),
        }
        with self.engine.begin() as db:
            row = db.execute(_CLAIM_NEXT, values).first()
        return job_info(row) if row is not None else None

    def write_progress(self, job_id: str, done: int, total: int) -> None:
        with self.engine.begin() as db:
            db.execute(_UPDATE, {"job_id": job_id, "progress_done": done, "progress_total": total})

    def finish(
        self,
        job_id: str,
        ending: Ending,
        *,
        latest: tuple[int, int] | None = None,
        owner: str | None = None,
    ) -> JobInfo | None:
        """Write the job's final state (with ``latest``, its last step); with ``owner``, only while
        that worker still holds the job (``None`` otherwise)."""
        values: dict[str, Any] = {
            "job_id": job_id,
            "status": ending.status,
            "finished_at": utcnow(),
            "seconds": ending.seconds,
            "error": ending.error,
        }
        all_steps = False
        if latest is not None:
            values["progress_done"], values["progress_total"] = latest
        outcome = ending.outcome
        if outcome is not None:
            values.update(
                result_blob=outcome.result_blob, result_format=outcome.result_format, result=outcome.result
            )
            # A finished job shows all its steps done.
            if latest is not None:
                values["progress_done"] = max(latest)
            else:
                all_steps = True
        if owner is not None:
            values.update(owner=owner, lease_until=None)
            statement = _FINISH_OWNED_ALL_STEPS if all_steps else _FINISH_OWNED
        else:
            statement = _FINISH_ALL_STEPS if all_steps else _FINISH
        # One UPDATE ... RETURNING instead of loading the row, changing it and flushing it.
        with self.engine.begin() as db:
            row = db.execute(statement, values).first()
        return job_info(row) if row is not None else None

    def requeue(self, job_id: str, *, owner: str | None = None) -> JobInfo | None:
        """Put a job that was stopped with its process back in the queue."""
        if owner is None:
            with self.engine.begin() as db:
                row = db.execute(_FINISH, {"job_id": job_id, "status": "queued"}).first()
        else:
            values = {
                "job_id": job_id,
                "owner": owner,
                "status": "queued",
                "worker": None,
                "lease_until": None,
            }
            with self.engine.begin() as db:
                row = db.execute(_FINISH_OWNED, values).first()
        return job_info(row) if row is not None else None

    def cancel_queued(self, job_id: str) -> JobInfo | None:
        """Cancel the job if it is still queued (``None`` if it is not: running or over)."""
        with self.engine.begin() as db:
            row = db.execute(_CANCEL_QUEUED, {"job_id": job_id, "finished_at": utcnow()}).first()
        return job_info(row) if row is not None else None

    # -- leases (Celery workers) ----------------------------------------------------------------

    def renew(self, owner: str, lease: float) -> None:
        """Extend the lease of every job ``owner`` runs (one UPDATE whatever their number)."""
        with self.engine.begin() as db:
            db.execute(_RENEW, {"owner": owner, "lease_until": utcnow() + timedelta(seconds=lease)})

    def reap(self, max_attempts: int, now: datetime | None = None) -> list[JobInfo]:
        """Jobs whose lease ran out: queued again, or failed after ``max_attempts`` runs."""
        worker_lost = {
            "code": "worker_lost",
            "message": f"The job stopped its worker each of the {max_attempts} times it ran.",
            "http_status": 500,
        }
        values = {"now": now or utcnow(), "max_attempts": max_attempts, "worker_lost": worker_lost}
        with self.engine.begin() as db:
            rows = db.execute(_REAP, values).all()
        return [job_info(row) for row in rows]
