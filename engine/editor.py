"""``Editor``: the one entry point for edits, whatever the backend.

It validates the inputs, parses the instruction into a plan, picks a backend that can execute
the whole plan (or says which one could), runs it, and then applies the guarantees shared by
all backends: the output has the input's size, unnamed pixels are kept (preservation), a local
edit may not repaint more than the allowed share of the image, alpha is carried over, and the
output passes the NSFW check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PIL import Image

from engine.base import Engine
from engine.parsing import ParseOptions, parse_instruction
from engine.parsing.colors import parse_color
from engine.parsing.language import reply_language
from engine.partial import others_not_applied
from engine.plan import Background, EditPlan, Operation
from engine.safety import check_output_safety
from engine.types import CancelToken, EditReport, EditRequest, EditResult, EngineOutput, ProgressCallback
from imgedit.config import Settings, get_settings
from imgedit.errors import (
    BadInputError,
    EditAreaExceededError,
    NothingChangedError,
    UnsupportedOperationError,
)

if TYPE_CHECKING:  # pragma: no cover - the qwen backend is imported only when used
    from engine.qwen.backend import WarmUp

ENGINE_NAMES = ("auto", "classic", "qwen")
#: A background change of a picture that already has its alpha which moves fewer pixels than this
#: share is the same cut-out again, not an edit.
ALREADY_CUT_OUT = 0.001


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())


class Editor:
    """Edit images from instructions.

    ``engine`` is ``"auto"`` (qwen when a model folder is configured and CUDA is present,
    otherwise classic; in auto mode, plans classic can do stay on classic), ``"classic"`` or
    ``"qwen"``. Extra keyword arguments configure the qwen backend (any ``QwenEngine`` option:
    ``device``, ``preset``, ``lora_path``, ``dtype``, ``target_area``…); the others come from
    ``settings``. ``warm_up`` loads the qwen model before the first edit (servers, GPU workers).
    """

    def __init__(
        self,
        engine: str | None = None,
        model_path: str | None = None,
        *,
        settings: Settings | None = None,
        **qwen_options: Any,
    ) -> None:
        self.settings = settings or get_settings()
        self.engine_name = engine or self.settings.engine
        if self.engine_name not in ENGINE_NAMES:
            raise BadInputError(
                f"Unknown engine '{self.engine_name}'; choose one of: {', '.join(ENGINE_NAMES)}."
            )
        self.model_path = model_path or self.settings.qwen_model
        self.qwen_options = qwen_options
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()
        if self.engine_name == "qwen" and not self.model_path:
            raise BadInputError(
                "The qwen engine needs a model folder.",
                hint="Pass --model PATH or set IMGEDIT_QWEN_MODEL to a local Qwen-Image-Edit-2509 folder.",
            )

    # -- backends -------------------------------------------------------------------------

    def qwen_available(self) -> bool:
        """Whether qwen is usable here: a model folder is configured and (in auto mode) CUDA exists."""
        if not self.model_path:
            return False
        return self.engine_name == "qwen" or cuda_available()

    def backend(self, name: str) -> Engine:
        """The backend called ``name``, built on first use and then reused."""
        with self._lock:
            if name not in self._engines:
                self._engines[name] = self._build(name)
            return self._engines[name]

    def _build(self, name: str) -> Engine:
        if name == "classic":
            from engine.classic import ClassicEngine

            return ClassicEngine(settings=self.settings)
        if name == "qwen":
            from engine.qwen import QwenEngine

            assert self.model_path is not None
            # Every other option comes from ``self.settings`` (IMGEDIT_QWEN_*), inside the engine.
            return QwenEngine(self.model_path, settings=self.settings, **self.qwen_options)
        raise BadInputError(f"Unknown engine '{name}'.")

    def warms_up(self) -> bool:
        """Whether ``warm_up`` has work to do: this editor runs the qwen engine."""
        return self.engine_name != "classic" and self.qwen_available()

    def warm_up(self, progress: Callable[[str, str], None] | None = None) -> WarmUp | None:
        """Make this editor's first edit as fast as its others; ``None`` when there is nothing to warm.

        The one start-up entry point for servers and GPU workers: when this editor runs the qwen
        engine it loads the pipeline to the device, fuses its LoRA there, and runs one small
        generation (compiling the transformer when ``IMGEDIT_QWEN_COMPILE`` is set). It blocks for
        as long as that takes (minutes for the real model): call it in a thread where the caller
        must keep answering. ``progress`` receives ``(stage, message)`` pairs (``load``, ``lora``,
        ``fp8``, ``generate``, ``ready``); by default they are logged. The classic engine loads its
        models on first use, in seconds, and is not warmed here.
        """
        if not self.warms_up():
            return None
        from engine.qwen import QwenEngine

        backend = self.backend("qwen")
        assert isinstance(backend, QwenEngine)
        return backend.warm_up(progress)

    def choose_backend(self, plan: EditPlan) -> Engine:
        """The backend for ``plan``, or an error that names what cannot be done and why."""
        if self.engine_name == "qwen":
            return self.backend("qwen")
        classic = self.backend("classic")
        missing = classic.unsupported(plan)
        if not missing:
            return classic
        if self.engine_name == "auto" and self.qwen_available():
            return self.backend("qwen")
        raise unsupported_error(plan, classic)

    # -- editing --------------------------------------------------------------------------

    def parse(self, instruction: str, options: ParseOptions | None = None) -> EditPlan:
        return parse_instruction(instruction, options=options, settings=self.settings)

    def edit(
        self,
        image: Image.Image | None = None,
        prompt: str = "",
        *,
        images: list[Image.Image] | None = None,
        negative_prompt: str = " ",
        seed: int | None = None,
        num_inference_steps: int | None = None,
        true_cfg_scale: float | None = None,
        mask: Image.Image | None = None,
        enable_semantic_preserve: bool = True,
        max_edit_area: float | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        max_new_tokens: int | None = None,
        plan: EditPlan | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> EditResult:
        """Edit ``image`` (or ``images``, 1 to 3, the first being edited) as ``prompt`` says."""
        inputs = list(images or [])
        if image is not None:
            inputs.insert(0, image)
        request = EditRequest(
            images=inputs,
            instruction=prompt,
            negative_prompt=negative_prompt,
            seed=seed,
            steps=num_inference_steps,
            guidance=true_cfg_scale,
            mask=mask,
            enable_semantic_preserve=enable_semantic_preserve,
            max_edit_area=max_edit_area,
            plan=plan,
        )
        options = ParseOptions(temperature=temperature, top_k=top_k, max_new_tokens=max_new_tokens)
        return self.run(request, parse_options=options, progress=progress, cancel=cancel)

    def run(
        self,
        request: EditRequest,
        *,
        parse_options: ParseOptions | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> EditResult:
        """Execute an ``EditRequest`` with all shared guarantees; see the class docstring."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        plan = request.plan or self.parse(request.instruction, parse_options)
        timings["parse"] = time.perf_counter() - started
        backend = self.choose_backend(plan)
        source = request.image
        alpha = source.getchannel("A") if source.mode == "RGBA" else None
        run_plan: EditPlan | None = plan
        backdrop = _new_backdrop(plan, alpha)
        filled = 0.0
        if backdrop is not None:
            # A cut-out given a solid background ("去掉背景" then "把背景换成白色"): its own alpha
            # says what the backdrop is, so the picture goes over the new colour and the rest of
            # the plan runs on that. Before, the backend saw unchanged colours and answered
            # nothing_changed while the picture stayed transparent.
            color, done = backdrop
            flat = Image.new("RGB", source.size, color)
            flat.paste(source.convert("RGB"), mask=alpha)
            request = replace(request, images=[flat, *request.images[1:]])
            filled = _transparent_share(alpha) if alpha is not None else 0.0
            rest = [op for op in plan.operations if op is not done]
            run_plan = plan.model_copy(update={"operations": rest}) if rest else None
            alpha = None
        rgb_request = _with_rgb_images(request)
        if cancel is not None:
            cancel.raise_if_cancelled()

        t0 = time.perf_counter()
        try:
            output = (
                backend.run(rgb_request, run_plan, progress=progress, cancel=cancel)
                if run_plan is not None
                else EngineOutput(image=rgb_request.image, parameters={"background": "the cut-out's alpha"})
            )
        except UnsupportedOperationError:
            # The classic engine found at run time that it cannot do this honestly (a busy scene
            # behind a cut-out, an object it cannot find): qwen does it where it is available.
            if backend.name != "classic" or self.engine_name != "auto" or not self.qwen_available():
                raise
            backend = self.backend("qwen")
            output = backend.run(rgb_request, plan, progress=progress, cancel=cancel)
        timings["engine"] = time.perf_counter() - t0
        timings.update({f"engine.{key}": value for key, value in output.timings.items()})
        warnings = list(output.warnings)
        # A cut-out brings its own alpha; otherwise the input's alpha is carried over below.
        cut_out = output.image.getchannel("A") if output.image.mode == "RGBA" else None
        result = output.image.convert("RGB")
        original = rgb_request.image

        changed_ratio = 1.0
        if not plan.changes_geometry:
            # Imported here, not at the top: it pulls in OpenCV and numpy (~0.1 s), which commands
            # that never edit (``imgedit themes``, ``serve`` start-up, ``--help``) should not pay.
            from engine.preserve import preserve_unedited

            if result.size != original.size:
                result = result.resize(original.size, Image.Resampling.LANCZOS)
            t0 = time.perf_counter()
            preserved = preserve_unedited(
                original,
                result,
                mask=request.mask,
                composite=request.enable_semantic_preserve and plan.is_local,
                exact=backend.exact,
                grounding=output.grounding,
            )
            timings["preserve"] = time.perf_counter() - t0
            if not backend.exact and preserved.outside_ratio > preserved.changed_area_ratio:
                raise NothingChangedError(_changed_elsewhere(plan))
            if not backend.exact and plan.is_local and preserved.changed_area_ratio == 0.0:
                raise NothingChangedError(_nothing_changed(plan))
            result = preserved.image
            changed_ratio = max(preserved.changed_area_ratio, filled)
            warnings.extend(preserved.warnings)
            limit = (
                request.max_edit_area if request.max_edit_area is not None else self.settings.max_edit_area
            )
            if request.enable_semantic_preserve and plan.area_limited and changed_ratio > limit:
                raise EditAreaExceededError(
                    f"这次局部修改改动了图片的{changed_ratio:.0%}，超过了局部修改允许的{limit:.0%}，"
                    "所以没有应用。请把要改的位置说得更具体一些。"
                    if reply_language(plan.instruction) == "zh"
                    else f"This local edit changed {changed_ratio:.0%} of the image, more than the "
                    f"{limit:.0%} allowed for a local edit, so it was refused.",
                    hint="Name the region more precisely, or raise the limit with max_edit_area / "
                    "IMGEDIT_MAX_EDIT_AREA if a large change is intended.",
                )
            if alpha is not None and cut_out is None:
                result.putalpha(alpha)
        if cut_out is not None and cut_out.size == result.size:
            result.putalpha(cut_out)
            if not plan.changes_geometry:
                # Making pixels transparent is a change even where their colour stays.
                import numpy as np

                before = np.asarray(alpha) if alpha is not None else np.uint8(255)
                changed_ratio = max(changed_ratio, float(np.mean(np.asarray(cut_out) != before)))
                if alpha is not None and plan.kinds == ["background"] and changed_ratio < ALREADY_CUT_OUT:
                    # A cut-out of a cut-out: the matting moved a few edge pixels, nothing more.
                    raise NothingChangedError(
                        f"“{plan.instruction}”没有改变图片：背景本来就是透明的，所以没有生成新图片。"
                        if reply_language(plan.instruction) == "zh"
                        else f"'{plan.instruction}' changed nothing: the background is already transparent, "
                        "so no new picture was made."
                    )

        if self.settings.nsfw_check:
            t0 = time.perf_counter()
            check_output_safety(result)
            timings["safety"] = time.perf_counter() - t0

        report = EditReport(
            engine=backend.name,
            plan=plan.model_dump(mode="json"),
            parameters={"seed": request.seed, **output.parameters},
            seconds=time.perf_counter() - started,
            changed_area_ratio=round(changed_ratio, 6),
            warnings=warnings,
            timings={key: round(value, 6) for key, value in timings.items()},
            input_size=source.size,
            output_size=result.size,
        )
        return EditResult(image=result, report=report)


