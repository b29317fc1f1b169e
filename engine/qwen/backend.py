"""``QwenEngine``: edits with Qwen-Image-Edit (2509, 2511) through diffusers' QwenImageEditPlusPipeline.

The engine turns a request into one pipeline call: the prompt (engine/qwen/prompt.py), a size
on the reference image's grid (engine/qwen/sizing.py), the preset's step count and true CFG scale
(engine/qwen/presets.py) unless the request overrides them, and a seed; it reports each denoising
step, stops at the next step when cancelled, and maps the result back to the input's exact size.
``warm_up`` loads the pipeline and runs it once before any user waits on it. Preservation of
unedited pixels and the edit-area guard are the editor's, applied after ``run`` as for every
backend.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, get_args

from PIL import Image

from engine.base import Engine
from engine.plan import GEOMETRY_KINDS, EditPlan, OperationKind
from engine.qwen.loader import (
    LoadedPipeline,
    LoadProgress,
    PipelineOptions,
    attention_backends,
    check_fp8,
    default_device,
    default_dtype,
    get_pipeline,
    resolve_source,
)
from engine.qwen.loader import describe as describe_pipeline
from engine.qwen.presets import Preset, check_lora, get_preset, override_warning
from engine.qwen.prompt import build_prompt
from engine.qwen.sizing import generation_size, megapixels
from engine.types import CancelToken, EditRequest, EngineOutput, ProgressCallback
from imgedit.config import Settings, get_settings
from imgedit.errors import BadInputError, EditCancelledError

#: The pipeline module's own input areas (diffusers' ``VAE_IMAGE_SIZE``, ``CONDITION_IMAGE_SIZE``).
PIPELINE_VAE_AREA = 1024 * 1024
PIPELINE_CONDITION_AREA = 384 * 384
#: Inputs above this multiple of the generation area get a warning: their detail is regenerated.
LARGE_INPUT_FACTOR = 2.0

# The pipeline reads its input areas from module constants inside ``__call__`` and takes no
# argument for them, so every call sets them to its engine's areas and runs under this lock: no
# call ever reads another configuration's values.
_MODULE_SIZES_LOCK = threading.RLock()
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WarmUp:
    """What ``QwenEngine.warm_up`` did: which model, and the seconds loading and the first call took."""

    model: str
    load_seconds: float
    generate_seconds: float


@dataclass(frozen=True)
class PipelineCall:
    """The arguments of one pipeline call; also what the report records, so it can be repeated."""

    images: list[Image.Image]
    prompt: str
    negative_prompt: str | None
    width: int
    height: int
    steps: int
    true_cfg_scale: float
    seed: int

    def parameters(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "steps": self.steps,
            "true_cfg_scale": self.true_cfg_scale,
            "width": self.width,
            "height": self.height,
            "seed": self.seed,
        }


class QwenEngine(Engine):
    """The generative backend: every operation kind, executed by one Qwen-Image-Edit call."""

    name = "qwen"
    exact = False
    capabilities: frozenset[str] = frozenset(get_args(OperationKind))

    def __init__(
        self,
        model_path: str,
        *,
        preset: str | None = None,
        cpu_offload: bool | None = None,
        compile_transformer: bool | None = None,
        lora_path: str | None = None,
        lora_steps: int | None = None,
        device: str | None = None,
        dtype: str | None = None,
        default_steps: int | None = None,
        default_true_cfg: float | None = None,
        target_area: int | None = None,
        fp8: bool | None = None,
        attention_backend: str | None = None,
        first_block_cache: float | None = None,
        settings: Settings | None = None,
    ) -> None:
        """Check the model folder, the preset and its LoRA now (a clear error at start, before
        any work); load the pipeline in ``warm_up`` or on the first edit. Options not given come
        from ``settings`` (the ``IMGEDIT_QWEN_*`` variables)."""
        self.settings = settings = settings or get_settings()
        source = resolve_source(model_path)
        device = device or settings.qwen_device or default_device()
        self.preset: Preset = get_preset(preset or settings.qwen_preset)
        lora = lora_path or settings.qwen_lora
        check_lora(
            self.preset,
            Path(lora).expanduser() if lora else None,
            lora_steps if lora_steps is not None else settings.qwen_lora_steps,
        )
        backend = attention_backend or settings.qwen_attention_backend
        if backend and backend not in attention_backends():
            raise BadInputError(
                f"Unknown attention backend '{backend}'.",
                hint=f"IMGEDIT_QWEN_ATTENTION_BACKEND is one of {', '.join(attention_backends())}.",
            )
        cache = first_block_cache if first_block_cache is not None else settings.qwen_first_block_cache
        self.warnings: list[str] = []
        if cache is not None and self.preset.distilled:
            # 4 or 8 steps leave nothing to skip; the cache would only cost quality.
            self.warnings.append(
                f"The first-block cache is for the 'quality' preset; with '{self.preset.name}' it is off."
            )
            cache = None
        self.options = PipelineOptions(
            source=source,
            device=device,
            dtype=dtype or default_dtype(device),
            cpu_offload=settings.qwen_cpu_offload if cpu_offload is None else cpu_offload,
            compile_transformer=settings.qwen_compile if compile_transformer is None else compile_transformer,
            lora_path=lora,
            scheduler_overrides=tuple(self.preset.scheduler_overrides.items()),
            fp8=settings.qwen_fp8 if fp8 is None else fp8,
            attention_backend=backend,
            first_block_cache=cache,
        )
        if self.options.fp8:
            check_fp8(device)
        self.default_steps = default_steps if default_steps is not None else settings.qwen_steps
        self.default_true_cfg = default_true_cfg if default_true_cfg is not None else settings.qwen_true_cfg
        self.vae_image_area = settings.qwen_vae_image_area or PIPELINE_VAE_AREA
        self.condition_image_area = settings.qwen_condition_image_area or PIPELINE_CONDITION_AREA
        # The output is generated on the reference image's grid unless told otherwise: the
        # pipeline encodes the input at ``vae_image_area``, and an output of another size is a
        # zoomed, shifted copy of it (QwenLM/Qwen-Image issues 160 and 229).
        self.target_area = target_area or settings.qwen_target_area or self.vae_image_area
        if self.target_area < 32 * 32:
            raise BadInputError(
                f"The qwen target area must be at least 32x32 pixels, not {self.target_area}."
            )
        if self.target_area != self.vae_image_area:
            self.warnings.append(
                f"The qwen target area ({self.target_area} pixels) differs from the area the input is "
                f"encoded at ({self.vae_image_area}), so the output grid is not the input's: expect the "
                "picture to come back slightly zoomed or shifted. Leave IMGEDIT_QWEN_TARGET_AREA unset."
            )
        for warning in self.warnings:
            logger.warning("qwen: %s", warning)

    def pipeline(self, progress: LoadProgress | None = None) -> LoadedPipeline:
        """The shared pipeline for this engine's options (loaded on first use)."""
        return get_pipeline(self.options, progress)

    def warm_up(self, progress: LoadProgress | None = None) -> WarmUp:
        """Load the pipeline and run one small generation, so that no user's edit pays for it.

        The server and the GPU worker call this (through ``Editor.warm_up``) when they start:
        loading takes minutes for 58 GB, and with ``IMGEDIT_QWEN_COMPILE`` the first call also
        compiles the transformer's blocks at the size every square edit uses. ``progress`` gets
        ``(stage, message)`` pairs; by default they go to the log.
        """
        say = progress or (lambda stage, message: logger.info("qwen %s: %s", stage, message))
        started = time.perf_counter()
        loaded = self.pipeline(say)
        load_seconds = time.perf_counter() - started
        width, height = generation_size((1024, 1024), self.target_area)
        steps = min(2, self.preset.steps)
        say("generate", f"one {width}x{height} generation of {steps} steps (compiles, if asked)")
        call = PipelineCall(
            images=[Image.new("RGB", (width, height), (128, 128, 128))],
            prompt="warm-up",
            negative_prompt=self.preset.negative_prompt if self.preset.true_cfg > 1 else None,
            width=width,
            height=height,
            steps=steps,
            true_cfg_scale=self.preset.true_cfg,
            seed=0,
        )
        t0 = time.perf_counter()
        self._generate(loaded, call, None, None)
        generate_seconds = time.perf_counter() - t0
        say("ready", f"{loaded.info.name} ready in {time.perf_counter() - started:.1f}s")
        return WarmUp(model=loaded.info.name, load_seconds=load_seconds, generate_seconds=generate_seconds)

    def run(
        self,
        request: EditRequest,
        plan: EditPlan,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> EngineOutput:
        """Generate the plan's non-geometric edits, then apply its crops, resizes, rotations, flips.

        Geometry is exact work the model would only approximate (and the output is mapped back to
        the input's size), so it is done with the classic engine's Pillow operations afterwards;
        a plan of geometry alone never loads the model.
        """
        geometry = [op for op in plan.operations if op.op in GEOMETRY_KINDS]
        if len(geometry) == len(plan.operations):
            return self._apply_geometry(request, plan, progress, cancel)
        output = self._generate_plan(request, plan, progress, cancel)
        if geometry:
            edited = replace(request, images=[output.image, *request.images[1:]], mask=None)
            shaped = self._apply_geometry(edited, plan, None, cancel)
            output.image = shaped.image
            output.timings.update({f"geometry.{key}": value for key, value in shaped.timings.items()})
        return output

    def _apply_geometry(
        self,
        request: EditRequest,
        plan: EditPlan,
        progress: ProgressCallback | None,
        cancel: CancelToken | None,
    ) -> EngineOutput:
        from engine.classic import ClassicEngine

        operations = [op for op in plan.operations if op.op in GEOMETRY_KINDS]
        geometry_plan = EditPlan(instruction=plan.instruction, operations=operations, language=plan.language)
        output = ClassicEngine(settings=self.settings).run(request, geometry_plan, progress, cancel)
        output.parameters = {"geometry": geometry_plan.kinds}
        return output

    def _generate_plan(
        self,
        request: EditRequest,
        plan: EditPlan,
        progress: ProgressCallback | None,
        cancel: CancelToken | None,
    ) -> EngineOutput:
        if cancel is not None:
            cancel.raise_if_cancelled()
        timings: dict[str, float] = {}
        started = time.perf_counter()
        loaded = self.pipeline()
        timings["load"] = time.perf_counter() - started
        if cancel is not None:
            cancel.raise_if_cancelled()

        prompt = build_prompt(request, plan)
        source = request.image
        width, height = generation_size(source.size, self.target_area)
        preset = self.preset
        steps = int(_first_set(request.steps, self.default_steps, preset.steps))
        true_cfg = _first_set(request.guidance, self.default_true_cfg, preset.true_cfg)
        if steps < 1:
            raise BadInputError(f"The number of steps must be at least 1, not {steps}.")
        # True CFG needs a negative prompt; without true CFG one would only be encoded for nothing.
        negative_prompt = prompt.negative if true_cfg > 1 else None
        seed = request.seed if request.seed is not None else random.SystemRandom().randrange(2**32)

        warnings = [*self.warnings, *loaded.warnings]
        overridden = override_warning(preset, steps, true_cfg)
        if overridden:
            warnings.append(overridden)
        if source.width * source.height > LARGE_INPUT_FACTOR * self.target_area:
            warnings.append(
                f"The input is {megapixels(source.size):.1f} MP but the qwen model works at about "
                f"{self.target_area / 1e6:.1f} MP ({width}x{height}); its detail was regenerated at that "
                f"size and scaled back to {source.width}x{source.height}."
            )

        call = PipelineCall(
            images=[image.convert("RGB") for image in request.images],
            prompt=prompt.text,
            negative_prompt=negative_prompt,
            width=width,
            height=height,
            steps=steps,
            true_cfg_scale=true_cfg,
            seed=seed,
        )
        from engine.preserve.grounding import plan_grounding  # OpenCV and OCR: on first edit only

        # Where preservation should look (OCR of the old text, boxes): CPU work on the input,
        # done while the GPU generates.
        ocr = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qwen-grounding")
        grounding_job = ocr.submit(plan_grounding, source, plan)
        ocr.shutdown(wait=False)
        t0 = time.perf_counter()
        generated = self._generate(loaded, call, progress, cancel)
        timings["generate"] = time.perf_counter() - t0
        if generated.size != source.size:
            generated = generated.resize(source.size, Image.Resampling.LANCZOS)
        t0 = time.perf_counter()
        grounding = grounding_job.result()
        timings["grounding"] = time.perf_counter() - t0  # what it added after the generation
        parameters = {**call.parameters(), "preset": preset.name, **describe_pipeline(loaded)}
        return EngineOutput(
            image=generated, parameters=parameters, warnings=warnings, timings=timings, grounding=grounding
        )

    def _generate(
        self,
        loaded: LoadedPipeline,
        call: PipelineCall,
        progress: ProgressCallback | None,
        cancel: CancelToken | None,
    ) -> Image.Image:
        """One pipeline call, serialised on the pipeline's lock; stops at the next step when cancelled."""
        import torch

        def on_step_end(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            if progress is not None:
                progress(step + 1, pipe.num_timesteps)
            if cancel is not None and cancel.cancelled:
                # The pipeline's own interrupt flag only skips the remaining steps and still
                # decodes; raising here ends the call at once and skips the VAE decode.
                pipe._interrupt = True
                raise EditCancelledError("The edit was cancelled.")
            return tensors

        with loaded.lock, self._pipeline_input_sizes():
            pipe = loaded.pipe
            generator = torch.Generator(device=loaded.execution_device).manual_seed(call.seed)
            try:
                result = pipe(
                    image=call.images,
                    prompt=call.prompt,
                    negative_prompt=call.negative_prompt,
                    true_cfg_scale=call.true_cfg_scale,
                    width=call.width,
                    height=call.height,
                    num_inference_steps=call.steps,
                    generator=generator,
                    callback_on_step_end=on_step_end,
                    callback_on_step_end_tensor_inputs=["latents"],
                    output_type="pil",
                )
            except EditCancelledError:
                # With CPU offload, put the models back where the offload hooks expect them.
                pipe.maybe_free_model_hooks()
                raise
        image: Image.Image = result.images[0]
        return image

    @contextmanager
    def _pipeline_input_sizes(self) -> Iterator[None]:
        """Set the pipeline module's input areas to this engine's for one call, under the lock."""
        from diffusers.pipelines.qwenimage import pipeline_qwenimage_edit_plus as module

        with _MODULE_SIZES_LOCK:
            saved = (module.VAE_IMAGE_SIZE, module.CONDITION_IMAGE_SIZE)
            module.VAE_IMAGE_SIZE = self.vae_image_area
            module.CONDITION_IMAGE_SIZE = self.condition_image_area
            try:
                yield
            finally:
                module.VAE_IMAGE_SIZE, module.CONDITION_IMAGE_SIZE = saved


def _first_set(*values: float | None) -> float:
    for value in values:
        if value is not None:
            return float(value)
    raise ValueError("no value")
