"""``ClassicEngine``: executes an ``EditPlan`` operation by operation on the CPU.

Each operation kind is handled by one function in its own module; the engine only dispatches,
reports progress (one step per operation) and checks for cancellation between operations.
``capabilities`` is exactly the set of kinds with a handler, so the editor refuses (and points
to the qwen engine for) everything else, generative edits above all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PIL import Image

from engine.base import Engine
from engine.classic import background, badge, geometry, grade, recolor, remove, text
from engine.classic.adjust import apply_adjust
from engine.classic.context import OpContext
from engine.plan import Background, EditPlan, Place, Recolor, Remove
from engine.types import CancelToken, EditRequest, EngineOutput, ProgressCallback
from imgedit.config import Settings, get_settings

_NOT_RECTANGLES = (Place.BACKGROUND, Place.FOREGROUND)
#: ``handler(image, op, context) -> image``; ``op`` is the plan operation of the handler's kind.
OperationHandler = Callable[[Image.Image, Any, OpContext], Image.Image]


def _adjust(image: Image.Image, op: Any, ctx: OpContext) -> Image.Image:
    return apply_adjust(image, op)


def _locatable(op: Any) -> bool:
    """Whether the classic engine can tell which pixels ``op`` means (see ``unsupported``)."""
    has_region = op.box is not None or (op.place is not None and op.place not in _NOT_RECTANGLES)
    if isinstance(op, Recolor):
        return bool(op.from_color) or has_region
    if isinstance(op, Remove):
        return bool(op.color) or has_region
    if isinstance(op, Background):
        return op.mode != "replace"
    return True


def _rgb(image: Image.Image) -> Image.Image:
    """``image`` as RGB, without the copy ``convert`` makes when it already is (12 MB at 2048²)."""
    return image if image.mode == "RGB" else image.convert("RGB")


class ClassicEngine(Engine):
    name = "classic"
    exact = True

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.handlers: dict[str, OperationHandler] = {
            "adjust": _adjust,
            "theme": grade.apply_theme,
            "text_replace": text.replace_text,
            "text_remove": text.remove_text,
            "text_add": badge.add_text,
            "recolor": recolor.recolor,
            "remove": remove.remove,
            "background": background.change_background,
            "crop": geometry.crop,
            "resize": geometry.resize,
            "rotate": geometry.rotate,
            "flip": geometry.flip,
        }
        self.capabilities = frozenset(self.handlers)

    def unsupported(self, plan: EditPlan) -> list[str]:
        """Kinds without a handler, and operations whose target only a generative model can find:
        an object named without a colour or a place ("make the dress red"), or a new background
        scene. Saying so before any work lets the editor route such plans to qwen in auto mode."""
        return [op.op for op in plan.operations if op.op not in self.capabilities or not _locatable(op)]

    def run(
        self,
        request: EditRequest,
        plan: EditPlan,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> EngineOutput:
        image = _rgb(request.image)
        timings: dict[str, float] = {}
        warnings: list[str] = []
        total = len(plan.operations)
        for index, op in enumerate(plan.operations):
            if cancel is not None:
                cancel.raise_if_cancelled()
            context = OpContext(request=request)
            started = time.perf_counter()
            image = _rgb(self.handlers[op.op](image, op, context))
            key = f"{index}.{op.op}"
            timings[key] = time.perf_counter() - started
            timings.update({f"{key}.{stage}": seconds for stage, seconds in context.timings.items()})
            warnings.extend(w for w in context.warnings if w not in warnings)
            if progress is not None:
                progress(index + 1, total)
        return EngineOutput(
            image=image, parameters={"operations": plan.kinds}, warnings=warnings, timings=timings
        )
