"""Latency of the classic engine's operations at 1024² and 2048², and where the time goes.

Each operation runs through ``Editor.edit`` with an explicit plan (no parsing noise) on its
scene scaled up: the astronaut photograph with text drawn on it (text, recolour, badge, themes,
geometry), a product shot on a studio backdrop (background edits: the cut-out with matting, a new
backdrop with the shadow kept) and a brick texture with a watermark and a rimmed sticker (removal
with the exemplar fill). Printed: the median of ``--repeat`` runs for the operation itself
(engine) and for the whole edit (engine + preservation + NSFW check), and the median of each
stage the operation reports (OCR, inpaint, render, mask, segment...).
Run: ``.venv/bin/python bench/classic.py`` (``--only cut-out removal`` picks operations by words).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections import defaultdict
from collections.abc import Callable

from PIL import Image, ImageDraw

from engine import Editor
from engine.classic.fonts import find_font
from engine.plan import (
    Adjust,
    Background,
    Crop,
    EditPlan,
    Operation,
    Place,
    Recolor,
    Remove,
    Resize,
    Rotate,
    TextAdd,
    TextRemove,
    TextReplace,
    Theme,
)
from engine.samples import product_shot, sample_photo, watermarked


def test_image(size: int) -> Image.Image:
    """The astronaut at ``size``², with a Chinese headline, an English caption and a red sticker."""
    image = sample_photo("astronaut").resize((size, size), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(image)
    unit = size / 1024
    draw.text(
        (48 * unit, 40 * unit),
        "限时优惠",
        font=find_font("限时优惠").at(round(100 * unit)),
        fill=(255, 230, 0),
    )
    draw.text(
        (560 * unit, 960 * unit),
        "SAMPLE",
        font=find_font("SAMPLE").at(round(48 * unit)),
        fill=(255, 255, 255),
    )
    draw.ellipse((880 * unit, 40 * unit, 980 * unit, 140 * unit), fill=(210, 30, 30))
    return image


def product_image(size: int) -> Image.Image:
    return product_shot(size)


def texture_image(size: int) -> Image.Image:
    """Brick with a semi-transparent watermark and a red sticker with a white rim and a shadow."""
    image, _, _ = watermarked("brick", size)
    draw = ImageDraw.Draw(image)
    unit = size / 256
    draw.ellipse((170 * unit, 20 * unit, 230 * unit, 80 * unit), fill=(255, 255, 255))
    draw.ellipse((175 * unit, 25 * unit, 225 * unit, 75 * unit), fill=(215, 30, 30))
    return image


SCENES: dict[str, Callable[[int], Image.Image]] = {
    "photo": test_image,
    "product": product_image,
    "texture": texture_image,
}
#: The scene each operation runs on (the photo unless named here).
SCENE_OF = {
    "background (cut-out, matting, product shot)": "product",
    "background (light grey, shadow kept, product)": "product",
    "text_remove (watermark on brick)": "texture",
    "remove (rimmed sticker on brick)": "texture",
}

OPERATIONS: dict[str, list[Callable[[], Operation]]] = {
    "text_replace (zh -> en)": [lambda: TextReplace(old="限时优惠", new="Buy One Get One Free")],
    "text_remove (by content)": [lambda: TextRemove(text="SAMPLE")],
    "recolor (red -> blue, top right)": [
        lambda: Recolor(from_color="red", to_color="blue", place=Place.TOP_RIGHT)
    ],
    "remove (red, top right)": [lambda: Remove(color="red", place=Place.TOP_RIGHT)],
    "text_add (badge, least busy corner)": [lambda: TextAdd(text="新品上市")],
    "background (cut-out, matting, product shot)": [lambda: Background(mode="transparent")],
    "background (light grey, shadow kept, product)": [lambda: Background(mode="solid", color="light gray")],
    "text_remove (watermark on brick)": [lambda: TextRemove(watermark=True)],
    "remove (rimmed sticker on brick)": [lambda: Remove(color="red", place=Place.TOP_RIGHT)],
    "theme (christmas: LUTs, split tone, vignette)": [lambda: Theme(name="christmas")],
    "theme (retro: + grain)": [lambda: Theme(name="retro")],
    "adjust (brighter, warmer)": [lambda: Adjust(brightness=0.3, warmth=0.3)],
    "geometry (crop 16:9, resize 0.5, rotate 15°)": [
        lambda: Crop(aspect="16:9"),
        lambda: Resize(scale=0.5),
        lambda: Rotate(degrees=15),
    ],
}


def measure(editor: Editor, image: Image.Image, make_ops: list[Callable[[], Operation]], repeat: int):
    """Medians over ``repeat`` runs of: engine seconds, total seconds, total CPU seconds (all
    threads; unlike wall time it does not grow when other work shares the cores), and each stage."""
    engine, total, cpu, stages = [], [], [], defaultdict(list)
    plan = EditPlan(instruction="bench", operations=[make() for make in make_ops])
    editor.edit(image=image, prompt="bench", plan=plan)  # warm-up: model loads, font caches
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        report = editor.edit(image=image, prompt="bench", plan=plan).report
        total.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        engine.append(report.timings["engine"])
        for key, value in report.timings.items():
            parts = key.split(".")
            if key.startswith("engine.") and len(parts) == 4:  # engine.<index>.<op>.<stage>
                stages[parts[3]].append(value)
    return (
        statistics.median(engine),
        statistics.median(total),
        statistics.median(cpu),
        {stage: statistics.median(values) for stage, values in stages.items()},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    parser.add_argument(
        "--only", nargs="+", default=[], help="run operations whose name has one of these words"
    )
    args = parser.parse_args()
    editor = Editor(engine="classic")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"repeat {args.repeat}, load average {load:.1f}"
    )
    for size in args.sizes:
        images = {scene: draw(size) for scene, draw in SCENES.items()}
        print(f"\n{size}x{size}")
        print(f"{'operation':46s} {'engine':>9s} {'total':>9s} {'cpu':>9s}  stages")
        for name, ops in OPERATIONS.items():
            if args.only and not any(word in name for word in args.only):
                continue
            image = images[SCENE_OF.get(name, "photo")]
            engine, total, cpu, stages = measure(editor, image, ops, args.repeat)
            detail = ", ".join(f"{stage} {seconds * 1000:.0f} ms" for stage, seconds in stages.items())
            print(f"{name:46s} {engine * 1000:7.0f}ms {total * 1000:7.0f}ms {cpu * 1000:7.0f}ms  {detail}")


if __name__ == "__main__":
    main()
