"""The ``figma`` job: restyle many image fills as one job, each distinct image once.

A ``figma`` job's params hold the plan and the items (fills) of one ``restyle`` request. The job
edits each distinct upload once, stores the result, and records it in ``figma_results``
*before* reporting progress, so whoever hears the progress event finds the result in the
database, and a re-run (after a restart, or a redelivery) skips the images already done: each
image's effect happens once per job.

Uploads are recorded per tenant in ``figma_uploads``: blob names are content hashes shared by
everyone, and a tenant may only name the blobs it uploaded itself.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from PIL import Image
from pydantic import BaseModel
from sqlalchemy import JSON, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from engine import Editor, EditPlan
from engine.imageio import decode_checked
from engine.restyle import restyle_plan
from imgedit.errors import BadInputError, EditCancelledError, ImageTooLargeError, ImgEditError, NotFoundError
from jobs.base import JobContext, JobKind, JobOutcome, JobParams, Pool, engine_pool
from jobs.editors import Editors
from plugins.pptx.codec import EDITABLE_FORMATS, decode_part, encode_like
from sessions import SessionStore
from sessions.db import Base, utcnow

JOB_KIND = "figma"
#: Figma's ``createImage`` refuses images larger than this on either side.
FIGMA_MAX_SIDE = 4096


class FigmaUploadRow(Base):
    """An image a tenant uploaded for the bridge (the bytes live in the blob store)."""

    __tablename__ = "figma_uploads"

    tenant: Mapped[str] = mapped_column(String(128), primary_key=True)
    blob: Mapped[str] = mapped_column(String(64), primary_key=True)
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[Any] = mapped_column(DateTime(timezone=True), default=utcnow)


class FigmaResultRow(Base):
    """The outcome for one distinct image of a job: an edited blob, or an error."""

    __tablename__ = "figma_results"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    upload_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(8))  # "done" | "failed"
    result_blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    format: Mapped[str | None] = mapped_column(String(8), nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[Any] = mapped_column(DateTime(timezone=True), default=utcnow)


@dataclass(frozen=True)
class ImageResult:
    upload_id: str
    status: str
    result_blob: str | None
    format: str | None
    width: int | None
    height: int | None
    error: dict[str, Any] | None


def record_upload(
    db: sessionmaker[Session], tenant: str, blob: str, fmt: str, width: int, height: int
) -> None:
    with db.begin() as session:
        if session.get(FigmaUploadRow, (tenant, blob)) is None:
            session.add(FigmaUploadRow(tenant=tenant, blob=blob, format=fmt, width=width, height=height))


def missing_uploads(db: sessionmaker[Session], tenant: str, upload_ids: Iterable[str]) -> list[str]:
    """The ids among ``upload_ids`` that ``tenant`` never uploaded."""
    wanted = set(upload_ids)
    with db() as session:
        rows = session.scalars(
            select(FigmaUploadRow.blob).where(
                FigmaUploadRow.tenant == tenant, FigmaUploadRow.blob.in_(wanted)
            )
        ).all()
    return sorted(wanted - set(rows))


def job_results(db: sessionmaker[Session], job_id: str) -> dict[str, ImageResult]:
    """The finished images of a job, by upload id."""
    with db() as session:
        rows = session.scalars(select(FigmaResultRow).where(FigmaResultRow.job_id == job_id)).all()
        return {
            row.upload_id: ImageResult(
                row.upload_id, row.status, row.result_blob, row.format, row.width, row.height, row.error
            )
            for row in rows
        }


def fit_within(image: Image.Image, max_side: int) -> Image.Image:
    """``image`` scaled down (aspect ratio kept) so no side exceeds ``max_side``."""
    if max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


class FigmaItem(BaseModel):
    """One fill of a restyle request, as the job keeps it (the protocol's ``RestyleItem``)."""

    item_id: str
    node_id: str
    paint_index: int
    image_hash: str
    upload_id: str


class FigmaParams(JobParams):
    plan: EditPlan
    theme: str | None = None
    instruction: str | None = None
    engine: str = "classic"
    seed: int | None = None
    max_side: int = FIGMA_MAX_SIDE
    items: list[FigmaItem]


def figma_params(
    editors: Editors,
    *,
    engine: str,
    theme: str | None,
    instruction: str | None,
    seed: int | None,
    items: list[FigmaItem],
) -> FigmaParams:
    """The job for a restyle request; a bad theme or instruction is refused now, not as a failed job."""
    editor = editors.get(engine)
    plan = restyle_plan(editor, theme=theme, instruction=instruction)
    backend = editor.choose_backend(plan)
    return FigmaParams(
        plan=plan,
        theme=theme,
        instruction=instruction,
        engine=backend.name,
        seed=seed,
        items=items,
    )


def pool(params: FigmaParams) -> Pool:
    return engine_pool(params.engine)


def run(params: FigmaParams, ctx: JobContext) -> JobOutcome:
    """Every distinct uploaded image through the job's plan, once."""
    editor = ctx.editor(params.engine)
    items = params.items
    fills_per_upload: dict[str, int] = {}
    for item in items:
        fills_per_upload[item.upload_id] = fills_per_upload.get(item.upload_id, 0) + 1
    finished = job_results(ctx.db, ctx.job_id)
    done = sum(fills_per_upload[upload] for upload in finished if upload in fills_per_upload)
    ctx.progress(done, len(items))
    for upload_id, fills in fills_per_upload.items():
        if upload_id in finished:
            continue
        ctx.cancel.raise_if_cancelled()
        _record(ctx.db, ctx.job_id, upload_id, _restyle(editor, params, upload_id, ctx))
        done += fills
        ctx.progress(done, len(items))
    results = job_results(ctx.db, ctx.job_id)
    failed = sum(1 for result in results.values() if result.status != "done")
    return JobOutcome(result={"images": len(results), "failed_images": failed, "items": len(items)})


def _restyle(editor: Editor, params: FigmaParams, upload_id: str, ctx: JobContext) -> FigmaResultRow:
    """One image through the plan; a problem with this image is its result, not the job's end."""
    try:
        name = f"image {upload_id[:12]}"
        decoded = decode_part(ctx.store.blobs.get(upload_id), name, max_pixels=ctx.settings.max_image_pixels)
        result = editor.edit(
            image=decoded.image,
            prompt=params.plan.instruction,
            plan=params.plan,
            seed=params.seed,
            cancel=ctx.cancel,
        )
        image = fit_within(result.image, params.max_side)
        data = encode_like(image, decoded)
    except EditCancelledError:
        raise
    except ImgEditError as exc:
        return FigmaResultRow(status="failed", error=exc.to_dict())
    return FigmaResultRow(
        status="done",
        result_blob=ctx.store.blobs.put(data),
        format=decoded.format,
        width=image.width,
        height=image.height,
    )


def _record(db: sessionmaker[Session], job_id: str, upload_id: str, row: FigmaResultRow) -> None:
    row.job_id, row.upload_id = job_id, upload_id
    with db.begin() as session:
        if session.get(FigmaResultRow, (job_id, upload_id)) is None:
            session.add(row)


def result_bytes(
    db: sessionmaker[Session], store: SessionStore, job_id: str, upload_id: str
) -> tuple[bytes, str]:
    """The edited bytes of one image of a job, and their format (the caller checked the tenant)."""
    with db() as session:
        row = session.get(FigmaResultRow, (job_id, upload_id))
        if row is None or row.status != "done" or not row.result_blob:
            raise NotFoundError(f"Job {job_id} has no result for upload {upload_id}.")
        blob, fmt = row.result_blob, row.format or "PNG"
    return store.blobs.get(blob), fmt


def image_header(data: bytes, *, max_pixels: int) -> tuple[str, int, int]:
    """Format and size of an upload, from its header alone, with the checks the runner decodes by.

    The pixels are decoded by the job, in a worker (an image whose pixels turn out unreadable is
    that fill's error), so a small file that decodes into a huge image costs the server process
    nothing here, and one over the pixel limit is a ``413`` like on every other upload route.
    """
    try:
        opened = decode_checked(
            data,
            "The upload",
            max_pixels=max_pixels,
            formats=EDITABLE_FORMATS,
            accepted="the Figma bridge restyles PNG and JPEG fills",
            readable="PNG or JPEG",
            header_only=True,
        )
    except ImageTooLargeError:
        raise
    except BadInputError as exc:
        fmt = _sniff_format(data)
        if fmt in EDITABLE_FORMATS:
            raise
        raise BadInputError(
            f"The upload is {fmt or 'not an image'}; the Figma bridge restyles PNG and JPEG fills.",
            hint="GIF and other fills are left as they are (a GIF would lose its animation).",
        ) from exc
    with opened:
        return (opened.format or "").upper(), opened.width, opened.height


def _sniff_format(data: bytes) -> str:
    """The format Pillow names for ``data`` from its first bytes, or ``""``."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            return (opened.format or "").upper()
    except Exception:  # any failure to recognise the bytes means "not an image" here
        return ""


FIGMA = JobKind(JOB_KIND, FigmaParams, pool, run)
