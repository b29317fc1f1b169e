"""The review of a batch kept for review: its redos, its decision, and the ``batch_review`` job
that builds the archive once the pictures are approved or rejected.

A batch job run with ``review`` (jobs/batch.py) ends with each picture's before and after in the
blob store and builds no archive. Until it is reviewed, a picture can be redone with another
instruction: a redo is an ordinary ``batch`` job of that one picture, itself kept for review, and
``batch_redos`` records which redo is a picture's latest (the picture shows that redo's after).
The review is a ``batch_review`` job whose params name every entry of the archive and the blob it
takes, decided when it is submitted, so running it (again, after a crash) writes the same archive;
``batch_reviews`` says which review job a batch has (one, at most). The service side
(server/batch_review.py) checks and submits; these are the records and the archive.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from imgedit.errors import NotFoundError
from jobs.base import JobContext, JobKind, JobOutcome, JobParams, Pool
from sessions.db import Base, utcnow

#: approve: the edited picture goes in the archive; reject: the picture as it was uploaded does.
Decision = Literal["approve", "reject"]
#: How each picture ended in the archive: ``left_out`` for one with nothing to put there (its
#: picture could not be read at all).
Outcome = Literal["approved", "rejected", "left_out"]
#: A fixed time for every entry, so the same review always gives the same bytes.
_ENTRY_TIME = (1980, 1, 1, 0, 0, 0)


class BatchRedoRow(Base):
    """A picture of a batch redone with another instruction by the job ``job_id``; the row with
    the highest ``id`` for a picture is its latest redo."""

    __tablename__ = "batch_redos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_job_id: Mapped[str] = mapped_column(String(64), index=True)
    item: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str] = mapped_column(String(64))
    instruction: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BatchReviewRow(Base):
    """The review of a batch: the ``batch_review`` job that builds its archive (one per batch)."""

    __tablename__ = "batch_reviews"

    batch_job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewEntry(BaseModel):
    """One picture's fate: its path in the archive and the blob written there (``None``: left out)."""

    item: int
    output: str
    outcome: Outcome
    blob: str | None = None


class ReviewParams(JobParams):
    """The archive to build: ``filename`` for the download, ``entries`` in the batch's order."""

    batch_job_id: str
    filename: str
    entries: list[ReviewEntry]


class ReviewResult(BaseModel):
    """A review job's ``result``: the download's name, each picture's outcome, a count per outcome."""

    filename: str
    batch_job_id: str
    items: list[ReviewEntry]
    summary: dict[str, int]


def stored_zip(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """A .zip of ``(path, bytes)`` entries, stored (pictures are compressed already), with fixed
    entry times: the same entries always give the same bytes, so a repeated request is the same
    request (an idempotent redo's input, a re-run review's result)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path, data in entries:
            archive.writestr(zipfile.ZipInfo(path, _ENTRY_TIME), data)
    return buffer.getvalue()


def pool(params: ReviewParams) -> Pool:
    return "cpu"


def run(params: ReviewParams, ctx: JobContext) -> JobOutcome:
    """The archive of the approved pictures' edits and the rejected ones' originals.

    A rejected picture's original can be gone: one the batch could not read either, whose bytes a
    failed one-shot edit's clean-up removed (server/input_cleanup.py). It is left out, as the
    batch leaves out what it cannot read, and the result says so."""
    entries = list(params.entries)

    def pictures() -> Iterable[tuple[str, bytes]]:
        for n, entry in enumerate(entries):
            ctx.cancel.raise_if_cancelled()
            if entry.blob is None:
                continue
            try:
                data = ctx.store.blobs.get(entry.blob)
            except NotFoundError:
                if entry.outcome != "rejected":
                    raise
                entries[n] = entry.model_copy(update={"outcome": "left_out", "blob": None})
                continue
            yield entry.output, data

    archive = stored_zip(pictures())
    summary: dict[str, int] = {}
    for entry in entries:
        summary[entry.outcome] = summary.get(entry.outcome, 0) + 1
    result = ReviewResult(
        filename=params.filename, batch_job_id=params.batch_job_id, items=entries, summary=summary
    )
    return JobOutcome(
        result_blob=ctx.store.blobs.put(archive), result_format="ZIP", result=result.model_dump()
    )


BATCH_REVIEW = JobKind("batch_review", ReviewParams, pool, run)
