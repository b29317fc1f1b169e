"""Batch throughput: ``imgedit batch`` against one ``imgedit edit`` per picture and against one
process calling ``Editor.edit`` in a loop, on the same pictures in the same run.

Pictures: ``--count`` distinct 1 MP photographs (random crops of scikit-image's samples, JPEG),
one instruction for all (default: a 'SALE' badge, the catalogue case). Each way reads every
picture, edits it and writes it in its format; each is timed from its process's start (the loop
runs in a fresh interpreter too), so start-up, imports and model loading count for all three.
The NSFW check is off for all three, as in the other benchmarks. Prints wall seconds, pictures
per second and the ratios; the per-file CLI may be timed on a sample (``--cli-count``) and scaled,
which the output says.

    .venv/bin/python bench/batch.py [--count 200] [--cli-count 200] [--workers N] [--prompt TEXT]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina")
MEGAPIXEL = 1_000_000
ENV = {**os.environ, "IMGEDIT_NSFW_CHECK": "0", "IMGEDIT_ENGINE": "classic", "PYTHONPATH": str(ROOT)}


def make_pictures(folder: Path, count: int) -> list[Path]:
    """``count`` distinct ~1 MP JPEGs: random crops of real photographs, scaled to one megapixel."""
    from skimage import data

    rng = np.random.default_rng(0)
    sources = [np.ascontiguousarray(getattr(data, name)()[..., :3]).astype(np.uint8) for name in PHOTOS]
    paths = []
    for index in range(count):
        array = sources[index % len(sources)]
        height, width = array.shape[:2]
        ch, cw = int(height * rng.uniform(0.6, 0.95)), int(width * rng.uniform(0.6, 0.95))
        y, x = rng.integers(0, height - ch + 1), rng.integers(0, width - cw + 1)
        crop = Image.fromarray(array[y : y + ch, x : x + cw])
        scale = (MEGAPIXEL / (crop.width * crop.height)) ** 0.5
        crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.Resampling.LANCZOS)
        path = folder / f"sku-{index:04d}.jpg"
        crop.save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def _run(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def time_batch(source: Path, out: Path, prompt: str, workers: int | None) -> float:
    command = [sys.executable, "-m", "cli.main", "batch", str(source), "--prompt", prompt, "-o", str(out)]
    if workers:
        command += ["--workers", str(workers)]
    return _run(command)


def time_per_file(pictures: list[Path], out: Path, prompt: str) -> float:
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for path in pictures:
        command = [sys.executable, "-m", "cli.main", "edit", str(path), prompt, "-o", str(out / path.name)]
        subprocess.run(command, cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def time_loop(source: Path, out: Path, prompt: str) -> float:
    return _run([sys.executable, str(Path(__file__).resolve()), "--loop", str(source), str(out), prompt])


def loop(source: Path, out: Path, prompt: str) -> None:
    """The plain way in one process: for each picture, read, ``Editor.edit``, write in its format."""
    from engine import Editor
    from engine.imageio import load_image, save_image

    editor = Editor(engine="classic")
    for path in sorted(source.glob("*.jpg")):
        loaded = load_image(path)
        result = editor.edit(image=loaded.image, prompt=prompt, seed=0)
        save_image(result.image, out / path.name, loaded.format)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=200, help="pictures (default 200)")
    parser.add_argument("--cli-count", type=int, default=None, help="per-file CLI calls timed (default: all)")
    parser.add_argument("--workers", type=int, default=None, help="imgedit batch --workers (default: cores)")
    parser.add_argument("--prompt", default="add a 'SALE' badge in the top right")
    parser.add_argument("--loop", nargs=3, metavar=("SOURCE", "OUT", "PROMPT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loop:
        source, out, prompt = args.loop
        loop(Path(source), Path(out), prompt)
        return

    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder = Path(tmp)
        source = folder / "in"
        source.mkdir()
        pictures = make_pictures(source, args.count)
        print(
            f"{args.count} pictures of ~1 MP (JPEG), prompt {args.prompt!r}, {cores} cores, "
            f"load average {os.getloadavg()[0]:.1f} at start"
        )
        batch = time_batch(source, folder / "batch", args.prompt, args.workers)
        (folder / "loop").mkdir()
        loop_seconds = time_loop(source, folder / "loop", args.prompt)
        sample = pictures[: args.cli_count or args.count]
        per_file = time_per_file(sample, folder / "cli", args.prompt) * len(pictures) / len(sample)
        scaled = (
            f" (timed {len(sample)} calls, scaled to {len(pictures)})" if len(sample) < len(pictures) else ""
        )
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        rows = [
            ("imgedit batch", batch),
            ("Editor.edit loop, one process", loop_seconds),
            (f"imgedit edit per picture{scaled}", per_file),
        ]
        for name, seconds in rows:
            print(f"{name:<58} {seconds:8.1f} s  {len(pictures) / seconds:6.2f} pictures/s")
        print(
            f"batch vs per-file CLI: {per_file / batch:.2f}x; "
            f"batch vs one-process loop: {loop_seconds / batch:.2f}x"
        )


if __name__ == "__main__":
    main()
