"""Reviewing a batch through the service: its pictures' state, a picture redone, the decisions.

A batch submitted with ``review`` (jobs/batch.py) ends ``done`` with each picture's before and
after kept and no archive. Here:

- ``batch_items``: each picture as it stands now: the batch's own result, or its latest redo's
  (a redo still running shows ``redoing``; one that failed shows why).
- ``redo_item``: a ``batch`` job of that one picture with another instruction, itself kept for
  review, recorded in ``batch_redos``. The same instruction for the same picture is the same job
  (an idempotency key made of the batch, the picture and the instruction), so a repeated request
  edits nothing twice.
- ``review_batch``: the ``batch_review`` job that builds the archive (jobs/batch_review.py), with
  an idempotency key per batch: a repeated review with the same decisions is answered with the
  same job, other decisions are a 409.

Errors are in the language of the instruction at hand (the redo's, else the batch's).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Literal

from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from batch.manifest import in_language
from imgedit.errors import BadInputError, ConflictError, NotFoundError
from jobs.batch import BATCH, BatchParams, BatchResult, ReviewItem, batch_params
from jobs.batch_review import (
    BATCH_REVIEW,
    BatchRedoRow,
    BatchReviewRow,
    Decision,
    ReviewEntry,
    ReviewParams,
    stored_zip,
)
from server.context import ServerContext
from server.edits import submit_upload
from server.scheduler import JobInfo
from server.uploads import thumbnail

Side = Literal["before", "after"]
#: What a picture's file name says it is (a batch keeps every picture in its own format).
PICTURE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".bmp": "image/bmp",
}


@dataclass(frozen=True)
class Batch:
    """A batch job of the caller's tenant, with its params and (once done) its typed result."""

    info: JobInfo
    params: BatchParams
    result: BatchResult | None

    @property
    def language(self) -> str:
        """The text whose language the batch's messages take (its instruction or theme)."""
        return self.params.prompt or self.params.theme or ""

    def say(self, en: str, zh: str) -> str:
        return in_language(self.language, en, zh)


@dataclass(frozen=True)
class CurrentItem:
    """A picture as it stands: the batch's result, or its latest redo's. ``redo`` is that redo's
    job (``None`` when the picture was never redone)."""

    item: ReviewItem
    redo: JobInfo | None = None
    redo_instruction: str | None = None


def load_batch(ctx: ServerContext, tenant: str, job_id: str) -> Batch:
    """The batch ``job_id`` of ``tenant``; another tenant's, or a job of another kind, is a 404."""
    info = ctx.queue.get(job_id, tenant)
    if info.kind != BATCH.name:
        raise NotFoundError(f"No batch {job_id}.")
    result = BatchResult.model_validate(info.result) if info.status == "done" and info.result else None
    return Batch(info, BATCH.parse(info.params), result)


def review_job(ctx: ServerContext, tenant: str, batch: Batch) -> JobInfo | None:
    """The batch's review job, once there is one."""
    with ctx.db() as db:
        row = db.get(BatchReviewRow, batch.info.id)
        job_id = row.job_id if row is not None else None
    return ctx.queue.get(job_id, tenant) if job_id else None


def batch_items(ctx: ServerContext, tenant: str, batch: Batch) -> list[CurrentItem]:
    """Every picture of a batch kept for review, as it stands now (empty for any other batch)."""
    if batch.result is None or not batch.params.review:
        return []
    latest: dict[int, BatchRedoRow] = {}
    with ctx.db() as db:
        rows = db.scalars(
            select(BatchRedoRow).where(BatchRedoRow.batch_job_id == batch.info.id).order_by(BatchRedoRow.id)
        )
        for row in rows:
            latest[row.item] = row
    items = []
    for item in batch.result.items:
        last = latest.get(item.index)
        if last is None:
            items.append(CurrentItem(item))
            continue
        redo = ctx.queue.get(last.job_id, tenant)
        items.append(CurrentItem(_redone(item, redo, batch), redo, last.instruction))
    return items


def _redone(item: ReviewItem, redo: JobInfo, batch: Batch) -> ReviewItem:
    """``item`` as its redo left it: the redo's after and status once it is done, ``redoing``
    while it runs, ``failed`` with the reason when it did not finish."""
    if redo.status == "done" and redo.result:
        (done,) = BatchResult.model_validate(redo.result).items
        return item.model_copy(
            update={
                "status": done.status,
                "reason": done.reason,
                "instruction": done.instruction,
                "after": done.after,
            }
        )
    if redo.status in ("queued", "running"):
        return item.model_copy(update={"status": "redoing", "reason": "", "after": None})
    message = (redo.error or {}).get("message") or batch.say(f"The redo was {redo.status}.", "重做未完成。")
    return item.model_copy(update={"status": "failed", "reason": str(message), "after": None})


