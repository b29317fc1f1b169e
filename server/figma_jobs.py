"""The Figma bridge's job: restyle many image fills as one scheduled job, each distinct image once.

A ``figma`` job's params hold the plan and the items (fills) of one ``restyle`` request. The
runner edits each distinct upload once, stores the result, and records it in ``figma_results``
*before* reporting progress, so whoever hears the progress event finds the result in the
database, and a re-run after a restart skips the images already done.

Uploads are recorded per tenant in ``figma_uploads``: blob names are content hashes shared by
everyone, and a tenant may only name the blobs it uploaded itself.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import JSON, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from engine import Editor, EditPlan
from engine.plan import Theme
from imgedit.config import Settings
from imgedit.errors import BadInputError, EditCancelledError, ImgEditError, NotFoundError
from plugins.pptx.codec import EDITABLE_FORMATS, decode_part, encode_like
from server.runners import Editors
from server.scheduler import JobInfo
from server.scheduler.local import JobContext, JobOutcome
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


def build_plan(editor: Editor, *, theme: str | None, instruction: str | None) -> EditPlan:
    """The one plan for every fill; refused now (a 4xx) rather than as a failed job later.

    Geometry changes are refused: a fill's ``imageTransform`` crops the image in its own
    coordinates, so a crop or rotation of the pixels would reframe every fill that shows it.
    """
    if (theme is None) == (instruction is None):
        raise BadInputError("Give exactly one of 'theme' or 'instruction'.")
    if theme is not None:
        from engine.themes import get_theme

        found = get_theme(theme, extra_dir=editor.settings.themes_dir)  # NotFoundError lists the themes
        plan = EditPlan(instruction=f"theme:{found.name}", operations=[Theme(name=found.name)])
    else:
        plan = editor.parse(instruction or "")
    if plan.changes_geometry:
        raise BadInputError(
            f"'{plan.instruction}' would crop, resize, rotate or flip the images; a restyle keeps each "
            "fill's framing.",
            hint="Ask for a look (a theme, colours, tone, text) rather than a geometry change.",
        )
    editor.choose_backend(plan)  # UnsupportedOperationError now, naming what is missing
    return plan


def fit_within(image: Image.Image, max_side: int) -> Image.Image:
    """``image`` scaled down (aspect ratio kept) so no side exceeds ``max_side``."""
    if max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


class FigmaRunner:
    """Runs ``figma`` jobs: every distinct uploaded image through the job's plan, once."""

    def __init__(
        self, editors: Editors, store: SessionStore, settings: Settings, db: sessionmaker[Session]
    ) -> None:
        self.editors = editors
        self.store = store
        self.settings = settings
        self.db = db

    def __call__(self, job: JobInfo, ctx: JobContext) -> JobOutcome:
        params = job.params
        plan = EditPlan.model_validate(params["plan"])
        editor = self.editors.get(params.get("engine") or "classic")
        items: list[dict[str, Any]] = params["items"]
        fills_per_upload: dict[str, int] = {}
        for item in items:
            fills_per_upload[item["upload_id"]] = fills_per_upload.get(item["upload_id"], 0) + 1
        finished = job_results(self.db, job.id)
        done = sum(fills_per_upload[upload] for upload in finished if upload in fills_per_upload)
        ctx.progress(done, len(items))
        for upload_id, fills in fills_per_upload.items():
            if upload_id in finished:
                continue
            ctx.cancel.raise_if_cancelled()
            self._record(job.id, upload_id, self._restyle(editor, plan, params, upload_id, ctx))
            done += fills
            ctx.progress(done, len(items))
        results = job_results(self.db, job.id)
        failed = sum(1 for result in results.values() if result.status != "done")
        return JobOutcome(result={"images": len(results), "failed_images": failed, "items": len(items)})

    def _restyle(
        self, editor: Editor, plan: EditPlan, params: dict[str, Any], upload_id: str, ctx: JobContext
    ) -> FigmaResultRow:
        """One image through the plan; a problem with this image is its result, not the job's end."""
        try:
            name = f"image {upload_id[:12]}"
            decoded = decode_part(
                self.store.blobs.get(upload_id), name, max_pixels=self.settings.max_image_pixels
            )
            result = editor.edit(
                image=decoded.image,
                prompt=plan.instruction,
                plan=plan,
                seed=params.get("seed"),
                cancel=ctx.cancel,
            )
            image = fit_within(result.image, int(params.get("max_side") or FIGMA_MAX_SIDE))
            data = encode_like(image, decoded)
        except EditCancelledError:
            raise
        except ImgEditError as exc:
            return FigmaResultRow(status="failed", error=exc.to_dict())
        return FigmaResultRow(
            status="done",
            result_blob=self.store.blobs.put(data),
            format=decoded.format,
            width=image.width,
            height=image.height,
        )

    def _record(self, job_id: str, upload_id: str, row: FigmaResultRow) -> None:
        row.job_id, row.upload_id = job_id, upload_id
        with self.db.begin() as session:
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
    """Format and size of an upload, checked the way the runner will decode it."""
    try:
        fmt = (Image.open(io.BytesIO(data)).format or "").upper()
    except (UnidentifiedImageError, OSError):
        fmt = ""
    if fmt not in EDITABLE_FORMATS:
        raise BadInputError(
            f"The upload is {fmt or 'not an image'}; the Figma bridge restyles PNG and JPEG fills.",
            hint="GIF and other fills are left as they are (a GIF would lose its animation).",
        )
    decoded = decode_part(data, "The upload", max_pixels=max_pixels)
    return decoded.format, decoded.image.width, decoded.image.height
