"""One item's edit, as a worker does it: decode, plan, edit, encode in kind, write atomically.

``ItemEditor`` is built once per worker (the ``Editor`` and its models, the glossary) and reused
for every item. Writing the result in the worker, not the parent, keeps pictures off the pipe;
only the outcome crosses back. A problem with this one item is an outcome, never an exception:
the batch goes on.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from PIL import ExifTags, Image

from batch.output import write_atomic
from engine import Editor, EditPlan
from engine.parsing.language import reply_language
from engine.plan import TextAdd, TextReplace, Theme
from engine.translation import Glossary, TranslationPlan, plan_translation, translation_target
from engine.translation.model import model_configured
from imgedit.errors import EditCancelledError, ImgEditError
from plugins.pptx.codec import DecodedImage, decode_part, encode_frames

OutcomeStatus = Literal["edited", "unchanged", "partial", "failed"]


@dataclass(frozen=True)
class WorkerConfig:
    """What every item of a batch shares; it crosses to each worker process once."""

    engine: str | None = None
    glossary: tuple[tuple[str, str], ...] = ()
    seed: int = 0
    theme: str | None = None


@dataclass(frozen=True)
class EditTask:
    key: str
    name: str
    data: bytes
    instruction: str  # empty: the batch's theme
    output_path: str


@dataclass
class EditOutcome:
    key: str
    status: OutcomeStatus
    reason: str = ""
    exit_code: int = 0
    engine: str = ""
    operations: list[str] = field(default_factory=list)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    translated: list[dict[str, str]] = field(default_factory=list)
    untranslated: list[str] = field(default_factory=list)


@dataclass
class PlannedEdit:
    """An item's plan; ``plan`` is ``None`` when there is nothing to do (no text to translate)."""

    plan: EditPlan | None
    translation: TranslationPlan | None = None


#: EXIF orientation -> the transpose that shows the picture upright (as Pillow's ``exif_transpose``).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def decode_upright(data: bytes, name: str, *, max_pixels: int) -> DecodedImage:
    """The picture decoded with the deck codec's checks and format details (every frame of an
    animation, colour profile, resolution, TIFF compression, lossless WebP), turned upright by its
    EXIF orientation: a deck keeps the stored pixel grid (its crops refer to it), but a batch edits
    what people see ("the top right" is the top right on screen) and writes it upright."""
    decoded = decode_part(data, name, max_pixels=max_pixels)
    if decoded.animated:
        return decoded
    with Image.open(io.BytesIO(data)) as opened:
        method = _UPRIGHT.get(int(opened.getexif().get(ExifTags.Base.Orientation, 1)))
    if method is not None:
        decoded.frames = [decoded.image.transpose(method)]
    return decoded


def theme_plan(name: str) -> EditPlan:
    from engine.themes import get_theme

    spec = get_theme(name.strip())  # NotFoundError names the themes there are
    return EditPlan(instruction=f"theme:{spec.name}", operations=[Theme(name=spec.name)])


def untranslated_message(instruction: str, phrases: list[str]) -> str:
    quoted = ", ".join(f"'{phrase}'" for phrase in phrases)
    if reply_language(instruction) == "zh":
        return f"这些文字没有译文，未作猜测：{quoted}（请加入术语表 --glossary，或配置 IMGEDIT_LLM=openai）"
    return (
        f"no translation for {quoted}; nothing was guessed "
        "(add them to the --glossary, or configure IMGEDIT_LLM=openai)"
    )


def nothing_to_translate(instruction: str) -> str:
    zh = reply_language(instruction) == "zh"
    return "图中没有需要翻译的文字，原样写出" if zh else "no text to translate was found; written as it was"


