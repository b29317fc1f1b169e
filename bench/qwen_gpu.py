"""Speed of Qwen-Image-Edit on one GPU, by part, with random weights at the real architecture's size.

No weights are downloaded: the transformer (20.4 B parameters, the published config), the VAE and
(unless --no-text-encoder) a Qwen2.5-VL-7B-sized text encoder are created directly on the GPU in
bfloat16 with random values; speed does not depend on the values. For each configuration (FP8 of
the transformer off/on, regional compilation off/on) and each number of input images (1, 2, 3) it
times, over ``--repeats`` calls (min and median):

- the text encoder, the VAE encode of the inputs and the VAE decode of the output;
- one transformer forward (a step is two with true CFG), and its share of the GPU's bf16 dense
  peak: FLOPs are counted by ``torch.utils.flop_counter`` once, on the default (SDPA) attention,
  bf16 and eager, *before* any backend switch, FP8 or compilation (the counter cannot see inside
  flash kernels or compiled blocks, which would drop the attention's FLOPs);
- end to end per preset (quality: 40 steps, true CFG 4; lightning-8; lightning-4: CFG off, the
  Lightning scheduler), measured, and derived from the parts;
- the backend's own post-processing on the CPU: the resize back to the input's size, the
  preservation of unedited pixels and the NSFW check (once: it does not depend on the GPU setup).

    .venv/bin/python bench/qwen_gpu.py --out qwen-bench.md             # on a CUDA machine
    .venv/bin/python bench/qwen_gpu.py --fp8 both --compile both --images 1,2,3
    .venv/bin/python bench/qwen_gpu.py --attention-backend _flash_3
    .venv/bin/python bench/qwen_gpu.py --smoke                         # tiny model on the CPU, seconds

``--smoke`` runs every code path with the test suite's tiny configs on the CPU (compilation with
dynamo's eager backend, presets' steps cut to 4/2/1), so CI checks that the script still runs; its
figures mean nothing for speed. The peak is taken from the GPU's name (989 TFLOP/s dense bf16 for
H100 SXM and H200, 756 for H100 PCIe); ``--peak-tflops`` overrides it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
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

from engine.qwen.presets import PRESETS, Preset
from engine.qwen.processor import ImageOnlyQwen2VLProcessor
from tests.qwen_tiny import SPECIAL_TOKENS, build_pipeline, build_tokenizer

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
#: Steps of the calls that time the parts (CFG off: every transformer forward is one step).
PROBE_STEPS = 3
#: Presets' steps in --smoke (the tiny model's steps cost nothing but time).
SMOKE_STEPS = {"quality": 4, "lightning-8": 2, "lightning-4": 1}


def peak_tflops(name: str) -> float | None:
    """The bf16 dense (no sparsity) tensor-core peak of the GPU called ``name``, in TFLOP/s."""
    upper = name.upper()
    if "H200" in upper or "GH200" in upper:
        return 989.0
    if "H100" in upper:
        if "PCIE" in upper:
            return 756.0
        if "NVL" in upper:
            return 835.0
        return 989.0  # SXM ("H100 80GB HBM3")
    if "A100" in upper:
        return 312.0
    if "L40S" in upper:
        return 362.0
    return None


def spread(values: list[float]) -> tuple[float, float]:
    """(min, median) of ``values``."""
    return min(values), statistics.median(values)


@dataclass
class CallTimes:
    """Seconds of one pipeline call, by part (each part summed over the call)."""

    total: float = 0.0
    text_encoder: float = 0.0
    vae_encode: float = 0.0
    vae_decode: float = 0.0
    transformer: list[float] = field(default_factory=list)


@dataclass
class Row:
    """One line of the report's tables."""

    label: str
    cells: dict[str, str]