def _nothing_changed(plan: EditPlan) -> str:
    """Why a generative edit whose output, once aligned and colour matched, equals the input
    fails: returning the unchanged picture as the edit would be a success that did nothing."""
    if reply_language(plan.instruction) == "zh":
        return (
            f"模型没有改变图片中的任何内容（“{plan.instruction}”），没有生成新版本。"
            "请描述得更具体一些，或换一个随机种子再试。"
        )
    return (
        f"The model changed nothing in the picture ('{plan.instruction}'), so no new version was made. "
        "Describe it more precisely, or try another seed."
    )


def _changed_elsewhere(plan: EditPlan) -> str:
    """Why an edit bounded to a known object (its box) fails when most of what the model changed
    lies outside it: the model edited something else, and keeping the sliver inside the box
    would hand back a picture where what was asked for did not happen."""
    if reply_language(plan.instruction) == "zh":
        return (
            f"模型改动的主要是图中别的地方，而不是要修改的对象（“{plan.instruction}”），"
            "所以没有生成新版本。请换一个随机种子再试，或把要改的对象描述得更具体一些。"
        )
    return (
        f"The model changed mostly other parts of the picture, not the object to edit "
        f"('{plan.instruction}'), so no new version was made. Try another seed, or describe the "
        "object more precisely."
    )


