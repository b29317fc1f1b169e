"""The ``deck`` job: restyle a PowerPoint deck, each distinct picture once.

The deck is opened at submission (``deck_params``: zip directory checked for bombs, parts parsed,
slides counted, the slide range checked against them), so a broken or hostile deck is a 4xx
naming the problem at once rather than a job that fails minutes later. The job then runs
``plugins.pptx.restyle_deck`` with a resume folder per job under ``<work root>/jobs/<job id>``
(``Settings.work_root``: ``IMGEDIT_HOME``, or a temporary folder when the blobs are in S3):
each finished picture is kept there, so a job re-run after a restart skips the pictures already
done and the deck's result is the same. The folder goes when the job reaches a final status.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

from imgedit.config import Settings
from imgedit.errors import BadInputError
from jobs.base import JobContext, JobKind, JobOutcome, JobParams, Pool, engine_pool
from jobs.editors import Editors

log = logging.getLogger(__name__)

ZIP_MAGIC = b"PK\x03\x04"
_UNSAFE = re.compile(r"[^\w.\- ]+")


class DeckParams(JobParams):
    """A deck job: ``theme`` or ``prompt`` (exactly one), the engine chosen at submission."""

    theme: str | None = None
    prompt: str | None = None
    engine: str = "classic"
    seed: int = 0
    slides: str | None = None
    #: ``photos`` or ``all`` (see ``plugins.pptx.RestyleOptions``), resolved at submission.
    pictures: str | None = None
    theme_colors: bool = False
    filename: str = "deck.pptx"
    slide_count: int = 0


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
    from plugins.pptx.safezip import not_a_deck

    if not data.startswith(ZIP_MAGIC):
        raise not_a_deck(filename)
    scratch = settings.work_root / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="deck-") as folder:
        path = Path(folder) / filename
        path.write_bytes(data)
        inventory = inspect_deck(path)
    parse_slide_range(slides, inventory.slide_count)
    return inventory.slide_count


def deck_params(
    editors: Editors,
    settings: Settings,
    *,
    data: bytes,
    filename: str | None,
    theme: str | None,
    prompt: str | None,
    engine: str | None,
    seed: int,
    slides: str | None,
    pictures: str | None = None,
    theme_colors: bool = False,
) -> DeckParams:
    """Check the request and the deck now, and choose the engine (in a worker thread: it reads the deck)."""
    from plugins.pptx import RestyleOptions
    from plugins.pptx.options import build_plan, parse_pictures

    name = deck_filename(filename)
    options = RestyleOptions(
        theme=theme,
        prompt=prompt,
        engine=engine or settings.engine,
        seed=seed,
        slides=slides,
        pictures=parse_pictures(pictures),
        theme_colors=theme_colors,
    )
    editor = editors.get(options.engine or "classic")
    backend = editor.choose_backend(build_plan(editor, options))  # 4xx now for a bad theme or prompt
    slide_count = check_deck(data, name, settings, slides)
    return DeckParams(
        theme=theme,
        prompt=prompt,
        engine=backend.name,
        seed=seed,
        slides=slides,
        pictures=options.which_pictures,
        theme_colors=theme_colors,
        filename=name,
        slide_count=slide_count,
    )


def pool(params: DeckParams) -> Pool:
    return engine_pool(params.engine)


def run(params: DeckParams, ctx: JobContext) -> JobOutcome:
    """Restyle the deck with ``plugins.pptx.restyle_deck``; progress is per distinct picture.

    Cancelling stops before the next picture and writes nothing. The resume folder is keyed by
    the job id, so a re-run finds the pictures finished before it and sends only the others to
    the engine.
    """
    from plugins.pptx import RestyleOptions, restyle_deck
    from plugins.pptx.options import parse_pictures

    if not ctx.input_blob:
        raise BadInputError("This job has no input deck.")
    options = RestyleOptions(
        theme=params.theme,
        prompt=params.prompt,
        engine=params.engine,
        seed=params.seed,
        slides=params.slides,
        pictures=parse_pictures(params.pictures),
        theme_colors=params.theme_colors,
    )
    folder = job_folder(ctx.settings, ctx.job_id)
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / params.filename  # the deck under its own name, so that any message names it
    if not source.exists():
        ctx.store.blobs.copy_to(ctx.input_blob, source)
    output = folder / "output.pptx"
    report = restyle_deck(
        source,
        output,
        options,
        editor=ctx.editor(params.engine),
        progress=ctx.progress,
        cancel=ctx.cancel,
        resume_dir=folder / "resume",
    )
    digest = ctx.store.blobs.put(output.read_bytes())
    # The report names the user's files, not the server's folders.
    name = params.filename
    report_json = {**report.to_dict(), "input": name, "output": restyled_filename(name)}
    result = {"filename": restyled_filename(name), "report": report_json}
    return JobOutcome(result_blob=digest, result_format="PPTX", result=result)


def remove_job_folder(settings: Settings, job_id: str) -> None:
    """A deck job's folder, once the job is over (a re-queued job keeps it to resume)."""
    shutil.rmtree(job_folder(settings, job_id), ignore_errors=True)


def remove_leftover_folders(settings: Settings, unfinished: set[str]) -> None:
    """Remove the folders of deck jobs that are over (or unknown), and log how many went.

    A folder goes once its job is over, but a process killed between the job's final commit and
    that clean-up leaves it behind; the next start calls this.
    """
    jobs = settings.work_root / "jobs"
    if not jobs.is_dir():
        return
    leftovers = [folder for folder in jobs.iterdir() if folder.is_dir() and folder.name not in unfinished]
    for folder in leftovers:
        shutil.rmtree(folder, ignore_errors=True)
    if leftovers:
        log.info("removed %d work folder(s) of deck jobs that were over", len(leftovers))


DECK = JobKind("deck", DeckParams, pool, run)
