"""What each job kind does when a worker picks it up: edit an image (here), run a chat turn
(server/chat.py), restyle a deck (server/decks.py).

Runners are plain callables ``(JobInfo, JobContext) -> JobOutcome``; they raise ``ImgEditError``
for the user's mistakes and let the scheduler record everything else as our failure.
"""

from __future__ import annotations

import threading
from typing import Any

from engine import Editor
from engine.imageio import encode_image, load_image
from imgedit.config import Settings
from imgedit.errors import BadInputError
from server.scheduler import JobInfo
from server.scheduler.local import JobContext, JobOutcome
from sessions import SessionStore, VersionInfo


class Editors:
    """One ``Editor`` per engine name, built on first use and shared by the workers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._editors: dict[str, Editor] = {}
        self._lock = threading.Lock()

    def get(self, engine: str) -> Editor:
        with self._lock:
            if engine not in self._editors:
                self._editors[engine] = Editor(engine=engine, settings=self.settings)
            return self._editors[engine]


class EditRunner:
    """Runs ``edit`` jobs: the input blob through ``Editor.edit``, the output into the blob store.

    A job bound to a session image (``params.session_id``/``image_id``) also records the output
    as a new version of that image, at most once per job: the version carries the job id, and a
    re-run after a crash finds it instead of adding a second one.
    """

    def __init__(self, editors: Editors, store: SessionStore, settings: Settings) -> None:
        self.editors = editors
        self.store = store
        self.settings = settings

    def __call__(self, job: JobInfo, ctx: JobContext) -> JobOutcome:
        params = job.params
        if not job.input_blob:
            raise BadInputError("This job has no input image.")
        if params.get("image_id"):
            existing = self._version_of_job(params["image_id"], job.id)
            if existing is not None:
                return self._outcome(existing.blob, existing.format, existing.report, existing)
        loaded = load_image(self.store.blobs.get(job.input_blob), max_pixels=self.settings.max_image_pixels)
        editor = self.editors.get(params.get("engine") or "classic")
        result = editor.edit(
            image=loaded.image,
            prompt=params["instruction"],
            seed=params.get("seed"),
            negative_prompt=params.get("negative_prompt") or " ",
            num_inference_steps=params.get("steps"),
            true_cfg_scale=params.get("cfg"),
            enable_semantic_preserve=params.get("preserve", True),
            max_edit_area=params.get("max_edit_area"),
            progress=ctx.progress,
            cancel=ctx.cancel,
        )
        ctx.cancel.raise_if_cancelled()
        fmt = (params.get("format") or loaded.format).upper()
        data = encode_image(result.image, fmt)
        report = result.report.to_dict()
        version = None
        if params.get("image_id"):
            version = self.store.add_version(
                params["parent_version_id"],
                data,
                instruction=params["instruction"],
                plan=report.get("plan"),
                engine=report.get("engine", ""),
                parameters={**report.get("parameters", {}), "job_id": job.id},
                seed=params.get("seed"),
                timings=report.get("timings", {}),
                report=report,
            )
            digest = version.blob
        else:
            digest = self.store.blobs.put(data)
        return self._outcome(digest, fmt, report, version)

    def _version_of_job(self, image_id: str, job_id: str) -> VersionInfo | None:
        for version in self.store.versions(image_id):
            if version.parameters.get("job_id") == job_id:
                return version
        return None

    @staticmethod
    def _outcome(digest: str, fmt: str, report: dict[str, Any], version: VersionInfo | None) -> JobOutcome:
        result: dict[str, Any] = {"report": report}
        if version is not None:
            result.update(version_id=version.id, image_id=version.image_id, number=version.number)
        return JobOutcome(result_blob=digest, result_format=fmt, result=result)

