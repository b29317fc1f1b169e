"""Deck restyling as a service: check an uploaded deck now, restyle it later in a worker.

The deck is opened at submission (zip directory checked for bombs, parts parsed, slides counted,
the slide range checked against them), so a broken or hostile deck is a 4xx naming the problem
at once rather than a job that fails minutes later. The worker then runs
``plugins.pptx.restyle_deck`` with a resume folder per job under ``<work root>/jobs/<job id>``
(``Settings.work_root``: ``IMGEDIT_HOME``, or a temporary folder when the blobs are in S3):
each finished picture is kept there, so a job re-run after a restart skips the pictures already
done. The folder goes when the job reaches a final status.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgedit.config import Settings
from imgedit.errors import BadInputError
from plugins.pptx.options import parse_pictures
from server.context import ServerContext
from server.runners import Editors
from server.scheduler import JobEvent, JobInfo, JobSpec
from server.scheduler.base import FINISHED
from server.scheduler.local import JobContext, JobOutcome
from sessions import SessionStore

log = logging.getLogger(__name__)

ZIP_MAGIC = b"PK\x03\x04"
_UNSAFE = re.compile(r"[^\w.\- ]+")


@dataclass(frozen=True)
class DeckRequest:
    """What ``POST /v1/decks`` asks for (``theme`` or ``prompt``, exactly one)."""

    theme: str | None = None
    prompt: str | None = None
    engine: str | None = None
    seed: int = 0
    slides: str | None = None
    priority: int = 0
    pictures: str | None = None  # photos | all (default: photos for a theme, all for a prompt)
    theme_colors: bool = False


def deck_filename(name: str | None) -> str:
    """A safe file name for the uploaded deck (it names the deck in messages and downloads)."""
    stem = Path(unicodedata.normalize("NFC", name or "")).name
    stem = stem[:-5] if stem.lower().endswith(".pptx") else stem
    stem = _UNSAFE.sub("_", stem).strip(" ._")[:100]
    return f"{stem or 'deck'}.pptx"


def restyled_filename(name: str) -> str:
    """What the restyled deck is called when downloaded: ``talk.pptx`` -> ``talk-restyled.pptx``."""
    return f"{name[:-5]}-restyled.pptx"


def job_folder(settings: Settings, job_id: str) -> Path:
    """The job's working folder: the deck under its own name, the output, the resume store."""
    return settings.work_root / "jobs" / job_id


def check_deck(data: bytes, filename: str, settings: Settings, slides: str | None) -> int:
    """Open the deck as the worker will and return its slide count; ``BadInputError`` otherwise.

    It is opened from a scratch copy under its own name, so that messages name the user's file.
    """
    from plugins.pptx import inspect_deck, parse_slide_range

    if not data.startswith(ZIP_MAGIC):
        raise BadInputError(
            f"{filename} is not a .pptx deck (it is not a zip archive).", hint="Send a PowerPoint .pptx file."
        )
    scratch = settings.work_root / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="deck-") as folder:
        path = Path(folder) / filename
        path.write_bytes(data)
        inventory = inspect_deck(path)
    parse_slide_range(slides, inventory.slide_count)
    return inventory.slide_count


def submit_deck(
    ctx: ServerContext,
    tenant: str,
    request: DeckRequest,
    *,
    data: bytes,
    filename: str | None,
    idempotency_key: str | None = None,
) -> JobInfo:
    """Check the request and the deck, store the deck and queue the job (in a worker thread)."""
    from plugins.pptx import RestyleOptions
    from plugins.pptx.options import build_plan

    name = deck_filename(filename)
    options = RestyleOptions(
        theme=request.theme,
        prompt=request.prompt,
        engine=request.engine or ctx.settings.engine,
        seed=request.seed,
        slides=request.slides,
        pictures=parse_pictures(request.pictures),
        theme_colors=request.theme_colors,
    )
    editor = ctx.editors.get(options.engine or "classic")
    backend = editor.choose_backend(build_plan(editor, options))  # 4xx now for a bad theme or prompt
    slide_count = check_deck(data, name, ctx.settings, request.slides)
    params: dict[str, Any] = {
        "theme": request.theme,
        "prompt": request.prompt,
        "engine": backend.name,
        "seed": request.seed,
        "slides": request.slides,
        "pictures": options.which_pictures,
        "theme_colors": request.theme_colors,
        "filename": name,
        "slide_count": slide_count,
    }
    spec = JobSpec(
        tenant=tenant,
        kind="deck",
        pool="qwen" if backend.name == "qwen" else "classic",
        params=params,
        input_blob=ctx.store.blobs.put(data),
        priority=request.priority,
        idempotency_key=idempotency_key,
    )
    return ctx.queue.submit(spec)


class DeckRunner:
    """Runs ``deck`` jobs with ``plugins.pptx.restyle_deck``.

    Progress is per distinct picture. Cancelling stops before the next picture and writes nothing.
    The resume folder is keyed by the job id, so the re-run the scheduler starts after a restart
    finds the pictures finished before it and sends only the others to the engine.
    """

    def __init__(self, editors: Editors, store: SessionStore, settings: Settings) -> None:
        self.editors = editors
        self.store = store
        self.settings = settings

    def __call__(self, job: JobInfo, ctx: JobContext) -> JobOutcome:
        from plugins.pptx import RestyleOptions, restyle_deck

        params = job.params
        if not job.input_blob:
            raise BadInputError("This job has no input deck.")
        options = RestyleOptions(
            theme=params.get("theme"),
            prompt=params.get("prompt"),
            engine=params.get("engine"),
            seed=int(params.get("seed") or 0),
            slides=params.get("slides"),
            pictures=parse_pictures(params.get("pictures")),
            theme_colors=bool(params.get("theme_colors")),
        )
        folder = job_folder(self.settings, job.id)
        folder.mkdir(parents=True, exist_ok=True)
        name = params.get("filename") or "deck.pptx"
        source = folder / name  # the deck under its own name, so that any message names it
        if not source.exists():
            self.store.blobs.copy_to(job.input_blob, source)
        output = folder / "output.pptx"
        report = restyle_deck(
            source,
            output,
            options,
            editor=self.editors.get(params.get("engine") or "classic"),
            progress=ctx.progress,
            cancel=ctx.cancel,
            resume_dir=folder / "resume",
        )
        digest = self.store.blobs.put(output.read_bytes())
        # The report names the user's files, not the server's folders.
        report_json = {**report.to_dict(), "input": name, "output": restyled_filename(name)}
        result = {"filename": restyled_filename(name), "report": report_json}
        return JobOutcome(result_blob=digest, result_format="PPTX", result=result)

    def remove_leftover_folders(self, unfinished: set[str]) -> None:
        """Remove the folders of deck jobs that are over (or unknown), and log how many went.

        A folder goes in ``on_job_event`` once its job is over, but a server killed between the
        job's final commit and that clean-up leaves it behind; the next start calls this.
        """
        jobs = self.settings.work_root / "jobs"
        if not jobs.is_dir():
            return
        leftovers = [folder for folder in jobs.iterdir() if folder.is_dir() and folder.name not in unfinished]
        for folder in leftovers:
            shutil.rmtree(folder, ignore_errors=True)
        if leftovers:
            log.info("removed %d work folder(s) of deck jobs that were over", len(leftovers))

    def on_job_event(self, event: JobEvent) -> None:
        """Remove a deck job's folder once the job is over (a re-queued job keeps it to resume)."""
        job = event.job
        if job.kind == "deck" and event.type == "job" and job.status in FINISHED:
            shutil.rmtree(job_folder(self.settings, job.id), ignore_errors=True)