#: What each kind is, for a user, when the classic engine cannot do it as asked.
_NOT_LOCATED = {
    "recolor": ("recolour", "改颜色"),
    "remove": ("removal", "去除"),
}
QWEN_HINT = (
    "It needs the qwen engine: set IMGEDIT_QWEN_MODEL to a local Qwen-Image-Edit-2509 folder on a CUDA "
    "machine and use --engine qwen (or auto)."
)


def unsupported_error(plan: EditPlan, classic: Engine) -> UnsupportedOperationError:
    """Why the classic engine cannot do ``plan``, for the user in their language: a generative
    edit needs a generative model; anything else needs naming more precisely. The settings that
    enable qwen are the operator's business, so they go in the hint."""
    zh = reply_language(plan.instruction) == "zh"
    missing = [
        op
        for op in plan.operations
        if classic.unsupported(
            EditPlan(instruction=plan.instruction, operations=[op], language=plan.language)
        )
    ]
    generative = [op for op in missing if op.op not in _NOT_LOCATED]
    if generative:
        what = "；".join(op.source or plan.instruction for op in generative)
        message = (
            f"“{what}”需要生成式模型（qwen 引擎）来绘制新内容，当前的经典引擎做不到；"
            "可以改成文字、颜色、去除、背景或尺寸类的修改。"
            if zh
            else f"'{what}' needs a generative model (the qwen engine) to paint new content, which the "
            "classic engine cannot do (generative edit); text, colour, removal, background and size "
            "edits work."
        )
        return UnsupportedOperationError(_and_the_rest(message, plan, generative, zh), hint=QWEN_HINT)
    op = missing[0]
    en, zh_word = _NOT_LOCATED[op.op]
    message = (
        f"无法确定“{op.source or plan.instruction}”指的是图中哪一部分（{zh_word}）。"
        "请说明它的颜色或位置，例如“去掉右下角的红色贴纸”。"
        if zh
        else f"Could not tell which part of the picture '{op.source or plan.instruction}' means ({en}). "
        "Name its colour or place, e.g. 'remove the red sticker in the bottom right'."
    )
    return UnsupportedOperationError(_and_the_rest(message, plan, [op], zh), hint=QWEN_HINT)


