"""Batch throughput: ``imgedit batch`` against one ``imgedit edit`` per picture and against one
process calling ``Editor.edit`` in a loop, on the same pictures in the same run.

Pictures: ``--count`` distinct 1 MP photographs (random crops of scikit-image's samples, JPEG),
one instruction for all (default: a 'SALE' badge, the catalogue case). Each way reads every
picture, edits it and writes it in its format; each is timed from its process's start (the loop
runs in a fresh interpreter too), so start-up, imports and model loading count for all three.
The NSFW check is off for all three, as in the other benchmarks. Prints wall seconds, pictures
per second and the ratios; the per-file CLI may be timed on a sample (``--cli-count``) and scaled,
which the output says. CPU is the user and system time of each way's processes (workers included).

    .venv/bin/python bench/batch.py [--count 200] [--cli-count N] [--repeats 1] [--workers N] [--prompt P]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
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


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # waited-for children and their children
    return usage.ru_utime + usage.ru_stime


def _run(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one command (CPU: the process and its workers)."""
    cpu, started = _cpu(), time.perf_counter()
    subprocess.run(
        command, cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - started, _cpu() - cpu


def time_batch(source: Path, out: Path, prompt: str, workers: int | None) -> tuple[float, float]:
    command = [sys.executable, "-m", "cli.main", "batch", str(source), "--prompt", prompt, "-o", str(out)]
    if workers:
        command += ["--workers", str(workers)]
    return _run(command)


def time_per_file(pictures: list[Path], out: Path, prompt: str) -> tuple[float, float]:
    out.mkdir(parents=True, exist_ok=True)
    wall = cpu = 0.0
    for path in pictures:
        command = [sys.executable, "-m", "cli.main", "edit", str(path), prompt, "-o", str(out / path.name)]
        one_wall, one_cpu = _run(command)
        wall, cpu = wall + one_wall, cpu + one_cpu
    return wall, cpu


def time_loop(source: Path, out: Path, prompt: str) -> tuple[float, float]:
    out.mkdir(parents=True, exist_ok=True)
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
    parser.add_argument("--repeats", type=int, default=1, help="alternating runs of batch and loop (median)")
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
            f"load average {os.getloadavg()[0]:.1f} at start; medians of {args.repeats} alternating runs"
        )
        batch_runs, loop_runs = [], []
        for repeat in range(args.repeats):  # alternating, so a busy spell hits both
            batch_runs.append(time_batch(source, folder / f"batch{repeat}", args.prompt, args.workers))
            loop_runs.append(time_loop(source, folder / f"loop{repeat}", args.prompt))
        sample = pictures[: args.cli_count or args.count]
        sample_wall, sample_cpu = time_per_file(sample, folder / "cli", args.prompt)
        scale = len(pictures) / len(sample)
        scaled = (
            f" (timed {len(sample)} calls, scaled to {len(pictures)})" if len(sample) < len(pictures) else ""
        )
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        batch = statistics.median(wall for wall, _ in batch_runs)
        loop_wall = statistics.median(wall for wall, _ in loop_runs)
        per_file = sample_wall * scale
        rows = [
            ("imgedit batch", batch, statistics.median(cpu for _, cpu in batch_runs)),
            ("Editor.edit loop, one process", loop_wall, statistics.median(cpu for _, cpu in loop_runs)),
            (f"imgedit edit per picture{scaled}", per_file, sample_cpu * scale),
        ]
        print(f"{'':<58} {'wall':>8}    {'pictures/s':>10}  {'CPU':>8}")
        for name, seconds, cpu in rows:
            print(f"{name:<58} {seconds:8.1f} s  {len(pictures) / seconds:10.2f}  {cpu:8.1f} s")
        print(
            f"batch vs per-file CLI: {per_file / batch:.2f}x; "
            f"batch vs one-process loop: {loop_wall / batch:.2f}x"
        )


if __name__ == "__main__":
    main()
