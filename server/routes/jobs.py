"""One-shot edits and jobs: ``POST /v1/edits``, ``GET/DELETE /v1/jobs/{id}``, the result bytes."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Header, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from engine.parsing.language import reply_language
from imgedit.errors import BadInputError, NotFoundError, answered_in
from jobs.edit import EditOptions
from server.blob_responses import blob_response
from server.deps import Caller, Ctx
from server.edits import job_json, submit_edit
from server.schemas import JobAccepted, JobList, JobOut
from server.uploads import check_image_header, read_upload

router = APIRouter(prefix="/v1", tags=["jobs"])

MEDIA_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "PPTX": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "ZIP": "application/zip",
}


def idempotency(key: str | None) -> str | None:
    if key is not None and not 1 <= len(key) <= 200:
        raise BadInputError("Idempotency-Key must be 1 to 200 characters.")
    return key


@router.post(
    "/edits",
    status_code=202,
    response_model=JobAccepted,
    summary="Queue a one-shot edit of an uploaded image",
)
async def create_edit(
    ctx: Ctx,
    who: Caller,
    file: Annotated[UploadFile, File(description="PNG, JPEG or WebP.")],
    instruction: Annotated[str, Form(max_length=2000)],
    engine: Annotated[str | None, Form(pattern="^(auto|classic|qwen)$")] = None,
    seed: Annotated[int | None, Form(ge=0, le=2**31 - 1)] = None,
    steps: Annotated[int | None, Form(ge=1, le=200)] = None,
    cfg: Annotated[float | None, Form(ge=0.0, le=30.0)] = None,
    negative_prompt: Annotated[str | None, Form(max_length=2000)] = None,
    preserve: Annotated[bool, Form()] = True,
    max_edit_area: Annotated[float | None, Form(gt=0.0, le=1.0)] = None,
    format: Annotated[str | None, Form(pattern="^(?i:png|jpeg|webp)$")] = None,
    priority: Annotated[int, Form(ge=-10, le=10)] = 0,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JobAccepted:
    """Returns ``{"job_id"}`` at once; follow it with ``GET /v1/jobs/{id}`` or the WebSocket."""
    key = idempotency(idempotency_key)
    with answered_in(reply_language(instruction)):
        data = await read_upload(file, ctx.settings.max_upload_bytes)
    options = EditOptions(
        instruction=instruction,
        engine=engine,
        seed=seed,
        steps=steps,
        cfg=cfg,
        negative_prompt=negative_prompt,
        preserve=preserve,
        max_edit_area=max_edit_area,
        format=format,
        priority=priority,
    )

    def submit() -> JobAccepted:
        with answered_in(reply_language(instruction)):
            check_image_header(data, name=file.filename or "", max_pixels=ctx.settings.max_image_pixels)
            digest = ctx.store.blobs.put(data)
            info = submit_edit(ctx, who.tenant, options, input_blob=digest, idempotency_key=key)
        return JobAccepted(job_id=info.id, status=info.status, cached=info.cached)

    # Uploads up to IMGEDIT_INLINE_UPLOAD_BYTES (1 MB) are checked, stored and queued on the event
    # loop: under a millisecond here (a header read, the blob written and synced, the instruction
    # parsed by the rules once per distinct text, two SQLite statements), less than the hop to a
    # worker thread costs (1 ms of the server's CPU per edit less in bench/server_load.py). The
    # sync holds the loop meanwhile: where it takes milliseconds, the setting is 0. Larger
    # uploads, any whose instruction a remote model parses (IMGEDIT_LLM=openai), and every upload
    # to a remote blob store (S3: a network round trip) use a thread.
    inline = ctx.settings.llm == "rules" and ctx.store.blobs.local
    if inline and len(data) <= ctx.settings.inline_upload_bytes:
        return submit()
    return await run_in_threadpool(submit)


@router.get(
    "/jobs", response_model=JobList, response_model_exclude_unset=True, summary="The caller's newest jobs"
)
def list_jobs(request: Request, ctx: Ctx, who: Caller, active: bool = False) -> JobList:
    return JobList(jobs=[job_json(j, request) for j in ctx.queue.list(who.tenant, active_only=active)])


@router.get(
    "/jobs/{job_id}",
    response_model=JobOut,
    response_model_exclude_unset=True,
    summary="A job's status, progress, error and result URL",
)
async def get_job(job_id: str, request: Request, ctx: Ctx, who: Caller) -> JobOut:
    """``async``: memory or one primary-key read, cheaper on the event loop than a thread hop
    (server/deps.py)."""
    return job_json(ctx.queue.get(job_id, who.tenant), request)


@router.delete(
    "/jobs/{job_id}",
    response_model=JobOut,
    response_model_exclude_unset=True,
    summary="Cancel a queued or running job",
)
def cancel_job(job_id: str, request: Request, ctx: Ctx, who: Caller) -> JobOut:
    return job_json(ctx.queue.cancel(job_id, who.tenant), request)


@router.get(
    "/jobs/{job_id}/result",
    summary="The job's output bytes (an image, a .pptx for decks, a .zip for batches)",
    response_class=Response,
    responses={200: {"content": {media_type: {} for media_type in MEDIA_TYPES.values()}}},
)
async def job_result(job_id: str, ctx: Ctx, who: Caller) -> Response:
    """The result bytes; ``async`` like ``get_job``: a job read costs less on the event loop than
    the hop to a worker thread. ``blob_response`` streams large results (decks), or redirects to
    a presigned URL where that is configured."""
    info = ctx.queue.get(job_id, who.tenant)
    if info.status != "done" or not info.result_blob:
        raise NotFoundError(
            f"Job {job_id} has no result ({info.status}).", hint="Wait until its status is 'done'."
        )
    fmt = info.result_format or "PNG"
    suffix = {"JPEG": "jpg"}.get(fmt, fmt.lower())
    # A deck or a batch's archive is a download named after the upload; an image shows in the browser.
    filename = str(info.result.get("filename") or f"{job_id}.{suffix}")
    disposition = "attachment" if fmt in ("PPTX", "ZIP") else "inline"
    media_type = MEDIA_TYPES.get(fmt, "application/octet-stream")
    headers = {"Content-Disposition": content_disposition(disposition, filename)}
    return await blob_response(
        ctx.store.blobs, info.result_blob, ctx.settings, media_type=media_type, headers=headers
    )


def content_disposition(disposition: str, filename: str) -> str:
    """``attachment; filename="..."`` with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    if fallback == filename:
        return f'{disposition}; filename="{filename}"'
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
