"""What each job kind does when a worker picks it up: edit an image (here), run a chat turn
(server/chat.py), restyle a deck (server/decks.py).

Runners are plain callables ``(JobInfo, JobContext) -> JobOutcome``; they raise ``ImgEditError``
for the user's mistakes and let the scheduler record everything else as our failure.
"""

from __future__ import annotations

import threading
import time
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

    The result's ``timings`` split the job's time into ``engine_seconds`` (``Editor.edit``) and
    ``server_seconds`` (everything else this worker did: claiming the job, reading and decoding
    the input, encoding and storing the output), so the service's overhead is measured per job
    rather than guessed from end-to-end figures (bench/server_load.py).
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
        timings = {"claim": time.perf_counter() - ctx.started}
        mark = time.perf_counter()
        loaded = load_image(self.store.blobs.get(job.input_blob), max_pixels=self.settings.max_image_pixels)
        editor = self.editors.get(params.get("engine") or "classic")
        timings["decode"], mark = _lap(mark)
        timings["progress"] = 0.0

        def progress(done: int, total: int) -> None:
            # Announcing a step is the server's work, even though it happens inside the edit.
            started = time.perf_counter()
            ctx.progress(done, total)
            timings["progress"] += time.perf_counter() - started

        result = editor.edit(
            image=loaded.image,
            prompt=params["instruction"],
            seed=params.get("seed"),
            negative_prompt=params.get("negative_prompt") or " ",
            num_inference_steps=params.get("steps"),
            true_cfg_scale=params.get("cfg"),
            enable_semantic_preserve=params.get("preserve", True),
            max_edit_area=params.get("max_edit_area"),
            progress=progress,
            cancel=ctx.cancel,
        )
        ctx.cancel.raise_if_cancelled()
        edit_seconds, mark = _lap(mark)
        engine_seconds = edit_seconds - timings["progress"]
        fmt = (params.get("format") or loaded.format).upper()
        data = encode_image(result.image, fmt)
        timings["encode"], mark = _lap(mark)
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
        timings["store"], mark = _lap(mark)
        outcome = self._outcome(digest, fmt, report, version)
        outcome.result["timings"] = {
            "engine_seconds": round(engine_seconds, 6),
            "server_seconds": round(sum(timings.values()), 6),
            **{key: round(value, 6) for key, value in timings.items()},
        }
        return outcome

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


def _lap(mark: float) -> tuple[float, float]:
    """Seconds since ``mark``, and the new mark."""
    now = time.perf_counter()
    return now - mark, now