class ItemEditor:
    def __init__(self, config: WorkerConfig, editor: Editor | None = None) -> None:
        """``editor``: one the caller has already (a service process's, its models loaded)."""
        self.config = config
        self.editor = editor or Editor(engine=config.engine)
        self.glossary = Glossary(config.glossary)
        self._plans: dict[str, EditPlan] = {}

    def parse(self, instruction: str) -> EditPlan:
        """The instruction's plan, parsed once per distinct text (with IMGEDIT_LLM=openai a parse is
        a request; a batch repeats its instructions), and checked against the engine."""
        plan = self._plans.get(instruction)
        if plan is None:
            plan = self.editor.parse(instruction)
            self.editor.choose_backend(plan)
            self._plans[instruction] = plan
        return plan

    def plan(self, image: Image.Image, instruction: str, *, ask_model: bool = True) -> PlannedEdit:
        """The item's plan: the theme, a translation of the picture's text, or the parsed instruction."""
        if not instruction and self.config.theme is not None:
            return PlannedEdit(theme_plan(self.config.theme))
        target = translation_target(instruction)
        if target is None:
            return PlannedEdit(self.parse(instruction))
        settings = self.editor.settings
        if not ask_model:
            settings = settings.model_copy(update={"llm": "rules"})
        translation = plan_translation(image, instruction, target, self.glossary, settings)
        return PlannedEdit(translation.plan, translation)

    def warm_up(self, plan: EditPlan) -> None:
        """Load what every edit of ``plan`` needs and forked workers can share, once, before they are
        forked: the modules preservation uses and the fonts the plan draws with (reading a CJK
        font's character map takes about half a second of CPU, which each worker would repeat).
        Models are not loaded here: their thread pools would not survive the fork."""
        import engine.preserve  # noqa: F401  (OpenCV and SciPy paths, imported on first edit)
        from engine.classic.fonts import find_font

        for op in plan.operations:
            text = op.text if isinstance(op, TextAdd) else op.new if isinstance(op, TextReplace) else ""
            if text.strip():
                find_font(text)

    @property
    def model_configured(self) -> bool:
        return model_configured(self.editor.settings)

    def edit(self, task: EditTask) -> EditOutcome:
        started = time.perf_counter()
        outcome = EditOutcome(key=task.key, status="edited")
        try:
            decoded = decode_upright(task.data, task.name, max_pixels=self.editor.settings.max_image_pixels)
            planned = self.plan(decoded.image, task.instruction)
            translation = planned.translation
            if translation is not None:
                outcome.translated = [
                    {"source": t.source, "target": t.target, "by": t.by} for t in translation.translated
                ]
                outcome.untranslated = list(translation.untranslated)
            if planned.plan is None:
                if outcome.untranslated:
                    outcome.status, outcome.exit_code = "failed", 2
                    outcome.reason = untranslated_message(task.instruction, outcome.untranslated)
                else:
                    write_atomic(Path(task.output_path), task.data)
                    outcome.status = "unchanged"
                    outcome.reason = nothing_to_translate(task.instruction)
                return outcome
            frames = []
            for frame in decoded.frames:  # an animation: every frame, its timing kept
                result = self.editor.edit(
                    image=frame, prompt=planned.plan.instruction, plan=planned.plan, seed=self.config.seed
                )
                frames.append(result.image)
                outcome.warnings.extend(w for w in result.report.warnings if w not in outcome.warnings)
            write_atomic(Path(task.output_path), encode_frames(frames, decoded))
            outcome.engine = result.report.engine
            outcome.operations = planned.plan.kinds
            if outcome.untranslated:
                outcome.status = "partial"
                outcome.reason = untranslated_message(task.instruction, outcome.untranslated)
        except EditCancelledError:
            raise
        except ImgEditError as exc:
            said = exc.speak(reply_language(task.instruction))  # a Chinese prompt: a Chinese reason
            outcome.status, outcome.exit_code, outcome.reason = "failed", exc.exit_code, str(said)
        except Exception as exc:  # a failure of ours: named for this item, the batch goes on
            outcome.status, outcome.exit_code = "failed", 1
            outcome.reason = f"internal error: {type(exc).__name__}: {exc}"
        finally:
            outcome.seconds = round(time.perf_counter() - started, 4)
        return outcome
