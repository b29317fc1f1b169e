"""The ``batch`` job: a .zip of pictures (or of pictures and a ``manifest.csv``) edited as
``imgedit batch`` edits it; progress per picture, cancel, resume after a restart.

The archive is checked at submission (``batch_params``: its directory, that it holds pictures,
that a shared instruction or theme can be done), so a broken or empty upload is a 4xx at once. The
job runs ``batch.run_batch`` in the job's folder (``IMGEDIT_HOME/jobs/<job id>``, as deck jobs do),
on the process's ``Editor`` and in the job's own thread: a server must not fork workers, and its
slots are its parallelism. The batch's journal lives in that folder, so a job re-run after a
restart skips the pictures already done. The result is a .zip keeping each picture's path, name and
format; the job's JSON carries the per-picture report (each picture's status and, for a bad one,
why). The folder goes when the job is over.

With ``review`` the job builds no .zip: it keeps each picture's before and after in the blob store
and lists them in its typed result (``BatchResult.items``), so that a person can approve, reject or
redo each one before the archive is made (server/batch_review.py, the ``batch_review`` kind).
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from imgedit.config import Settings
from imgedit.errors import BadInputError, ImgEditError, InChinese
from jobs.base import JobContext, JobKind, JobOutcome, JobParams, Pool, engine_pool
from jobs.deck import ZIP_MAGIC, job_folder
from jobs.editors import Editors
from sessions.blobs import BlobStore

if TYPE_CHECKING:
    from batch import BatchOptions, BatchReport

_UNSAFE = re.compile(r"[^\w.\- ]+")
GLOSSARY_NAME = "glossary.csv"


class BatchParams(JobParams):
    """``prompt`` or ``theme`` for every picture (a ``manifest.csv`` in the zip may give each its own);
    ``glossary``: the CSV's text, for translations; ``items``: how many the archive holds."""

    prompt: str | None = None
    theme: str | None = None
    engine: str = "classic"
    seed: int = 0
    filename: str = "pictures.zip"
    glossary: str | None = None
    items: int = 0
    #: Keep every picture's before and after for a review instead of building the .zip now.
    review: bool = False


class ReviewItem(BaseModel):
    """One picture of a batch under review: ``before`` and ``after`` are blob ids (``after`` is
    ``None`` when it was not written: a failed item). ``index`` is its place in the report."""

    index: int
    name: str
    output: str
    status: str
    reason: str = ""
    instruction: str = ""
    before: str | None = None
    after: str | None = None


class BatchResult(BaseModel):
    """A batch job's ``result``: the download's name, the ``--json`` report and, for a batch
    kept for review, its pictures (``items``)."""

    filename: str
    report: dict[str, Any]
    items: list[ReviewItem] = []


def archive_filename(name: str | None) -> str:
    """A safe file name for the uploaded archive (it names the archive in messages and downloads)."""
    stem = Path(unicodedata.normalize("NFC", name or "")).name
    stem = stem[:-4] if stem.lower().endswith(".zip") else stem
    stem = _UNSAFE.sub("_", stem).strip(" ._")[:100]
    return f"{stem or 'pictures'}.zip"


def batch_params(
    editors: Editors,
    settings: Settings,
    *,
    data: bytes,
    filename: str | None,
    prompt: str | None,
    theme: str | None,
    glossary: bytes | None,
    engine: str | None,
    seed: int,
    review: bool = False,
) -> BatchParams:
    """Check the request and the archive now (in a worker thread: it reads the archive)."""
    from batch import BatchOptions, check_batch

    name = archive_filename(filename)
    if not data.startswith(ZIP_MAGIC):
        raise BadInputError(
            f"{name} is not a .zip archive.",
            hint="Send the pictures as one .zip file.",
            zh=InChinese(f"{name} 不是 .zip 压缩包。", "请把图片打包成一个 .zip 文件再上传。"),
        )
    try:
        terms = glossary.decode("utf-8-sig") if glossary is not None else None
    except UnicodeDecodeError as exc:
        raise BadInputError("The glossary is not UTF-8 text; save it as UTF-8 CSV.") from exc
    engine_name = engine or settings.engine
    scratch = settings.home_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="batch-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        terms_path = None
        if terms is not None:
            terms_path = Path(folder) / GLOSSARY_NAME
            terms_path.write_text(terms, encoding="utf-8")
        options = BatchOptions(prompt=prompt, theme=theme, engine=engine_name, seed=seed, glossary=terms_path)
        items = check_batch(path, options, editor=editors.get(engine_name))
    resolved = editors.engine_for(engine_name, prompt) if prompt and theme is None else engine_name
    return BatchParams(
        prompt=prompt,
        theme=theme,
        engine="classic" if resolved == "auto" else resolved,
        seed=seed,
        filename=name,
        glossary=terms,
        items=items,
        review=review,
    )


