"""End to end with the real Qwen-Image-Edit weights, the way the server runs an edit.

Needs a downloaded model (``--model`` or ``IMGEDIT_QWEN_MODEL``) and a CUDA GPU. For each preset
asked for (a Lightning preset also needs its LoRA: ``--lora-8``, ``--lora-4``), it warms the editor
up (load straight to the GPU, LoRA fused there, one small generation, compilation when
``IMGEDIT_QWEN_COMPILE=1``), checks the transformer is bfloat16, then edits a 1024x1024 photograph
(scikit-image's astronaut) ``--repeats`` times through ``Editor.edit`` (planner, model, resize,
preservation, NSFW check) and reports min / median seconds in total and by part. Every other
``IMGEDIT_QWEN_*`` setting (FP8, attention backend, first-block cache…) applies as in the server.

    .venv/bin/python bench/qwen_real.py --model /models/Qwen-Image-Edit-2509 \
        --presets quality,lightning-8 --lora-8 /models/Lightning-8steps-V1.0-bf16.safetensors
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from PIL import Image
from skimage import data

from engine import Editor
from engine.qwen import QwenEngine
from engine.qwen.loader import release_pipelines
from imgedit.config import Settings


def fmt(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f}"


def run_preset(model: str, preset: str, lora: str | None, repeats: int) -> list[str]:
    settings = Settings(
        qwen_preset=preset,
        qwen_lora=lora,
        max_edit_area=1.0,
        nsfw_check=True,  # type: ignore[arg-type]
    )
    editor = Editor(engine="qwen", model_path=model, settings=settings)
    started = time.perf_counter()
    warm = editor.warm_up(progress=lambda stage, message: print(f"  {preset} {stage}: {message}", flush=True))
    warm_seconds = time.perf_counter() - started
    engine = editor.backend("qwen")
    assert isinstance(engine, QwenEngine)
    transformer = engine.pipeline().pipe.transformer
    if transformer.dtype != torch.bfloat16 and not engine.options.fp8:
        raise SystemExit(f"the transformer is {transformer.dtype}, not bfloat16")
    photo = Image.fromarray(data.astronaut()).resize((1024, 1024), Image.Resampling.LANCZOS)
    totals: list[float] = []
    parts: dict[str, list[float]] = {}
    report = None
    for _ in range(repeats):
        result = editor.edit(image=photo, prompt="把背景换成海边的日落", seed=0)
        report = result.report
        totals.append(report.seconds)
        for key, value in report.timings.items():
            parts.setdefault(key, []).append(value)
    assert report is not None
    keys = [key for key in ("engine.generate", "preserve", "safety") if key in parts]
    line = (
        f"| {preset} | {report.parameters['model_name']} @ {report.parameters['model_revision'] or '?'} | "
        f"{report.parameters['steps']} | {report.parameters['true_cfg_scale']:g} | {warm_seconds:.1f} | "
        f"{fmt(totals)} | " + " | ".join(fmt(parts[key]) for key in keys) + " |"
    )
    print(line, flush=True)
    del editor, engine, transformer, warm
    release_pipelines()
    gc.collect()
    torch.cuda.empty_cache()
    return [line]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default=os.environ.get("IMGEDIT_QWEN_MODEL"), help="the model folder")
    parser.add_argument("--presets", default=os.environ.get("IMGEDIT_QWEN_PRESET", "quality"))
    parser.add_argument("--lora-8", help="the Lightning 8-step LoRA (for lightning-8)")
    parser.add_argument("--lora-4", help="the Lightning 4-step LoRA (for lightning-4)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) to this file")
    args = parser.parse_args()
    if not args.model:
        parser.error("give --model or set IMGEDIT_QWEN_MODEL to the downloaded model folder")
    if not torch.cuda.is_available():
        parser.error("needs a CUDA GPU")
    loras = {"quality": None, "lightning-8": args.lora_8, "lightning-4": args.lora_4}
    lines = [
        f"# Real weights end to end on {torch.cuda.get_device_name()} "
        f"({args.repeats} edits of 1024x1024 each)",
        "",
        "| preset | model | steps | CFG | warm-up s | edit s (min / median) | generate | preservation "
        "| NSFW |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for preset in args.presets.split(","):
        if preset != "quality" and not (loras.get(preset) or os.environ.get("IMGEDIT_QWEN_LORA")):
            lines.append(f"| {preset} | not run: give its LoRA (--lora-{preset[-1]}) |")
            continue
        lines += run_preset(
            args.model, preset, loras.get(preset) or os.environ.get("IMGEDIT_QWEN_LORA"), args.repeats
        )
        if args.out:
            args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