def _item(items: list[CurrentItem], index: int, batch: Batch) -> CurrentItem:
    if not 0 <= index < len(items):
        raise NotFoundError(
            batch.say(
                f"Batch {batch.info.id} has no picture {index}.",
                f"批量任务 {batch.info.id} 没有第 {index} 张图片。",
            )
        )
    return items[index]


def _stored(ctx: ServerContext, batch: Batch, item: ReviewItem, digest: str) -> bytes:
    """A picture's bytes; one whose blob is gone (an unreadable upload a failed one-shot edit's
    clean-up removed, server/input_cleanup.py) is a 404 naming the picture, not the store."""
    try:
        return ctx.store.blobs.get(digest)
    except NotFoundError:
        raise NotFoundError(
            batch.say(f"{item.name} is no longer stored.", f"{item.name} 已不在存储中。")
        ) from None


def _open_for_review(ctx: ServerContext, tenant: str, job_id: str, language: str | None = None) -> Batch:
    """The batch, checked to be one kept for review whose edits are over."""
    batch = load_batch(ctx, tenant, job_id)
    text = language if language is not None else batch.language
    if not batch.params.review:
        raise ConflictError(
            in_language(
                text,
                f"Batch {job_id} was not submitted for review: its archive was built at once.",
                f"批量任务 {job_id} 提交时没有要求审核，结果压缩包已直接生成。",
            ),
            hint=in_language(text, "Submit it with review=true.", "提交时请加上 review=true。"),
        )
    if batch.result is None:
        raise ConflictError(
            in_language(
                text,
                f"Batch {job_id} is {batch.info.status}: its pictures can be reviewed once it is done.",
                f"批量任务 {job_id} 的状态是 {batch.info.status}：完成后才能审核图片。",
            )
        )
    return batch


def redo_item(ctx: ServerContext, tenant: str, job_id: str, index: int, instruction: str) -> CurrentItem:
    """Redo picture ``index`` of the batch with ``instruction`` (from a worker thread: it checks
    the instruction as a batch submission does). Answers the picture as it stands, its redo queued."""
    instruction = instruction.strip()
    batch = _open_for_review(ctx, tenant, job_id, instruction)
    if not instruction:
        raise BadInputError(
            batch.say("Say how to redo the picture: an instruction.", "请写下重做这张图片的指令。")
        )
    review = review_job(ctx, tenant, batch)
    if review is not None:
        raise ConflictError(
            in_language(
                instruction,
                f"Batch {job_id} is reviewed already (job {review.id}); "
                "its pictures can no longer be redone.",
                f"批量任务 {job_id} 已审核（任务 {review.id}），不能再重做其中的图片。",
            )
        )
    item = _item(batch_items(ctx, tenant, batch), index, batch).item
    if item.before is None:
        raise BadInputError(
            in_language(
                instruction,
                f"{item.name} could not be read, so it cannot be redone: {item.reason}",
                f"{item.name} 无法读取，不能重做：{item.reason}",
            )
        )
    archive = stored_zip([(item.output, _stored(ctx, batch, item, item.before))])
    params = batch.params

    def redo_params() -> BatchParams:
        return batch_params(
            ctx.editors,
            ctx.settings,
            data=archive,
            filename=params.filename,
            prompt=instruction,
            theme=None,
            glossary=params.glossary.encode("utf-8") if params.glossary is not None else None,
            engine=params.engine,
            seed=params.seed,
            review=True,
        )

    digest = hashlib.sha256(instruction.encode("utf-8")).hexdigest()[:32]
    key = f"batch-redo:{job_id}:{index}:{digest}"
    redo = submit_upload(ctx, tenant, BATCH, archive, redo_params, idempotency_key=key)
    with ctx.db() as db, db.begin():
        last = db.scalars(
            select(BatchRedoRow)
            .where(BatchRedoRow.batch_job_id == job_id, BatchRedoRow.item == index)
            .order_by(BatchRedoRow.id.desc())
            .limit(1)
        ).first()
        if last is None or last.job_id != redo.id:  # the same request again changes nothing
            db.add(BatchRedoRow(batch_job_id=job_id, item=index, job_id=redo.id, instruction=instruction))
    return CurrentItem(_redone(item, redo, batch), redo, instruction)