class PartTimer:
    """Times the pipeline's parts during real calls: forward hooks on the text encoder and the
    transformer, wrappers around the VAE's encode and decode, synchronising the GPU at each edge."""

    def __init__(self, pipe: QwenImageEditPlusPipeline, sync: Callable[[], None]) -> None:
        self.sync = sync
        self.current = CallTimes()
        self._starts: dict[str, float] = {}
        if pipe.text_encoder is not None:
            self._hook(pipe.text_encoder, "text_encoder")
        self._hook(pipe.transformer, "transformer")
        pipe.vae.encode = self._wrap(pipe.vae.encode, "vae_encode")
        pipe.vae.decode = self._wrap(pipe.vae.decode, "vae_decode")

    def _hook(self, module: torch.nn.Module, part: str) -> None:
        def before(*_: Any) -> None:
            self.sync()
            self._starts[part] = time.perf_counter()

        def after(*_: Any) -> None:
            self.sync()
            self._add(part, time.perf_counter() - self._starts.pop(part))

        module.register_forward_pre_hook(before)
        module.register_forward_hook(after)

    def _wrap(self, function: Callable[..., Any], part: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.sync()
            started = time.perf_counter()
            result = function(*args, **kwargs)
            self.sync()
            self._add(part, time.perf_counter() - started)
            return result

        return timed

    def _add(self, part: str, seconds: float) -> None:
        if part == "transformer":
            self.current.transformer.append(seconds)
        else:
            setattr(self.current, part, getattr(self.current, part) + seconds)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.smoke = args.smoke
        self.device = torch.device("cpu" if self.smoke else "cuda")
        self.dtype = torch.float32 if self.smoke else torch.bfloat16
        self.size = args.size or (32 if self.smoke else 1024)
        started = time.perf_counter()
        self.pipe = self._build()
        self.base_scheduler = self.pipe.scheduler
        self.timer = PartTimer(self.pipe, self._sync)
        self.build_seconds = time.perf_counter() - started
        self.images = [
            Image.new("RGB", (self.size, self.size), colour)
            for colour in ((120, 90, 60), (30, 140, 200), (200, 200, 40))
        ]

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> QwenImageEditPlusPipeline:
        if self.smoke:
            pipe = build_pipeline(Path(tempfile.mkdtemp(prefix="qwen-bench-")))
            # The pipeline resizes inputs to these areas; the tiny model works at 64x64.
            pipeline_module.VAE_IMAGE_SIZE = self.size * self.size
            pipeline_module.CONDITION_IMAGE_SIZE = 56 * 56
        else:
            pipe = self._build_full_size()
        if self.args.no_text_encoder:
            pipe.text_encoder = None
        pipe.set_progress_bar_config(disable=True)
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

    # -- switches ---------------------------------------------------------------------------

    def set_attention_backend(self) -> None:
        if self.args.attention_backend:
            self.pipe.transformer.set_attention_backend(self.args.attention_backend)

    def quantize_fp8(self) -> None:
        from engine.qwen.loader import quantize_fp8

        quantize_fp8(self.pipe.transformer, str(self.device))

    def compile(self) -> None:
        import torch._dynamo

        torch._dynamo.config.cache_size_limit = 64  # 1-3 images x bf16/FP8 are separate graphs
        options: dict[str, Any] = {"fullgraph": True}
        if self.smoke:
            options["backend"] = "eager"  # dynamo's tracing without a C++ toolchain, in seconds
        self.pipe.transformer.compile_repeated_blocks(**options)

    # -- running ----------------------------------------------------------------------------

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def _use_preset(self, preset: Preset) -> None:
        overrides = preset.scheduler_overrides
        self.pipe.scheduler = (
            FlowMatchEulerDiscreteScheduler.from_config(self.base_scheduler.config, **overrides)
            if overrides
            else self.base_scheduler
        )

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

    def call(self, images: int, steps: int, true_cfg: float, output_type: str = "pt") -> CallTimes:
        self.timer.current = CallTimes()
        self._sync()
        started = time.perf_counter()
        self.pipe(
            image=self.images[:images],
            true_cfg_scale=true_cfg,
            height=self.size,
            width=self.size,
            num_inference_steps=steps,
            generator=torch.Generator(self.device).manual_seed(0),
            output_type=output_type,  # "pt": decoded; skips PIL casting of random values
            **self._prompt_kwargs(true_cfg),
        )
        self._sync()
        self.timer.current.total = time.perf_counter() - started
        return self.timer.current

    def transformer_flops(self, images: int) -> float:
        """FLOPs of one transformer forward with ``images`` inputs, counted by torch on a real call."""
        captured: dict[str, Any] = {}

        def grab(module: Any, args: Any, kwargs: dict[str, Any]) -> None:
            captured.setdefault("kwargs", kwargs)

        handle = self.pipe.transformer.register_forward_pre_hook(grab, with_kwargs=True)
        try:
            self.call(images, 1, 1.0, output_type="latent")
        finally:
            handle.remove()
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            self.pipe.transformer(**captured["kwargs"])
        return float(counter.get_total_flops())

    def preset_steps(self, preset: Preset) -> int:
        return SMOKE_STEPS[preset.name] if self.smoke else preset.steps


@contextlib.contextmanager
def eager_stance(force_eager: bool) -> Iterator[None]:
    """Run compiled blocks eagerly: 'compile off' measured after another configuration compiled."""
    if not force_eager:
        yield
        return
    with torch.compiler.set_stance("force_eager"):
        yield


def measure_post_processing(size: int, repeats: int) -> dict[str, tuple[float, float]]:
    """The editor's CPU work after the model: resize to the input's size, preservation, NSFW check."""
    from engine.preserve import preserve_unedited
    from engine.safety import check_output_safety
    from imgedit.errors import UnsafeContentError

    try:
        from skimage import data

        photo = Image.fromarray(data.astronaut())
    except ImportError:  # pragma: no cover - scikit-image is a dependency
        photo = Image.new("RGB", (512, 512), (90, 120, 60))
    source = photo.resize((size * 3 // 2, size))  # an input larger than the generation size
    generated = photo.resize((size, size)).rotate(1)  # the model's slightly drifted output
    results: dict[str, list[float]] = {"resize": [], "preservation": [], "nsfw": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        resized = generated.resize(source.size, Image.Resampling.LANCZOS)
        t1 = time.perf_counter()
        preserved = preserve_unedited(source, resized, mask=None, composite=True, exact=False)
        t2 = time.perf_counter()
        with contextlib.suppress(UnsafeContentError):
            check_output_safety(preserved.image)
        t3 = time.perf_counter()
        results["resize"].append(t1 - t0)
        results["preservation"].append(t2 - t1)
        results["nsfw"].append(t3 - t2)
    return {key: spread(values) for key, values in results.items()}


def configurations(args: argparse.Namespace) -> list[tuple[bool, bool]]:
    """(fp8, compiled) pairs in the order they can be reached: compiling and quantising are one-way."""
    fp8s = {"off": [False], "on": [True], "both": [False, True]}[args.fp8]
    compiles = {"off": [False], "on": [True], "both": [False, True]}[args.compile]
    return [(fp8, compiled) for fp8 in fp8s for compiled in compiles]


def config_name(fp8: bool, compiled: bool, dtype: torch.dtype = torch.bfloat16) -> str:
    """``bf16-eager``, ``fp8-compiled``…: what ``--e2e`` names (``fp32`` for --smoke's CPU model)."""
    weights = "fp8" if fp8 else ("bf16" if dtype == torch.bfloat16 else "fp32")
    return f"{weights}-{'compiled' if compiled else 'eager'}"


class Report:
    """The Markdown report, rewritten to ``--out`` after every figure: a run cut short by a time
    limit (scripts/gpu-check.sh) still leaves everything it measured."""

    def __init__(self, head: list[str], out: Path | None) -> None:
        self.head = head
        self.out = out
        self.flops: dict[int, float] = {}
        self.parts: list[Row] = []
        self.e2e: list[Row] = []
        self.tail: list[str] = []

    def add(self, rows: list[Row], row: Row) -> None:
        rows.append(row)
        print(f"{row.label}: {row.cells}", flush=True)
        self.flush()

    def text(self) -> str:
        lines = [
            *self.head,
            "## Transformer FLOPs per forward (counted on SDPA, bf16, eager)",
            "",
            "| images | FLOP |",
            "| --- | --- |",
            *[f"| {count} | {value:.3e} |" for count, value in self.flops.items()],
            "",
            "## Parts (seconds, min / median; a step is two forwards with true CFG)",
            "",
            *table(self.parts),
            "",
            "## End to end, one input image (seconds, min / median)",
            "",
            *table(self.e2e),
            "",
            *self.tail,
        ]
        return "\n".join(lines) + "\n"

    def flush(self) -> None:
        if self.out is not None:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.out.write_text(self.text(), encoding="utf-8")


def fmt(pair: tuple[float, float]) -> str:
    return f"{pair[0]:.3f} / {pair[1]:.3f}"


def run(args: argparse.Namespace) -> str:
    bench = Bench(args)
    device = torch.cuda.get_device_name() if bench.device.type == "cuda" else "CPU (tiny model, --smoke)"
    peak = args.peak_tflops or (peak_tflops(device) if bench.device.type == "cuda" else None)
    image_counts = [int(part) for part in args.images.split(",")]
    presets = [PRESETS[name] for name in args.presets.split(",")]
    report = Report(
        [
            "# Qwen-Image-Edit GPU benchmark",
            "",
            f"- command: `{shlex.join(['bench/qwen_gpu.py', *sys.argv[1:]])}`",
            f"- machine: {device}; {platform.node()}; torch {torch.__version__}; "
            f"bf16 dense peak {f'{peak:.0f} TFLOP/s' if peak else 'unknown (give --peak-tflops)'}",
            f"- size {bench.size}x{bench.size}; attention {args.attention_backend or 'native (SDPA)'}; "
            f"text encoder {'no (random embeddings)' if args.no_text_encoder else 'yes'}; "
            f"{args.repeats} repeats; built in {bench.build_seconds:.1f}s",
            "",
        ],
        args.out,
    )
    print("\n".join(report.head), flush=True)

    # FLOPs first: SDPA attention, bf16, eager (the counter sees neither flash kernels nor
    # compiled blocks). Then the attention backend, which holds for every configuration.
    for count in image_counts:
        report.flops[count] = bench.transformer_flops(count)
    bench.set_attention_backend()

    compiled_yet = False
    e2e_configs = set(args.e2e.split(","))
    for fp8, compiled in configurations(args):
        name = config_name(fp8, compiled, bench.dtype)
        if fp8:
            try:
                bench.quantize_fp8()
            except Exception as exc:
                report.add(report.parts, Row(name, {"note": f"not run: {str(exc).splitlines()[0]}"}))
                continue
        if compiled and not compiled_yet:
            bench.compile()
            compiled_yet = True
        with eager_stance(compiled_yet and not compiled):
            measure_configuration(bench, report, name, image_counts, presets, peak,
                                  "all" in e2e_configs or name in e2e_configs)  # fmt: skip

    post = measure_post_processing(bench.size, args.repeats)
    report.tail = [
        "## Post-processing on the CPU (seconds, min / median)",
        "",
        "| resize | preservation | NSFW check |",
        "| --- | --- | --- |",
        f"| {fmt(post['resize'])} | {fmt(post['preservation'])} | {fmt(post['nsfw'])} |",
        "",
    ]
    if bench.device.type == "cuda":
        report.tail.append(f"Peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    report.flush()
    return report.text()


def measure_configuration(
    bench: Bench,
    report: Report,
    name: str,
    image_counts: list[int],
    presets: list[Preset],
    peak: float | None,
    measure_e2e: bool,
) -> None:
    """The parts for each image count, then end to end per preset (one image): measured when
    ``measure_e2e``, and always derived from the parts."""
    bench._use_preset(PRESETS["lightning-8"])
    for count in image_counts:
        t0 = time.perf_counter()
        bench.call(count, PROBE_STEPS, 1.0)  # warm-up, and compilation at this shape
        first = time.perf_counter() - t0
        calls = [bench.call(count, PROBE_STEPS, 1.0) for _ in range(bench.args.repeats)]
        forwards = [seconds for call in calls for seconds in call.transformer]
        forward_median = statistics.median(forwards)
        achieved = report.flops[count] / forward_median / 1e12
        report.add(
            report.parts,
            Row(
                name,
                {
                    "images": str(count),
                    "text encoder": fmt(spread([c.text_encoder for c in calls])),
                    "VAE encode": fmt(spread([c.vae_encode for c in calls])),
                    "VAE decode": fmt(spread([c.vae_decode for c in calls])),
                    "transformer forward": fmt((min(forwards), forward_median)),
                    "TFLOP/s": f"{achieved:.3g}",
                    "of peak": f"{achieved / peak:.0%}" if peak else "—",
                    "first call (compiles)": f"{first:.1f}",
                },
            ),
        )
        if count != image_counts[0]:
            continue
        for preset in presets:
            steps = bench.preset_steps(preset)
            cfg = 2 if preset.true_cfg > 1 else 1
            derived = (
                statistics.median([c.text_encoder for c in calls]) * cfg
                + statistics.median([c.vae_encode for c in calls])
                + steps * cfg * forward_median
                + statistics.median([c.vae_decode for c in calls])
            )
            cells = {
                "preset": preset.name,
                "steps": str(steps),
                "forwards": str(steps * cfg),
                "derived from parts": f"{derived:.3f}",
                "end to end": "not measured (--e2e)",
            }
            if measure_e2e:
                bench._use_preset(preset)
                runs = [bench.call(count, steps, preset.true_cfg) for _ in range(bench.args.repeats)]
                cells["end to end"] = fmt(spread([r.total for r in runs]))
                bench._use_preset(PRESETS["lightning-8"])
            report.add(report.e2e, Row(name, cells))


def table(rows: list[Row]) -> list[str]:
    if not rows:
        return ["(none)"]
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row.cells if key not in columns]
    out = [f"| configuration | {' | '.join(columns)} |", "| --- " * (len(columns) + 1) + "|"]
    for row in rows:
        out.append(f"| {row.label} | {' | '.join(row.cells.get(c, '') for c in columns)} |")
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny model on the CPU (checks the script)")
    parser.add_argument("--presets", default="quality,lightning-8,lightning-4", help="end-to-end presets")
    parser.add_argument("--images", default="1,2,3", help="input image counts, e.g. 1,2,3")
    parser.add_argument("--compile", choices=["off", "on", "both"], default="both", help="regional compile")
    parser.add_argument("--fp8", choices=["off", "on", "both"], default="both", help="torchao FP8")
    parser.add_argument("--attention-backend", help="diffusers attention backend: native, flash, _flash_3...")
    parser.add_argument("--no-text-encoder", action="store_true", help="random prompt embeddings instead")
    parser.add_argument("--size", type=int, help="square output side (default 1024; 32 with --smoke)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per figure (at least 3)")
    parser.add_argument("--peak-tflops", type=float, help="the GPU's bf16 dense peak (default: by name)")
    parser.add_argument(
        "--e2e",
        default="all",
        help="configurations whose presets are also run end to end (bf16-eager, bf16-compiled, fp8-eager, "
        "fp8-compiled, all or none); the others' end to end is derived from their parts",
    )
    parser.add_argument("--out", type=Path, help="also write the report (Markdown) to this file")
    args = parser.parse_args(argv)
    if args.repeats < 3:
        parser.error("--repeats must be at least 3 (min and median of one call mean nothing)")
    unknown = set(args.presets.split(",")) - set(PRESETS)
    if unknown:
        parser.error(f"unknown presets {sorted(unknown)}; choose from {', '.join(PRESETS)}")
    if not args.smoke and not torch.cuda.is_available():
        parser.error("no CUDA GPU here; use --smoke to check the script on the CPU")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    print(run(args))


if __name__ == "__main__":
    main()
