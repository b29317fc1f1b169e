"""Edit requests into ``edit`` jobs (jobs/edit.py), uploads into jobs of any kind, and any job
into the JSON the API shows."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from jobs.base import JobKind, P
from jobs.edit import EDIT, EditOptions, SessionTarget, cache_key, edit_params
from jobs.kinds import KINDS
from server.context import ServerContext
from server.scheduler import JobInfo
from server.schemas import JobOut, Progress


def submit_edit(
    ctx: ServerContext,
    tenant: str,
    options: EditOptions,
    *,
    input_blob: str,
    session: SessionTarget | None = None,
    idempotency_key: str | None = None,
) -> JobInfo:
    """Check the request (4xx now), choose the engine and queue the job on its pool."""
    params = edit_params(ctx.editors, ctx.settings.engine, options, session)
    return ctx.queue.submit_job(
        EDIT,
        params,
        tenant=tenant,
        input_blob=input_blob,
        priority=options.priority,
        cache_key=cache_key(params, input_blob),
        idempotency_key=idempotency_key,
    )


def submit_upload(
    ctx: ServerContext,
    tenant: str,
    kind: JobKind[P],
    data: bytes,
    params: Callable[[], P],
    *,
    priority: int = 0,
    idempotency_key: str | None = None,
) -> JobInfo:
    """Queue a job whose input is an uploaded file (a deck, a batch's archive): ``params`` checks
    the request first (a 4xx now, nothing stored), then the bytes are stored as the job's input.
    Call it from a worker thread: the checks read the file."""
    checked = params()
    return ctx.queue.submit_job(
        kind,
        checked,
        tenant=tenant,
        input_blob=ctx.store.blobs.put(data),
        priority=priority,
        idempotency_key=idempotency_key,
    )


def job_json(info: JobInfo, request: Request) -> JobOut:
    """The job as ``GET /v1/jobs/{id}`` shows it; its result URL built from the route's name."""
    result_url = None
    if info.status == "done" and info.result_blob:
        result_url = request.app.url_path_for("job_result", job_id=info.id)
    out = JobOut(
        job_id=info.id,
        kind=info.kind,
        status=info.status,
        priority=info.priority,
        progress=Progress(done=info.progress_done, total=info.progress_total),
        error=info.error and {k: v for k, v in info.error.items() if k in ("code", "message", "hint")},
        cached=info.cached,
        attempts=info.attempts,
        seconds=info.seconds,
        created_at=info.created_at.isoformat(),
        started_at=info.started_at.isoformat() if info.started_at else None,
        finished_at=info.finished_at.isoformat() if info.finished_at else None,
        result_url=result_url,
        result=info.result or None,
    )
    kind = KINDS.get(info.kind)
    session = kind.parse(info.params).session_ref() if kind is not None else None
    if session is not None:
        out.session_id, out.image_id = session
    return out