def _and_the_rest(message: str, plan: EditPlan, failed: list[Operation], zh: bool) -> str:
    """``message`` followed by the clauses that were not applied with it (the edit is refused whole)."""
    others = others_not_applied(plan, failed, zh)
    if not others:
        return message
    return message + others if zh else f"{message} {others}"


def _new_backdrop(plan: EditPlan, alpha: Image.Image | None) -> tuple[tuple[int, int, int], Operation] | None:
    """The colour a transparent picture's backdrop becomes, and the operation that asks for it:
    a solid background change of an input with transparent pixels; ``None`` otherwise."""
    if alpha is None or alpha.getextrema()[0] == 255:
        return None
    for op in plan.operations:
        if isinstance(op, Background) and op.mode == "solid" and op.color:
            rgb = parse_color(op.color)
            return (rgb, op) if rgb is not None else None
    return None


def _transparent_share(alpha: Image.Image) -> float:
    """Share of the pixels that were not fully opaque: what a new backdrop changes."""
    histogram = alpha.histogram()
    return 1.0 - histogram[255] / max(1, sum(histogram))


def _with_rgb_images(request: EditRequest) -> EditRequest:
    """A copy of the request whose images are RGB; backends never see alpha."""
    if all(img.mode == "RGB" for img in request.images):
        return request
    return replace(request, images=[img.convert("RGB") for img in request.images])
