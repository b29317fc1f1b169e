"""Speed of Qwen-Image-Edit-2509 on one GPU, with random weights at the real architecture's size.

No weights are downloaded: the transformer (20.4 B parameters, the published config), the VAE and
(unless --no-text-encoder) a Qwen2.5-VL-7B-sized text encoder are created directly on the GPU in
bfloat16 with random values. Speed does not depend on the values, so the figures are those of
the real model. Prints seconds per denoising step at 1024x1024 with and without true CFG,
end-to-end seconds for 40 (true CFG 4) and 8 (Lightning-style, CFG off) steps, peak GPU memory,
and the transformer's achieved TFLOP/s against the GPU's bf16 peak.

    .venv/bin/python bench/qwen_gpu.py                       # on a CUDA machine
    .venv/bin/python bench/qwen_gpu.py --compile --attention-backend _native_cudnn
    .venv/bin/python bench/qwen_gpu.py --tiny                # same code path, tiny model, CPU

``--tiny`` (alias ``--dry-run``) runs everything with the test suite's tiny configs on the CPU, so
the script itself is checked where no GPU exists; its figures mean nothing for speed.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from diffusers import (
    AutoencoderKLQwenImage,
    FlowMatchEulerDiscreteScheduler,
    QwenImageEditPlusPipeline,
    QwenImageTransformer2DModel,
)
from diffusers.pipelines.qwenimage import pipeline_qwenimage_edit_plus as pipeline_module
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2VLImageProcessor

from engine.qwen.processor import ImageOnlyQwen2VLProcessor
from tests.qwen_tiny import SPECIAL_TOKENS, build_pipeline, build_tokenizer

#: bf16 dense peak TFLOP/s by GPU name (the H100 figure is the one the project plans with).
PEAK_TFLOPS = {"H100": 790.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0}
#: The notes' estimate of one transformer forward at 1024x1024 (linear layers + attention).
NOTES_FLOP_PER_FORWARD = 1.7e14

REAL_TRANSFORMER = dict(
    patch_size=2,
    in_channels=64,
    out_channels=16,
    num_layers=60,
    attention_head_dim=128,
    num_attention_heads=24,
    joint_attention_dim=3584,
    guidance_embeds=False,
    axes_dims_rope=(16, 56, 56),
)
#: Qwen2.5-VL-7B, as Qwen-Image's text_encoder/config.json has it.
REAL_TEXT_ENCODER_TEXT = dict(
    hidden_size=3584,
    intermediate_size=18944,
    num_hidden_layers=28,
    num_attention_heads=28,
    num_key_value_heads=4,
    rope_scaling={"mrope_section": [16, 24, 24], "rope_type": "default", "type": "default"},
    rope_theta=1000000.0,
    max_position_embeddings=128000,
    vocab_size=152064,
)
REAL_TEXT_ENCODER_VISION = dict(
    depth=32,
    hidden_size=1280,
    intermediate_size=3420,
    num_heads=16,
    out_hidden_size=3584,
    fullatt_block_indexes=[7, 15, 23, 31],
    window_size=112,
    patch_size=14,
    spatial_merge_size=2,
    temporal_patch_size=2,
)
#: Text tokens the real tokenizer gives the template + a short instruction (for --no-text-encoder).
TEXT_TOKENS = 200


@dataclass
class Run:
    """One timed pipeline call."""

    steps: int
    true_cfg: float
    seconds: float
    step_seconds: list[float] = field(default_factory=list)

    @property
    def median_step(self) -> float:
        # The first step includes the text encoder and the input image's VAE encode.
        steady = self.step_seconds[1:] or self.step_seconds
        return statistics.median(steady)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tiny = args.tiny
        self.device = torch.device("cpu" if self.tiny else "cuda")
        self.dtype = torch.float32 if self.tiny else torch.bfloat16
        self.size = args.size or (64 if self.tiny else 1024)
        self.image = Image.new("RGB", (self.size, self.size), (120, 90, 60))
        self.pipe = self._build()
        # Counted before compiling: torch's FLOP counter cannot look inside compiled blocks.
        self.flops = self.transformer_flops()
        if args.compile:
            self.pipe.transformer.compile_repeated_blocks(fullgraph=True)

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> QwenImageEditPlusPipeline:
        started = time.perf_counter()
        if self.tiny:
            pipe = build_pipeline(Path(tempfile.mkdtemp(prefix="qwen-bench-")))
            pipeline_module.VAE_IMAGE_SIZE = self.size * self.size
            pipeline_module.CONDITION_IMAGE_SIZE = 56 * 56
            if self.args.no_text_encoder:
                pipe.text_encoder = None
        else:
            pipe = self._build_full_size()
        pipe.set_progress_bar_config(disable=True)
        if self.args.attention_backend:
            pipe.transformer.set_attention_backend(self.args.attention_backend)
        params = sum(p.numel() for p in pipe.transformer.parameters())
        print(f"built in {time.perf_counter() - started:.1f}s; transformer {params:,} parameters")
        return pipe

    def _build_full_size(self) -> QwenImageEditPlusPipeline:
        """Random bf16 weights made directly on the GPU (no fp32 copy, no host round trip)."""
        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.bfloat16)
        try:
            with torch.device("cuda"):
                transformer = QwenImageTransformer2DModel(**REAL_TRANSFORMER)  # type: ignore[arg-type]
                vae = AutoencoderKLQwenImage()  # the defaults are Qwen-Image's VAE
                tokenizer = build_tokenizer(Path(tempfile.mkdtemp(prefix="qwen-bench-tok-")))
                text_encoder = None
                if not self.args.no_text_encoder:
                    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
                    config = Qwen2_5_VLConfig(
                        text_config=REAL_TEXT_ENCODER_TEXT,
                        vision_config=REAL_TEXT_ENCODER_VISION,
                        vocab_size=152064,
                        hidden_size=3584,
                        image_token_id=ids["<|image_pad|>"],
                        video_token_id=ids["<|video_pad|>"],
                        vision_start_token_id=ids["<|vision_start|>"],
                        vision_end_token_id=ids["<|vision_end|>"],
                        vision_token_id=ids["<|vision_pad|>"],
                    )
                    text_encoder = Qwen2_5_VLForConditionalGeneration(config)
        finally:
            torch.set_default_dtype(previous)
        processor = ImageOnlyQwen2VLProcessor(image_processor=Qwen2VLImageProcessor(), tokenizer=tokenizer)
        return QwenImageEditPlusPipeline(
            scheduler=FlowMatchEulerDiscreteScheduler(),
            vae=vae.to(torch.bfloat16),
            text_encoder=text_encoder.to(torch.bfloat16) if text_encoder is not None else None,
            tokenizer=tokenizer,
            processor=processor,
            transformer=transformer.to(torch.bfloat16),
        )

    # -- running ----------------------------------------------------------------------------

    def _prompt_kwargs(self, true_cfg: float) -> dict[str, Any]:
        if self.pipe.text_encoder is not None:
            return {
                "prompt": "Change the colour of the car to red.",
                "negative_prompt": " " if true_cfg > 1 else None,
            }
        # Without a text encoder: embeddings of the length the real tokenizer gives.
        width = self.pipe.transformer.config.joint_attention_dim
        embeds = torch.randn(1, TEXT_TOKENS, width, device=self.device, dtype=self.dtype)
        mask = torch.ones(1, TEXT_TOKENS, device=self.device, dtype=torch.long)
        kwargs: dict[str, Any] = {"prompt_embeds": embeds, "prompt_embeds_mask": mask}
        if true_cfg > 1:
            kwargs |= {"negative_prompt_embeds": embeds.clone(), "negative_prompt_embeds_mask": mask.clone()}
        return kwargs

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def call(self, steps: int, true_cfg: float) -> Run:
        marks: list[float] = []

        def on_step_end(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            self._sync()
            marks.append(time.perf_counter())
            return tensors

        self._sync()
        started = time.perf_counter()
        self.pipe(
            image=[self.image],
            true_cfg_scale=true_cfg,
            height=self.size,
            width=self.size,
            num_inference_steps=steps,
            generator=torch.Generator(self.device).manual_seed(0),
            callback_on_step_end=on_step_end,
            output_type="pt",  # decoded and denormalised; skips PIL casting of random values
            **self._prompt_kwargs(true_cfg),
        )
        self._sync()
        seconds = time.perf_counter() - started
        step_seconds = [b - a for a, b in zip([started, *marks[:-1]], marks, strict=True)]
        return Run(steps=steps, true_cfg=true_cfg, seconds=seconds, step_seconds=step_seconds)

    def transformer_flops(self) -> float:
        """FLOPs of one transformer forward at this size, counted by torch on a real call."""
        captured: dict[str, Any] = {}

        def grab(module: Any, args: Any, kwargs: dict[str, Any]) -> None:
            captured.setdefault("kwargs", kwargs)

        handle = self.pipe.transformer.register_forward_pre_hook(grab, with_kwargs=True)
        try:
            self.pipe(
                image=[self.image],
                true_cfg_scale=1.0,
                height=self.size,
                width=self.size,
                num_inference_steps=1,
                output_type="latent",
                **self._prompt_kwargs(1.0),
            )
        finally:
            handle.remove()
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            self.pipe.transformer(**captured["kwargs"])
        return float(counter.get_total_flops())

    def median_run(self, steps: int, true_cfg: float) -> Run:
        runs = [self.call(steps, true_cfg) for _ in range(self.args.repeats)]
        return sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]


def peak_tflops(args: argparse.Namespace) -> float | None:
    if args.peak_tflops:
        return float(args.peak_tflops)
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    return next((value for key, value in PEAK_TFLOPS.items() if key in name), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tiny", "--dry-run", action="store_true", help="tiny model on the CPU (checks the script)"
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the transformer's blocks")
    parser.add_argument(
        "--attention-backend", help="diffusers attention backend: native, flash, _native_cudnn, ..."
    )
    parser.add_argument(
        "--steps", type=int, default=40, help="steps of the long run (true CFG 4); default 40"
    )
    parser.add_argument(
        "--fast-steps", type=int, default=8, help="steps of the Lightning-style run (CFG off)"
    )
    parser.add_argument(
        "--no-text-encoder", action="store_true", help="skip the 7B text encoder (random embeddings)"
    )
    parser.add_argument("--size", type=int, help="square output side (default 1024; 64 with --tiny)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per measurement; the median is printed")
    parser.add_argument("--peak-tflops", type=float, help="the GPU's bf16 dense peak (default: by GPU name)")
    args = parser.parse_args()
    if args.tiny:
        args.steps = min(args.steps, 4)
        args.fast_steps = min(args.fast_steps, 2)
    elif not torch.cuda.is_available():
        parser.error("no CUDA GPU here; use --tiny to check the script on the CPU")
    warnings.filterwarnings("ignore", category=FutureWarning)

    bench = Bench(args)
    device = torch.cuda.get_device_name() if bench.device.type == "cuda" else "CPU (tiny model)"
    print(f"device: {device}; torch {torch.__version__}; size {bench.size}x{bench.size}; "
          f"compile={args.compile}; attention={args.attention_backend or 'default'}; "
          f"text encoder={'no' if args.no_text_encoder else 'yes'}")  # fmt: skip
    if bench.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()

    started = time.perf_counter()
    bench.call(2, 4.0)  # warm-up (and compilation with --compile)
    print(f"warm-up (2 steps, true CFG): {time.perf_counter() - started:.1f}s")

    long_run = bench.median_run(args.steps, 4.0)
    fast_run = bench.median_run(args.fast_steps, 1.0)
    flops = bench.flops

    per_step_cfg = long_run.median_step
    per_step = fast_run.median_step
    print(f"seconds per step, true CFG (2 forwards): {per_step_cfg:.3f}")
    print(f"seconds per step, no CFG (1 forward):    {per_step:.3f}")
    print(f"end to end, {args.steps} steps, true CFG 4: {long_run.seconds:.2f}s")
    print(f"end to end, {args.fast_steps} steps, CFG off:    {fast_run.seconds:.2f}s")
    if bench.device.type == "cuda":
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    else:
        print(
            f"peak process memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"
        )
    achieved = flops / per_step / 1e12
    print(f"transformer FLOP per forward (counted): {flops:.3e} (notes' estimate at 1024^2: "
          f"{NOTES_FLOP_PER_FORWARD:.1e})")  # fmt: skip
    peak = peak_tflops(args)
    share = f" = {achieved / peak:.0%} of the {peak:.0f} TFLOP/s bf16 peak" if peak else ""
    print(f"transformer achieved: {achieved:.3g} TFLOP/s (no-CFG steps){share}")
    print(f"with true CFG: {2 * flops / per_step_cfg / 1e12:.3g} TFLOP/s")


if __name__ == "__main__":
    main()
