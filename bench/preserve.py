"""Preservation of a generative edit at 1 MP and 4 MP: the whole step and each of its stages.

The input is a real photo (skimage ``astronaut``, resized) with a price banner; the "model
output" is the banner replaced, then drifted as Qwen-Image-Edit drifts (``engine.samples.
model_drift``: 1 % zoom, (3, -2) px shift, regeneration at 1 MP with blur and noise) and cast by
(+32, +10, -20). Preservation runs after every qwen edit, so it must stay small next to the
edit itself (about 3 s with the Lightning LoRA on an H100). Prints medians of ``--repeat`` runs
and what was kept (share of the truly changed pixels inside the mask).

A second case is a session edit of a known entity: the astronaut's "dress" (a box below her
right shoulder) replaced by a striped shirt, in an output that also repainted her face and is
cast by (+24, +8, -16); preserved unbounded (the entity box only guides detection) and bounded
by the grown entity box (what a session edit of a known entity gets), with the share of the
pixels outside the bounds that the result changed.

    python -m bench.preserve [--repeat 5]
"""

from __future__ import annotations

import argparse
import platform
from collections.abc import Callable
from functools import partial

import numpy as np
from PIL import Image, ImageDraw

from bench.engine_core import median_seconds  # one timing helper for the benches
from engine.classic.regions import Rect
from engine.preserve import preserve_unedited
from engine.preserve.align import estimate_alignment
from engine.preserve.colour import fit_colour
from engine.preserve.detect import generative_change
from engine.preserve.grounding import bound_box, text_box
from engine.preserve.seam import poisson_composite
from engine.samples import model_drift, sample_photo, with_text
from engine.types import Grounding

SIDES = (1024, 2048)


def banner_edit(side: int) -> tuple[Image.Image, Image.Image, np.ndarray, Rect]:
    """(input, model output, truly changed pixels, OCR-like grounding box) at ``side``²."""
    picture = sample_photo("astronaut").resize((side, side), Image.Resampling.LANCZOS)
    size = round(28 * side / 1024)
    origin = (side // 10, side * 6 // 10)
    original = with_text(picture, "SALE 50% OFF", origin, size)
    edited = with_text(picture, "NEW 30% DEAL", origin, size)
    a = np.asarray(original)
    truth = np.abs(np.asarray(edited).astype(np.int16) - a).max(axis=2) > 48
    ys, xs = np.nonzero(np.abs(a.astype(np.int16) - np.asarray(picture)).max(axis=2) > 0)
    box = text_box(Rect(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1), side, side)
    return original, model_drift(edited, cast=(32, 10, -20)), truth, box


def measure(side: int, repeat: int) -> dict[str, str]:
    """Median time of the whole step and of each stage at ``side``², and what was kept."""
    original, output, truth, box = banner_edit(side)
    a, b = np.asarray(original), np.asarray(output)
    alignment = estimate_alignment(a, b)
    assert alignment is not None
    aligned = alignment.apply(b)
    matched = fit_colour(a, aligned).undo(aligned, a)
    region = generative_change(a, matched, [box], alignment.covered(a.shape))
    stages: dict[str, Callable[[], object]] = {
        "whole step, no grounding": lambda: preserve_unedited(original, output),
        "whole step, grounded in the text box": lambda: preserve_unedited(
            original, output, grounding=Grounding(boxes=(box,))
        ),
        "  align (ECC at 256 px, refit at 512 px)": lambda: estimate_alignment(a, b),
        "  warp the output back": lambda: alignment.apply(b),
        "  colour fit + undo": lambda: fit_colour(a, aligned).undo(aligned, a),
        "  detect (envelope + hysteresis)": lambda: generative_change(a, matched, [box]),
        "  membrane seam + composite": lambda: poisson_composite(a, matched, region),
    }
    row = {name: f"{median_seconds(func, repeat) * 1000:.0f} ms" for name, func in stages.items()}
    result = preserve_unedited(original, output, grounding=Grounding(boxes=(box,)))
    row["kept (share of changed pixels)"] = f"{result.mask[truth].mean():.3f}"
    row["changed_area_ratio"] = f"{result.changed_area_ratio:.4f}"
    return row


def entity_edit(side: int) -> tuple[Image.Image, Image.Image, np.ndarray, Rect]:
    """(input, model output, truly changed pixels of the shirt, the entity's box) at ``side``²."""
    picture = sample_photo("astronaut").resize((side, side), Image.Resampling.LANCZOS)
    k = side / 512
    dress = Rect(round(250 * k), round(300 * k), round(400 * k), round(500 * k))
    edited = picture.copy()
    draw = ImageDraw.Draw(edited)
    pad = round(6 * k)
    draw.rectangle(
        (dress.x0 - pad, dress.y0 + 2 * pad, dress.x1 + pad, dress.y1 - 2 * pad), fill=(40, 70, 190)
    )
    for y in range(dress.y0 + round(16 * k), dress.y1 - 2 * pad, round(14 * k)):
        draw.rectangle((dress.x0 - pad, y, dress.x1 + pad, y + round(4 * k)), fill=(230, 230, 240))
    truth = np.abs(np.asarray(edited).astype(np.int16) - np.asarray(picture)).max(axis=2) > 48
    ImageDraw.Draw(edited).ellipse(tuple(round(v * k) for v in (170, 60, 260, 150)), fill=(200, 120, 90))
    return picture, model_drift(edited, cast=(24, 8, -16)), truth, dress


def measure_entity(side: int, repeat: int) -> dict[str, str]:
    """Unbounded against bounded preservation of the entity edit: time, and what is kept."""
    original, output, truth, dress = entity_edit(side)
    bounds = bound_box(dress, side, side)
    cases = {
        "unbounded": Grounding(boxes=(dress,)),
        "bounded": Grounding(boxes=(dress,), bounds=(bounds,)),
    }
    outside = np.ones((side, side), dtype=bool)
    outside[bounds.y0 : bounds.y1, bounds.x0 : bounds.x1] = False
    row: dict[str, str] = {}
    for name, grounding in cases.items():
        seconds = median_seconds(partial(preserve_unedited, original, output, grounding=grounding), repeat)
        result = preserve_unedited(original, output, grounding=grounding)
        changed = (np.asarray(result.image) != np.asarray(original)).any(axis=2)
        row[f"entity, {name}: whole step"] = f"{seconds * 1000:.0f} ms"
        row[f"entity, {name}: share of pixels outside the bounds changed"] = f"{changed[outside].mean():.4f}"
        row[f"entity, {name}: kept (share of the shirt's pixels)"] = f"{result.mask[truth].mean():.3f}"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    columns = [{**measure(side, args.repeat), **measure_entity(side, args.repeat)} for side in SIDES]
    width = max(len(name) for name in columns[0])
    print(f"{'':{width}s} " + " ".join(f"{f'{side}²':>10s}" for side in SIDES))
    for name in columns[0]:
        print(f"{name:{width}s} " + " ".join(f"{column[name]:>10s}" for column in columns))


if __name__ == "__main__":
    main()