def review_batch(ctx: ServerContext, tenant: str, job_id: str, decisions: dict[int, Decision]) -> JobInfo:
    """Queue the job that builds the batch's archive: an approved picture's edit, a rejected
    picture's original; a picture without a decision is approved when it has an edit and left
    out when it has none (as a batch without review leaves out its failures)."""
    batch = _open_for_review(ctx, tenant, job_id)
    assert batch.result is not None
    items = batch_items(ctx, tenant, batch)
    for index in decisions:
        _item(items, index, batch)
    entries = []
    for current in items:
        item = current.item
        if item.status == "redoing":
            raise ConflictError(
                batch.say(
                    f"{item.output} is still being redone; review the batch once it is done.",
                    f"{item.output} 还在重做中；请等它完成后再审核。",
                )
            )
        decision = decisions.get(item.index, "approve" if item.after else None)
        if decision == "approve" and item.after is None:
            raise BadInputError(
                batch.say(
                    f"{item.output} has no edited picture to approve ({item.reason or item.status}); "
                    "reject it to keep the original, or redo it.",
                    f"{item.output} 没有可批准的修改结果（{item.reason or item.status}）；"
                    "可以拒绝以保留原图，或重做。",
                )
            )
        if decision == "approve":
            entries.append(
                ReviewEntry(item=item.index, output=item.output, outcome="approved", blob=item.after)
            )
        elif decision == "reject" and item.before is not None:
            entries.append(
                ReviewEntry(item=item.index, output=item.output, outcome="rejected", blob=item.before)
            )
        else:
            entries.append(ReviewEntry(item=item.index, output=item.output, outcome="left_out"))
    params = ReviewParams(batch_job_id=job_id, filename=batch.result.filename, entries=entries)
    try:
        info = ctx.queue.submit_job(
            BATCH_REVIEW, params, tenant=tenant, idempotency_key=f"batch-review:{job_id}"
        )
    except ConflictError:
        raise ConflictError(
            batch.say(
                f"Batch {job_id} was already reviewed with other decisions; its archive is built from those.",
                f"批量任务 {job_id} 已按另一组决定审核过，压缩包按那次的决定生成。",
            ),
            hint=batch.say("GET the batch to see its review job.", "可查询该批量任务，查看它的审核任务。"),
        ) from None
    try:
        with ctx.db() as db, db.begin():
            if db.get(BatchReviewRow, job_id) is None:
                db.add(BatchReviewRow(batch_job_id=job_id, job_id=info.id))
    except IntegrityError:
        pass  # a concurrent identical review recorded the same job first
    return info


def item_picture(
    ctx: ServerContext, tenant: str, job_id: str, index: int, side: Side, max_side: int | None
) -> tuple[bytes, str]:
    """A picture's before or after (a thumbnail with ``max_side``) and its media type."""
    batch = load_batch(ctx, tenant, job_id)
    item = _item(batch_items(ctx, tenant, batch), index, batch).item
    digest = item.before if side == "before" else item.after
    if digest is None:
        what = "原图" if side == "before" else "修改结果"
        raise NotFoundError(
            batch.say(
                f"Picture {index} of batch {job_id} has no {side} picture ({item.reason or item.status}).",
                f"批量任务 {job_id} 的第 {index} 张图片没有{what}（{item.reason or item.status}）。",
            )
        )
    data = _stored(ctx, batch, item, digest)
    suffix = "." + item.output.rsplit(".", 1)[-1].lower() if "." in item.output else ""
    media_type = PICTURE_TYPES.get(suffix, "application/octet-stream")
    if not max_side:
        return data, media_type
    fmt = "JPEG" if media_type == "image/jpeg" else "PNG"
    try:
        with Image.open(io.BytesIO(data)) as header:  # the header only: refuse a pixel bomb undecoded
            pixels = header.width * header.height
        if pixels > ctx.settings.max_image_pixels:
            raise ValueError(f"{pixels} pixels")
        small, out = ctx.decoder.run(lambda: thumbnail(data, fmt, max_side))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        # A picture the batch refused as unreadable or too large has no preview either.
        raise BadInputError(
            batch.say(
                f"{item.name} cannot be shown as a thumbnail ({exc}).",
                f"{item.name} 无法显示为缩略图（{exc}）。",
            )
        ) from exc
    return small, "image/jpeg" if out == "JPEG" else "image/png"
