"""What each job kind does when a worker picks it up: edit an image (here), run a chat turn
(server/chat.py), restyle a deck (server/decks.py).

Runners are plain callables ``(JobInfo, JobContext) -> JobOutcome``; they raise ``ImgEditError``
for the user's mistakes and let the scheduler record everything else as our failure.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

from engine import Editor
from imgedit.config import Settings
from imgedit.errors import BadInputError
from server.edit_workers import EditTask, EditWorkerPool, perform_edit
from server.scheduler import JobInfo
from server.scheduler.local import JobContext, JobOutcome
from sessions import SessionStore, VersionInfo

#: The steps of an edit job's first quarter second are recorded (``GET /v1/jobs/{id}`` shows them,
#: the final ``job`` frame carries the count) but not announced as ``progress`` events: a progress
#: bar for an edit that is over by then would only flicker, and each event costs the server a
#: hop to the event loop and a frame per follower (bench/server_load.py). A qwen edit's steps,
#: about a second each, are all announced after the first.
EDIT_QUIET_SECONDS = 0.25


#: How many ``(engine, instruction) -> pool`` answers ``Editors`` remembers.
POOL_CACHE_SIZE = 1024


class Editors:
    """One ``Editor`` per engine name, built on first use and shared by the workers.

    It also says which worker pool runs an instruction (``pool_for``) and remembers the answers, as the
    same instructions come again and again (theme buttons, the page's suggestions, scripts), and
    parsing one to pick the pool took 0.1-0.6 ms of each upload (bench/server_load.py).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._editors: dict[str, Editor] = {}
        self._lock = threading.Lock()
        # Per instance (tests build several apps); errors are raised each time, never cached.
        self.pool_for = functools.lru_cache(maxsize=POOL_CACHE_SIZE)(self._pool_for)

    def get(self, engine: str) -> Editor:
        with self._lock:
            if engine not in self._editors:
                self._editors[engine] = Editor(engine=engine, settings=self.settings)
            return self._editors[engine]

    def _pool_for(self, engine: str, instruction: str) -> str:
        """The pool (``classic`` or ``qwen``) that runs ``instruction`` when ``engine`` is asked
        for; raises the engine's own error if no engine here can do it."""
        editor = self.get(engine)
        plan = editor.parse(instruction)
        if engine == "qwen":
            return "qwen"
        missing = editor.backend("classic").unsupported(plan)
        if not missing:
            return "classic"
        if engine == "auto" and editor.qwen_available():
            return "qwen"
        editor.choose_backend(plan)  # raises UnsupportedOperationError naming what is missing
        return "classic"  # pragma: no cover - choose_backend raised


class EditRunner:
    """Runs ``edit`` jobs: the input blob through ``Editor.edit``, the output into the blob store.

    Classic jobs run in a worker process when the server has an ``EditWorkerPool``
    (server/edit_workers.py; ``IMGEDIT_CLASSIC_PROCESSES``), everything else in this thread; the
    image work is the same function either way (``perform_edit``).

    A job bound to a session image (``params.session_id``/``image_id``) also records the output
    as a new version of that image, at most once per job: the version carries the job id, and a
    re-run after a crash finds it instead of adding a second one.

    The result's ``timings`` split the job's time into ``engine_seconds`` (``Editor.edit``) and
    ``server_seconds`` (everything else: claiming the job, reading and decoding the input,
    announcing progress, encoding and storing the output, and for a worker process ``dispatch``,
    the hand-over to it and back), so the service's overhead is measured per job rather than
    guessed from end-to-end figures (bench/server_load.py).
    """

    def __init__(
        self,
        editors: Editors,
        store: SessionStore,
        settings: Settings,
        processes: EditWorkerPool | None = None,
    ) -> None:
        self.editors = editors
        self.store = store
        self.settings = settings
        self.processes = processes

    def __call__(self, job: JobInfo, ctx: JobContext) -> JobOutcome:
        params = job.params
        if not job.input_blob:
            raise BadInputError("This job has no input image.")
        if params.get("image_id"):
            existing = self._version_of_job(params["image_id"], job.id)
            if existing is not None:
                return self._outcome(existing.blob, existing.format, existing.report, existing)
        claim = time.perf_counter() - ctx.started
        engine = params.get("engine") or "classic"
        task = EditTask(input_blob=job.input_blob, params=params, keep_bytes=bool(params.get("image_id")))
        if self.processes is not None and engine == "classic":
            with self.processes.worker() as worker:
                product = worker.run(task, ctx.progress, ctx.cancel)
        else:
            editor = self.editors.get(engine)
            product = perform_edit(
                editor, self.store.blobs, self.settings, task, progress=ctx.progress, cancel=ctx.cancel
            )
        ctx.cancel.raise_if_cancelled()
        timings = {"claim": claim, **product.timings}
        version = None
        digest = product.digest
        if product.data is not None:
            mark = time.perf_counter()
            report = product.report
            version = self.store.add_version(
                params["parent_version_id"],
                product.data,
                instruction=params["instruction"],
                plan=report.get("plan"),
                engine=report.get("engine", ""),
                parameters={**report.get("parameters", {}), "job_id": job.id},
                seed=params.get("seed"),
                timings=report.get("timings", {}),
                report=report,
            )
            digest = version.blob
            timings["store"] += time.perf_counter() - mark
        assert digest is not None
        outcome = self._outcome(digest, product.format, product.report, version)
        outcome.result["timings"] = {
            "engine_seconds": round(product.engine_seconds, 6),
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
