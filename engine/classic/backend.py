"""``ClassicEngine``: executes an ``EditPlan`` operation by operation on the CPU.

Each operation kind is handled by one function in its own module; the engine only dispatches,
reports progress (one step per operation) and checks for cancellation between operations.
``capabilities`` is exactly the set of kinds with a handler, so the editor refuses (and points
to the qwen engine for) everything else, generative edits above all.

Two guarantees live here because they hold for every operation: an operation asked for that
changes nothing is an error naming its clause (never a success with nothing done), and a
transparent cut-out keeps its alpha through the operations after it (geometry transforms it
with the picture; other edits work on the colours under it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from engine.base import Engine
from engine.classic import background, badge, geometry, grade, recolor, remove, text
from engine.classic.adjust import apply_adjust
from engine.classic.context import OpContext
from engine.parsing.text import PRICE_TAG
from engine.partial import others_not_applied
from engine.plan import GEOMETRY_KINDS, Background, EditPlan, Place, Recolor, Remove
from engine.types import CancelToken, EditRequest, EngineOutput, ProgressCallback
from imgedit.config import Settings, get_settings
from imgedit.errors import BadInputError, NothingChangedError

_NOT_RECTANGLES = (Place.BACKGROUND, Place.FOREGROUND)
#: ``handler(image, op, context) -> image``; ``op`` is the plan operation of the handler's kind.
OperationHandler = Callable[[Image.Image, Any, OpContext], Image.Image]


def _adjust(image: Image.Image, op: Any, ctx: OpContext) -> Image.Image:
    return apply_adjust(image, op)


def _locatable(op: Any) -> bool:
    """Whether the classic engine can tell which pixels ``op`` means (see ``unsupported``)."""
    has_region = op.box is not None or (op.place is not None and op.place not in _NOT_RECTANGLES)
    if isinstance(op, Recolor):
        # A named object ("the mug") is found as the one dominant product on a plain backdrop.
        return bool(op.from_color or op.target) or has_region
    if isinstance(op, Remove):
        # A price tag is found by the price OCR reads on it ("remove the price tag").
        return bool(op.color) or has_region or bool(PRICE_TAG.search(op.target))
    if isinstance(op, Background):
        return op.mode != "replace"
    return True


def _rgb(image: Image.Image) -> Image.Image:
    """``image`` as RGB, without the copy ``convert`` makes when it already is (12 MB at 2048²)."""
    return image if image.mode == "RGB" else image.convert("RGB")


def _apply(handler: OperationHandler, image: Image.Image, op: Any, ctx: OpContext) -> Image.Image:
    """Run ``handler``; an RGBA picture (after a cut-out) goes whole through geometry, and other
    operations edit its colours while the alpha is kept."""
    if image.mode != "RGBA" or op.op in GEOMETRY_KINDS:
        out = handler(image, op, ctx)
        return out if out.mode in ("RGB", "RGBA") else out.convert("RGB")
    out = _rgb(handler(image.convert("RGB"), op, ctx))
    if out.mode == "RGB" and out.size == image.size:
        out.putalpha(image.getchannel("A"))
    return out


def _unchanged(before: Image.Image, after: Image.Image) -> bool:
    if before.size != after.size or before.mode != after.mode:
        return False
    return bool(np.array_equal(np.asarray(before), np.asarray(after)))


def _nothing_changed(op: Any, image: Image.Image, ctx: OpContext) -> str:
    """Why an operation that changed nothing fails, naming its clause: geometry asked for what
    the picture already is (it is square already), anything else found nothing to act on."""
    clause = op.source or op.op
    if op.op in GEOMETRY_KINDS:
        width, height = image.size
        return ctx.say(
            f"'{clause}' changed nothing: the picture ({width}x{height}) is already that way, so the "
            "edit was not applied.",
            f"“{clause}”没有改变图片：图片（{width}x{height}）本来就是这样，所以这次修改没有完成。",
        )
    return ctx.say(
        f"'{clause}' changed nothing in the picture, so the edit was not applied. Check that what it "
        "names is in the picture, or name it more precisely.",
        f"“{clause}”没有改变图片中的任何内容，所以这次修改没有完成。请确认要修改的内容在图中，或者描述得更具体一些。",
    )


def _in_plan(exc: BadInputError, plan: EditPlan, op: Any, ctx: OpContext) -> BadInputError:
    """``exc`` (an operation could not be done) as the whole edit's answer: with other clauses in
    the plan, the message names the clause that failed and says the others were not applied
    either (nothing is kept of a refused edit). Same error, same code and hint."""
    others = others_not_applied(plan, [op], ctx.zh)
    if not others:
        return exc
    clause = op.source or op.op
    if clause not in exc.message:
        exc.message = ctx.say(f"'{clause}' could not be done: ", f"“{clause}”没有完成：") + exc.message
    exc.message = f"{exc.message} {others}" if not ctx.zh else exc.message + others
    exc.args = (exc.message,)
    return exc


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
            "pad": geometry.pad,
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
        parameters: dict[str, Any] = {"operations": plan.kinds}
        total = len(plan.operations)
        for index, op in enumerate(plan.operations):
            if cancel is not None:
                cancel.raise_if_cancelled()
            context = OpContext(request=request)
            started = time.perf_counter()
            before = image
            try:
                image = _apply(self.handlers[op.op], image, op, context)
                if not op.implied and _unchanged(before, image):
                    raise NothingChangedError(_nothing_changed(op, before, context))
            except BadInputError as exc:
                raise _in_plan(exc, plan, op, context) from None
            key = f"{index}.{op.op}"
            timings[key] = time.perf_counter() - started
            timings.update({f"{key}.{stage}": seconds for stage, seconds in context.timings.items()})
            parameters.update(
                {f"{index}.{op.op}.{name}": value for name, value in context.parameters.items()}
            )
            warnings.extend(w for w in context.warnings if w not in warnings)
            if progress is not None:
                progress(index + 1, total)
        if _unchanged(_rgb(request.image), image):
            # Each operation asked for one by one changed something, so this is a plan of implied
            # ones (a purpose the picture already meets) or of changes that undid each other.
            context = OpContext(request=request)
            raise NothingChangedError(
                context.say(
                    f"'{plan.instruction}' changed nothing: the picture already is what it asks for, "
                    "so no new picture was made.",
                    f"“{plan.instruction}”没有改变图片：图片已经符合要求，所以没有生成新图片。",
                )
            )
        return EngineOutput(image=image, parameters=parameters, warnings=warnings, timings=timings)
