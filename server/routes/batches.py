"""Batch edits through the service: ``POST /v1/batches`` (a .zip of pictures, or of pictures and a
``manifest.csv``), queued as a ``batch`` job; progress per picture over ``/v1/ws``, cancel with
``DELETE /v1/jobs/{id}``, the edited .zip from ``GET /v1/jobs/{id}/result``. With ``review`` the
pictures wait for a person: ``GET /v1/batches/{id}`` shows each before and after, a picture can be
redone with another instruction, and ``POST /v1/batches/{id}/review`` builds the archive
(server/batch_review.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Header, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from engine.parsing.language import reply_language
from imgedit.errors import answered_in
from jobs.batch import BATCH, BatchParams, batch_params
from server.batch_review import (
    PICTURE_TYPES,
    CurrentItem,
    batch_items,
    item_picture,
    load_batch,
    redo_item,
    review_batch,
    review_job,
)
from server.deps import Caller, Ctx
from server.edits import job_json, submit_upload
from server.routes.jobs import idempotency
from server.schemas import BatchItemOut, BatchOut, JobOut, RedoRequest, ReviewRequest
from server.uploads import read_upload

router = APIRouter(prefix="/v1", tags=["batches"])


@router.post(
    "/batches",
    status_code=202,
    response_model=JobOut,
    response_model_exclude_unset=True,
    summary="Queue a batch edit (multipart `file`: a .zip; `prompt` or `theme`; `glossary` CSV; `review`)",
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
    review: Annotated[bool, Form()] = False,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JobOut:
    """Returns ``{"job_id"}`` at once; an archive that cannot be read, holds no pictures, or an
    instruction or theme that cannot be done is refused here with a 4xx. The job's JSON carries the
    per-picture report (``result.report.items``: each picture's status and, for a bad one, why).
    With ``review=true`` no archive is built: see ``GET /v1/batches/{id}``."""
    key = idempotency(idempotency_key)
    data = await read_upload(file, ctx.settings.max_upload_bytes)
    terms = await read_upload(glossary, ctx.settings.max_upload_bytes) if glossary is not None else None

    def params() -> BatchParams:
        with answered_in(reply_language(prompt or theme or "")):
            return batch_params(
                ctx.editors,
                ctx.settings,
                data=data,
                filename=file.filename,
                prompt=prompt or None,
                theme=theme or None,
                glossary=terms,
                engine=engine,
                seed=seed,
                review=review,
            )

    info = await run_in_threadpool(
        submit_upload, ctx, who.tenant, BATCH, data, params, priority=priority, idempotency_key=key
    )
    return job_json(info, request)


def _item_out(current: CurrentItem, request: Request, job_id: str) -> BatchItemOut:
    item = current.item

    def url(side: str) -> str:
        return request.app.url_path_for("batch_picture", job_id=job_id, index=str(item.index), side=side)

    return BatchItemOut(
        index=item.index,
        name=item.name,
        output=item.output,
        status=item.status,
        reason=item.reason,
        instruction=item.instruction,
        before_url=url("before") if item.before else None,
        after_url=url("after") if item.after else None,
        redo_job_id=current.redo.id if current.redo else None,
    )


@router.get("/batches/{job_id}", response_model=BatchOut, summary="A batch, its pictures and its review")
def get_batch(job_id: str, request: Request, ctx: Ctx, who: Caller) -> BatchOut:
    """For a batch kept for review: each picture's status, reason and before/after URLs (after
    its latest redo), and the review job once the batch is reviewed."""
    batch = load_batch(ctx, who.tenant, job_id)
    review = review_job(ctx, who.tenant, batch)
    return BatchOut(
        job=job_json(batch.info, request),
        review=batch.params.review,
        items=[_item_out(current, request, job_id) for current in batch_items(ctx, who.tenant, batch)],
        review_job=job_json(review, request) if review is not None else None,
    )


@router.get(
    "/batches/{job_id}/items/{index}/{side}",
    name="batch_picture",
    response_class=Response,
    responses={200: {"content": {media_type: {} for media_type in sorted(set(PICTURE_TYPES.values()))}}},
    summary="A picture of a batch under review, before or after; `max_side` gives a thumbnail",
)
def batch_picture(
    job_id: str,
    index: int,
    side: Literal["before", "after"],
    ctx: Ctx,
    who: Caller,
    max_side: Annotated[int | None, Query(ge=16, le=2048)] = None,
) -> Response:
    data, media_type = item_picture(ctx, who.tenant, job_id, index, side, max_side)
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, no-cache"})


@router.post(
    "/batches/{job_id}/items/{index}/redo",
    status_code=202,
    response_model=BatchItemOut,
    summary="Redo a picture of a batch under review with another instruction",
)
def redo_batch_item(
    job_id: str, index: int, body: RedoRequest, request: Request, ctx: Ctx, who: Caller
) -> BatchItemOut:
    """Queues a ``batch`` job of that picture (follow ``redo_job_id`` on ``/v1/ws``); the picture
    shows its new after once it is done. The same instruction again is the same redo."""
    return _item_out(redo_item(ctx, who.tenant, job_id, index, body.instruction), request, job_id)


@router.post(
    "/batches/{job_id}/review",
    status_code=202,
    response_model=JobOut,
    response_model_exclude_unset=True,
    summary="Approve or reject each picture; queues the job that builds the archive",
)
def review_batch_pictures(
    job_id: str, body: ReviewRequest, request: Request, ctx: Ctx, who: Caller
) -> JobOut:
    """An approved picture goes in the archive edited, a rejected one as it was uploaded; the
    archive is the returned job's result (``GET /v1/jobs/{id}/result``). Repeating the same
    review answers the same job; other decisions after a review are a 409."""
    decisions = {d.item: d.decision for d in body.decisions}
    return job_json(review_batch(ctx, who.tenant, job_id, decisions), request)
