"""Forgetting the uploaded input of a one-shot edit that failed because it could not be read.

``POST /v1/edits`` checks an upload from its header and stores it; the job decodes it. A file
whose pixels turn out unreadable (truncated, corrupt) fails its job with ``bad_input``, and its
blob then served nothing: nobody can ask for a failed job's input, and a retry uploads the
bytes again. Kept, such blobs piled up forever. Once the job has failed, its input goes, unless
something still uses the same bytes (blobs are shared by content): another job not yet failed,
a session version, a Figma upload or result.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, column, or_, select, table

from server.models import JobRow
from server.scheduler import JobEvent
from sessions.blobs import BlobStore
from sessions.models import VersionRow

log = logging.getLogger("imgedit.server")

#: The Figma bridge's tables, named rather than imported: they belong to the Figma job kind.
_FIGMA_UPLOADS = table("figma_uploads", column("blob"))
_FIGMA_RESULTS = table("figma_results", column("result_blob"))

#: Error codes of a job whose input could not be read as an image.
UNREADABLE = frozenset({"bad_input", "image_too_large"})


class FailedInputCleaner:
    """A job listener: removes the input blob of a one-shot edit that failed on it."""

    def __init__(self, engine: Engine, blobs: BlobStore) -> None:
        self.engine = engine
        self.blobs = blobs

    def on_job_event(self, event: JobEvent) -> None:
        job = event.job
        if event.type != "job" or job.kind != "edit" or job.status != "failed" or not job.input_blob:
            return
        if job.params.get("session_id") or (job.error or {}).get("code") not in UNREADABLE:
            return  # a session edit's input is a version: it stays
        if not self._still_used(job.input_blob, job.id):
            self.blobs.delete(job.input_blob)
            log.info("removed the unreadable input of failed job %s", job.id)

    def _still_used(self, blob: str, job_id: str) -> bool:
        queries = [
            select(JobRow.id).where(
                or_(JobRow.input_blob == blob, JobRow.result_blob == blob),
                JobRow.id != job_id,
                JobRow.status.not_in(("failed", "cancelled")),
            ),
            select(VersionRow.id).where(VersionRow.blob == blob),
            select(_FIGMA_UPLOADS.c.blob).where(_FIGMA_UPLOADS.c.blob == blob),
            select(_FIGMA_RESULTS.c.result_blob).where(_FIGMA_RESULTS.c.result_blob == blob),
        ]
        with self.engine.connect() as db:
            return any(db.execute(query.limit(1)).first() is not None for query in queries)
