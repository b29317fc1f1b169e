"""Cost of the Editor's shared steps: preservation (align + mask + composite) and the NSFW check.

These run after every edit whatever the backend, so they must stay small next to a diffusion
step (~1 s on an H100) and next to classic operations. Run: ``python -m bench.engine_core``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from engine.preserve import preserve_unedited
from engine.safety import check_output_safety
from engine.samples import sample_photo as skimage_photo


def median_seconds(func: Callable[[], object], repeat: int) -> float:
    func()  # warm-up (model loads, caches)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def drifted_local_edit(size: int) -> tuple[Image.Image, Image.Image]:
    original = skimage_photo("astronaut").resize((size, size), Image.Resampling.LANCZOS)
    edited = original.copy()
    box = (size // 2, size // 2, size // 2 + size // 6, size // 2 + size // 6)
    ImageDraw.Draw(edited).rectangle(box, fill=(20, 200, 40))
    shifted = np.roll(np.asarray(edited), (2, 3), axis=(0, 1))  # the drift Qwen-Image shows
    return original, Image.fromarray(shifted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"{'step':44s} {'1024²':>10s} {'2048²':>10s}")
    rows: dict[str, list[float]] = {}
    for size in (1024, 2048):
        original, edited = drifted_local_edit(size)
        rows.setdefault("preserve: align + mask + composite (qwen)", []).append(
            median_seconds(lambda o=original, e=edited: preserve_unedited(o, e), args.repeat)
        )
        rows.setdefault("preserve: exact measure (classic)", []).append(
            median_seconds(lambda o=original, e=edited: preserve_unedited(o, e, exact=True), args.repeat)
        )
        rows.setdefault("preserve: measure only (whole-image edit)", []).append(
            median_seconds(lambda o=original, e=edited: preserve_unedited(o, e, composite=False), args.repeat)
        )
        rows.setdefault("NSFW check (NudeNet 320n)", []).append(
            median_seconds(lambda e=edited: check_output_safety(e), args.repeat)
        )
    for name, values in rows.items():
        print(f"{name:44s} " + " ".join(f"{v * 1000:8.1f}ms" for v in values))


if __name__ == "__main__":
    main()
