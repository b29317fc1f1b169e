"""Preservation of a generative edit at 1 MP and 4 MP: the whole step and each of its stages.

The input is a real photo (skimage ``astronaut``, resized) with a price banner; the "model
output" is the banner replaced, then drifted as Qwen-Image-Edit drifts (``engine.samples.
model_drift``: 1 % zoom, (3, -2) px shift, regeneration at 1 MP with blur and noise) and cast by
(+32, +10, -20). Preservation runs after every qwen edit, so it must stay small next to the
edit itself (about 3 s with the Lightning LoRA on an H100). Prints medians of ``--repeat`` runs
and what was kept (share of the truly changed pixels inside the mask).

    python -m bench.preserve [--repeat 5]
"""

from __future__ import annotations

import argparse
import platform
from collections.abc import Callable

import numpy as np
from PIL import Image

from bench.engine_core import median_seconds  # one timing helper for the benches
from engine.classic.regions import Rect
from engine.preserve import preserve_unedited
from engine.preserve.align import estimate_alignment
from engine.preserve.colour import fit_colour
from engine.preserve.detect import generative_change
from engine.preserve.grounding import text_box
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    columns = [measure(side, args.repeat) for side in SIDES]
    print(f"{'':44s} " + " ".join(f"{f'{side}²':>10s}" for side in SIDES))
    for name in columns[0]:
        print(f"{name:44s} " + " ".join(f"{column[name]:>10s}" for column in columns))


if __name__ == "__main__":
    main()
