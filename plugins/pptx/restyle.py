"""Restyling a deck: one plan, every distinct image edited once, everything else kept byte for byte.

``restyle_deck`` is what the CLI calls and what a server job will call: it reports progress as
``progress(done, total)`` over distinct images, stops at the next image when ``cancel`` is set
(writing nothing), and with ``resume_dir`` keeps each finished image on disk so that a restarted
job skips the images already done.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from engine import Editor
from engine.types import CancelToken, ProgressCallback
from imgedit.errors import BadInputError
from plugins.pptx.inventory import DeckInventory, ImagePart, scan_package
from plugins.pptx.options import RestyleOptions, build_plan, parse_slide_range, plan_fingerprint
from plugins.pptx.package import read_package
from plugins.pptx.pool import ImageJob, Mode, Outcome, choose_mode, default_workers, run_jobs
from plugins.pptx.preview import contact_sheet
from plugins.pptx.resume import ResumeStore
from plugins.pptx.safezip import DeckZip
from plugins.pptx.selection import Decision, Selection, select_images
from plugins.pptx.writer import write_deck

Status = Literal["edit", "edited", "reused", "resumed", "skipped", "failed"]

#: Rough per-image cost for --dry-run estimates: seconds per image plus seconds per megapixel,
#: on one core (classic, measured by bench/deck.py) or per image on a GPU (qwen, 1 MP, 40 steps).
_ESTIMATE = {"classic": (0.02, 0.15), "qwen": (40.0, 0.0)}


@dataclass
class ImageReport:
    name: str
    format: str
    width: int
    height: int
    slides: list[int]
    used_by: list[str]
    pictures: int
    status: Status
    reason: str = ""
    seconds: float = 0.0


@dataclass
class DeckReport:
    input: str
    output: str | None
    engine: str
    instruction: str
    plan: dict[str, Any]
    seed: int
    slide_count: int
    images: list[ImageReport]
    warnings: list[str] = field(default_factory=list)
    engine_calls: int = 0
    workers: int = 1
    mode: str = "serial"
    seconds: float = 0.0
    estimated_seconds: float = 0.0
    dry_run: bool = False

    def count(self, *statuses: Status) -> int:
        return sum(1 for image in self.images if image.status in statuses)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["summary"] = {status: self.count(status) for status in get_args(Status) if self.count(status)}
        return data


def restyle_deck(
    source: Path,
    output: Path | None,
    options: RestyleOptions,
    *,
    editor: Editor | None = None,
    dry_run: bool = False,
    preview: Path | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    resume_dir: Path | None = None,
    mode: Mode | None = None,
) -> DeckReport:
    """Restyle ``source`` into ``output`` (or, with ``dry_run``, only say what would be done).

    Bad decks raise ``BadInputError`` before anything is written. ``mode`` forces serial, thread or
    process execution (the benchmark compares them); by default it is chosen from the work.
    """
    started = time.perf_counter()
    source = Path(source)
    editor_given = editor is not None
    editor = editor or Editor(engine=options.engine)
    plan = build_plan(editor, options)
    engine_name = editor.choose_backend(plan).name
    workers = options.workers or default_workers()

    with DeckZip(source) as deck:
        package = read_package(deck)
        inventory = scan_package(deck, package)
        slides = parse_slide_range(options.slides, inventory.slide_count)
        selection = select_images(inventory.images, min_size=options.min_size, slides=slides)
        report = DeckReport(
            input=str(source),
            output=None if dry_run or output is None else str(output),
            engine=engine_name,
            instruction=plan.instruction,
            plan=plan.model_dump(mode="json"),
            seed=options.seed,
            slide_count=inventory.slide_count,
            images=[],
            warnings=[*inventory.warnings, *inventory.external_images],
            workers=workers,
            dry_run=dry_run,
        )
        report.estimated_seconds = round(_estimate(selection, engine_name, workers), 1)
        if dry_run:
            report.images = [
                _image_report(d, "edit" if d.edit else "skipped", d.reason) for d in selection.decisions
            ]
            report.seconds = round(time.perf_counter() - started, 3)
            return report
        if output is None:
            raise BadInputError("Restyling a deck needs an output path (or a dry run, which writes nothing).")

        store = ResumeStore(resume_dir, plan_fingerprint(plan, options, engine_name)) if resume_dir else None
        distinct = selection.distinct
        total = len(distinct)
        outcomes: dict[str, Outcome] = {}
        statuses: dict[str, Status] = {}
        originals: dict[str, bytes] = {}
        jobs: list[ImageJob] = []
        for decision in distinct:
            image = decision.image
            originals[image.sha256] = deck.read(image.name)
            done = store.get(image.sha256) if store else None
            if done is not None:
                outcomes[image.sha256] = Outcome(done, 0.0)
                statuses[image.sha256] = "resumed"
            else:
                jobs.append(ImageJob(key=image.sha256, name=image.name, data=originals[image.sha256]))
        if progress is not None:
            progress(len(outcomes), total)

        def on_done(job: ImageJob, outcome: Outcome) -> None:
            outcomes[job.key] = outcome
            statuses[job.key] = "edited" if outcome.data is not None else "failed"
            if outcome.data is not None and store is not None:
                store.put(job.key, outcome.data)
            if progress is not None:
                progress(len(outcomes), total)

        report.mode = (
            choose_mode(len(jobs), workers, engine_name, editor_given=editor_given) if mode is None else mode
        )
        run_jobs(
            jobs,
            editor=editor,
            plan=plan,
            seed=options.seed,
            workers=workers,
            mode=report.mode,
            on_done=on_done,
            cancel=cancel,
        )
        report.engine_calls = len(jobs)

        replacements: dict[str, bytes] = {}
        for decision in selection.decisions:
            if not decision.edit:
                report.images.append(_image_report(decision, "skipped", decision.reason))
                continue
            key = decision.image.sha256
            outcome = outcomes[key]
            if outcome.data is None:
                report.images.append(_image_report(decision, "failed", outcome.error or ""))
                report.warnings.append(f"{decision.image.name} was left as it was: {outcome.error}")
                continue
            replacements[decision.image.name] = outcome.data
            status: Status = "reused" if decision.duplicate_of else statuses[key]
            reason = f"same picture as {decision.duplicate_of}" if decision.duplicate_of else ""
            report.images.append(_image_report(decision, status, reason, outcome.seconds))
            report.warnings.extend(f"{decision.image.name}: {w}" for w in outcome.warnings)
        if cancel is not None:
            cancel.raise_if_cancelled()
        write_deck(deck, replacements, output)
        if preview is not None:
            pairs = [
                (d.image.name, originals[d.image.sha256], outcomes[d.image.sha256].data or b"")
                for d in distinct
                if outcomes[d.image.sha256].data is not None
            ]
            contact_sheet(pairs, preview)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def inspect_deck(source: Path) -> DeckInventory:
    """Every image of a deck and where it is used, without editing anything."""
    with DeckZip(Path(source)) as deck:
        return scan_package(deck, read_package(deck))


def _image_report(decision: Decision, status: Status, reason: str, seconds: float = 0.0) -> ImageReport:
    image: ImagePart = decision.image
    return ImageReport(
        name=image.name,
        format=image.format,
        width=image.width,
        height=image.height,
        slides=image.slides,
        used_by=[use.label for use in image.uses],
        pictures=image.picture_uses,
        status=status,
        reason=reason,
        seconds=round(seconds, 4),
    )


def _estimate(selection: Selection, engine_name: str, workers: int) -> float:
    per_image, per_megapixel = _ESTIMATE.get(engine_name, _ESTIMATE["qwen"])
    work = sum(per_image + per_megapixel * d.image.width * d.image.height / 1e6 for d in selection.distinct)
    parallel = workers if engine_name == "classic" else 1
    return work / max(1, min(parallel, len(selection.distinct) or 1))
