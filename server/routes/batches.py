"""Batch edits through the service: ``POST /v1/batches`` (a .zip of pictures, or of pictures and a
``manifest.csv``), queued as a ``batch`` job; progress per picture over ``/v1/ws``, cancel with
``DELETE /v1/jobs/{id}``, the edited .zip from ``GET /v1/jobs/{id}/result``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from jobs.batch import BATCH, batch_params
from server.deps import Caller, Ctx
from server.edits import job_json
from server.routes.jobs import idempotency
from server.schemas import JobOut
from server.uploads import read_upload

router = APIRouter(prefix="/v1", tags=["batches"])


@router.post(
    "/batches",
    status_code=202,
    response_model=JobOut,
    response_model_exclude_unset=True,
    summary="Queue a batch edit (multipart `file`: a .zip; `prompt` or `theme`; `glossary` CSV)",
)
async def create_batch(
    request: Request,
    ctx: Ctx,
    who: Caller,
    file: Annotated[UploadFile, File(description="A .zip of pictures, optionally with a manifest.csv.")],
    prompt: Annotated[str | None, Form(max_length=2000)] = None,
    theme: Annotated[str | None, Form(max_length=100)] = None,
    glossary: Annotated[UploadFile | None, File(description="source,target phrases (CSV).")] = None,
    engine: Annotated[str | None, Form(pattern="^(auto|classic|qwen)$")] = None,
    seed: Annotated[int, Form(ge=0, le=2**31 - 1)] = 0,
    priority: Annotated[int, Form(ge=-10, le=10)] = 0,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JobOut:
    """Returns ``{"job_id"}`` at once; an archive that cannot be read, holds no pictures, or an
    instruction or theme that cannot be done is refused here with a 4xx. The job's JSON carries the
    per-picture report (``result.report.items``: each picture's status and, for a bad one, why)."""
    key = idempotency(idempotency_key)
    data = await read_upload(file, ctx.settings.max_upload_bytes)
    terms = await read_upload(glossary, ctx.settings.max_upload_bytes) if glossary is not None else None

    def submit() -> JobOut:
        params = batch_params(
            ctx.editors,
            ctx.settings,
            data=data,
            filename=file.filename,
            prompt=prompt or None,
            theme=theme or None,
            glossary=terms,
            engine=engine,
            seed=seed,
        )
        info = ctx.queue.submit_job(
            BATCH,
            params,
            tenant=who.tenant,
            input_blob=ctx.store.blobs.put(data),
            priority=priority,
            idempotency_key=key,
        )
        return job_json(info, request)

    return await run_in_threadpool(submit)
