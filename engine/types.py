"""The engine's boundary data: what an edit asks for, what it returns, and how it reports.

``EditRequest`` and ``EditResult`` are what ``Editor.edit`` and every backend exchange;
``ProgressCallback`` and ``CancelToken`` let long work report (step, total) and stop
between steps, which the job scheduler and the CLI progress bar rely on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from PIL import Image

from engine.plan import EditPlan
from imgedit.errors import BadInputError, EditCancelledError

if TYPE_CHECKING:  # the classic engine's package is heavy (OpenCV); only the type is needed
    from engine.classic.regions import Rect

#: Called as ``progress(done, total)``; ``done`` counts up to ``total``.
ProgressCallback = Callable[[int, int], None]

MAX_INPUT_IMAGES = 3


class CancelToken:
    """A thread-safe flag a caller sets to stop an edit at the next step boundary."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise EditCancelledError("The edit was cancelled.")


@dataclass
class EditRequest:
    """One edit: 1 to 3 images (the first is edited; the others are references) and an instruction.

    ``steps`` and ``guidance`` (true CFG scale) are for generative engines; ``None`` means the
    engine's default. ``max_edit_area`` ``None`` means the configured ``IMGEDIT_MAX_EDIT_AREA``.
    ``plan`` may be given by a caller that already parsed the instruction (the agent does).
    """

    images: list[Image.Image]
    instruction: str
    negative_prompt: str = " "
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    mask: Image.Image | None = None
    enable_semantic_preserve: bool = True
    max_edit_area: float | None = None
    plan: EditPlan | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.images) <= MAX_INPUT_IMAGES:
            raise BadInputError(
                f"An edit takes 1 to {MAX_INPUT_IMAGES} images; {len(self.images)} were given."
            )
        if self.mask is not None and self.mask.size != self.images[0].size:
            raise BadInputError(
                f"The mask is {self.mask.size[0]}x{self.mask.size[1]} but the image is "
                f"{self.images[0].size[0]}x{self.images[0].size[1]}; they must match."
            )
        if self.max_edit_area is not None and not 0.0 < self.max_edit_area <= 1.0:
            raise BadInputError("max_edit_area must be a fraction in (0, 1].")

    @property
    def image(self) -> Image.Image:
        """The image being edited (the first one)."""
        return self.images[0]


@dataclass(frozen=True)
class Grounding:
    """Where the plan says a generative edit is, in pixels of the input (engine/preserve/grounding.py).

    ``boxes``: where preservation looks first: detection is more sensitive inside them and fills
    what it finds there solidly (the OCR box of the text a text edit names, an operation's box).
    ``bounds``: set only when every operation of the plan names its box (an entity known in a
    session, a box the planner gave): the edit is confined to them (already grown for a
    generative model's freedom of shape), and whatever the model changed elsewhere is drift,
    never kept. Empty: the change may be anywhere.
    """

    boxes: tuple[Rect, ...] = ()
    bounds: tuple[Rect, ...] = ()


@dataclass
class EngineOutput:
    """What a backend returns before the editor's shared steps (preservation, safety).

    ``grounding``: where a generative backend expects its edit, so preservation looks there
    first and, when the plan confines the edit, keeps nothing outside it.
    """

    image: Image.Image
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    grounding: Grounding = field(default_factory=Grounding)


@dataclass
class EditReport:
    """How an edit was done, for the user, the audit log and the CLI's ``--json``."""

    engine: str
    plan: dict[str, Any]
    parameters: dict[str, Any]
    seconds: float
    changed_area_ratio: float
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    input_size: tuple[int, int] = (0, 0)
    output_size: tuple[int, int] = (0, 0)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["input_size"] = list(self.input_size)
        data["output_size"] = list(self.output_size)
        return data


@dataclass
class EditResult:
    image: Image.Image
    report: EditReport