def pool(params: BatchParams) -> Pool:
    return engine_pool(params.engine)


def run(params: BatchParams, ctx: JobContext) -> JobOutcome:
    """Edit the archive's pictures with ``batch.run_batch``; progress is per picture.

    Cancelling stops after the picture under way and writes no result. The journal is in the job's
    folder, so a re-run (after a restart) edits only the pictures not finished before it.
    """
    from batch import BatchOptions, run_batch

    if not ctx.input_blob:
        raise BadInputError("This job has no input archive.")
    folder = job_folder(ctx.settings, ctx.job_id)
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / params.filename  # the archive under its own name, so that messages name it
    if not source.exists():
        ctx.store.blobs.copy_to(ctx.input_blob, source)
    terms = None
    if params.glossary is not None:
        terms = folder / GLOSSARY_NAME
        terms.write_text(params.glossary, encoding="utf-8")
    options = BatchOptions(
        prompt=params.prompt,
        theme=params.theme,
        engine=params.engine,
        seed=params.seed,
        glossary=terms,
        workers=1,
    )
    # With a review the results stay in a folder, one file each, for their after blobs.
    output = folder / ("review" if params.review else "result.zip")
    report = run_batch(
        source, output, options, progress=ctx.progress, cancel=ctx.cancel, editor=ctx.editor(params.engine)
    )
    name = edited_filename(params.filename)
    report_json = {**report.to_dict(), "input": params.filename, "output": name}
    if params.review:
        items = keep_for_review(source, output, options, report, ctx.store.blobs)
        return JobOutcome(result=BatchResult(filename=name, report=report_json, items=items).model_dump())
    digest = ctx.store.blobs.put(output.read_bytes())
    return JobOutcome(
        result_blob=digest,
        result_format="ZIP",
        result=BatchResult(filename=name, report=report_json).model_dump(exclude={"items"}),
    )


def edited_filename(archive: str) -> str:
    """What the edited archive is called when downloaded: ``spring.zip`` -> ``spring-edited.zip``."""
    return f"{archive[:-4]}-edited.zip"


def keep_for_review(
    source: Path, output: Path, options: BatchOptions, report: BatchReport, blobs: BlobStore
) -> list[ReviewItem]:
    """Each item's input and, when it was written, its result, stored as blobs (content-addressed,
    so a re-run of the job stores nothing twice). The report lists the items in input order."""
    from batch.items import open_inputs
    from batch.report import WRITTEN

    items = []
    with open_inputs(source, prompt=options.prompt, theme=options.theme) as inputs:
        for index, (item, done) in enumerate(zip(inputs.items, report.items, strict=True)):
            before = None
            if item.error is None:
                try:
                    before = blobs.put(inputs.read(item))
                except ImgEditError:
                    before = None  # the report says why it could not be read
            result = output / done.output
            after = blobs.put(result.read_bytes()) if done.status in WRITTEN and result.is_file() else None
            items.append(
                ReviewItem(
                    index=index,
                    name=done.name,
                    output=done.output,
                    status=done.status,
                    reason=done.reason,
                    instruction=done.instruction,
                    before=before,
                    after=after,
                )
            )
    return items


BATCH = JobKind("batch", BatchParams, pool, run)
