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
from engine.parsing.language import reply_language
from engine.types import CancelToken, ProgressCallback
from imgedit.errors import BadInputError
from plugins.pptx.codec import DECK_FORMATS
from plugins.pptx.inventory import VECTOR_FORMATS, DeckInventory, ImagePart, scan_package
from plugins.pptx.kinds import PictureKind, classify_part
from plugins.pptx.options import RestyleOptions, build_plan, parse_slide_range, plan_fingerprint
from plugins.pptx.package import read_package
from plugins.pptx.pool import ImageJob, Mode, Outcome, choose_mode, default_workers, run_jobs
from plugins.pptx.preview import require_libreoffice, slide_preview
from plugins.pptx.resume import ResumeStore
from plugins.pptx.safezip import DeckZip
from plugins.pptx.scheme import THEME_PART, SchemeColor, recolor_theme_part
from plugins.pptx.selection import Decision, KeptBecause, Selection, select_images
from plugins.pptx.summary import summary_text
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
    kind: str = ""  # vector; photo or graphic (logo, chart, diagram) when --pictures photos; else ""
    kept_because: KeptBecause = ""


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
    pictures: str = "all"  # photos | all: which pictures were restyled
    theme_colors: list[SchemeColor] = field(default_factory=list)  # scheme colours changed
    language: str = "en"  # the user's language (of the theme or prompt), for summary_text

    def count(self, *statuses: Status) -> int:
        return sum(1 for image in self.images if image.status in statuses)

    def kept(self, because: KeptBecause) -> int:
        return sum(1 for image in self.images if image.status == "skipped" and image.kept_because == because)

    @property
    def summary_text(self) -> str:
        """ "14 pictures restyled, 3 logos and charts kept, 1 vector kept", in the user's language."""
        return summary_text(self)

    @property
    def changed_slides(self) -> list[int]:
        """Slides that look different: those showing a restyled picture; every slide when the
        colour scheme changed."""
        if self.theme_colors and not self.dry_run:
            return list(range(1, self.slide_count + 1))
        done = ("edited", "reused", "resumed")
        return sorted({n for image in self.images if image.status in done for n in image.slides})

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["summary"] = {status: self.count(status) for status in get_args(Status) if self.count(status)}
        data["summary_text"] = self.summary_text
        data["changed_slides"] = self.changed_slides
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
    if preview is not None and not dry_run:
        require_libreoffice()  # refused now, not after the whole deck is restyled

    with DeckZip(source) as deck:
        package = read_package(deck)
        inventory = scan_package(deck, package)
        slides = parse_slide_range(options.slides, inventory.slide_count)
        # Only ``photos`` needs to know: decoding every picture once more costs ~20-40 ms each.
        photos_only = options.which_pictures == "photos"
        kinds = _classify(deck, inventory, editor.settings.max_image_pixels) if photos_only else {}
        selection = select_images(
            inventory.images,
            min_size=options.min_size,
            slides=slides,
            pictures=options.which_pictures,
            kinds=kinds,
        )
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
            pictures=options.which_pictures,
            language=options.language,
        )
        scheme_parts = _recolor_scheme(deck, options, report) if options.theme_colors else {}
        report.estimated_seconds = round(_estimate(selection, engine_name, workers), 1)
        if dry_run:
            report.images = [
                _image_report(d, "edit" if d.edit else "skipped", d.reason, kinds)
                for d in selection.decisions
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

        replacements: dict[str, bytes] = dict(scheme_parts)
        for decision in selection.decisions:
            if not decision.edit:
                report.images.append(_image_report(decision, "skipped", decision.reason, kinds))
                continue
            key = decision.image.sha256
            outcome = outcomes[key]
            if outcome.data is None:
                report.images.append(_image_report(decision, "failed", outcome.error or "", kinds))
                report.warnings.append(f"{decision.image.name} was left as it was: {outcome.error}")
                continue
            replacements[decision.image.name] = outcome.data
            status: Status = "reused" if decision.duplicate_of else statuses[key]
            reason = f"same picture as {decision.duplicate_of}" if decision.duplicate_of else ""
            report.images.append(_image_report(decision, status, reason, kinds, outcome.seconds))
            report.warnings.extend(f"{decision.image.name}: {w}" for w in outcome.warnings)
        if cancel is not None:
            cancel.raise_if_cancelled()
        write_deck(deck, replacements, output)
    if preview is not None:
        language = reply_language(options.prompt or options.theme or "")
        slide_preview(source, output, report.changed_slides, preview, language=language)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def inspect_deck(source: Path) -> DeckInventory:
    """Every image of a deck and where it is used, without editing anything."""
    with DeckZip(Path(source)) as deck:
        return scan_package(deck, read_package(deck))


def _image_report(
    decision: Decision, status: Status, reason: str, kinds: dict[str, PictureKind], seconds: float = 0.0
) -> ImageReport:
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
        kind="vector" if image.format in VECTOR_FORMATS else kinds.get(image.name, ""),
        kept_because=decision.kept_because if status == "skipped" else "",
    )


def _classify(deck: DeckZip, inventory: DeckInventory, max_pixels: int) -> dict[str, PictureKind]:
    """Photo or graphic, for every raster picture shown on a slide (see ``kinds.py``); parts with
    the same bytes are looked at once."""
    kinds: dict[str, PictureKind] = {}
    seen: dict[str, PictureKind | None] = {}
    for image in inventory.images:
        if image.missing or image.error or image.only_thumbnail or image.format not in DECK_FORMATS:
            continue
        if image.sha256 not in seen:
            seen[image.sha256] = classify_part(deck.read(image.name), max_pixels=max_pixels)
        kind = seen[image.sha256]
        if kind is not None:
            kinds[image.name] = kind
    return kinds


def _recolor_scheme(deck: DeckZip, options: RestyleOptions, report: DeckReport) -> dict[str, bytes]:
    """The deck's theme parts with their colour schemes graded by the theme; noted in ``report``."""
    from engine.themes import get_theme

    recipe = get_theme((options.theme or "").strip()).recipe
    changed: dict[str, bytes] = {}
    for name in deck.names:
        if THEME_PART.match(name):
            data, colors = recolor_theme_part(deck.read(name), name, recipe)
            if colors:
                changed[name] = data
                report.theme_colors.extend(colors)
    return changed


def _estimate(selection: Selection, engine_name: str, workers: int) -> float:
    per_image, per_megapixel = _ESTIMATE.get(engine_name, _ESTIMATE["qwen"])
    work = sum(per_image + per_megapixel * d.image.width * d.image.height / 1e6 for d in selection.distinct)
    parallel = workers if engine_name == "classic" else 1
    return work / max(1, min(parallel, len(selection.distinct) or 1))
