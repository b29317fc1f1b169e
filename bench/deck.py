"""Deck restyling throughput: ``restyle_deck`` against a plain loop, in the same run.

Decks: the 24-slide corpus talk (ececapstonespring2012.pptx) and a generated 200-slide deck with
400 picture uses of 50 distinct photographs (~1000 px, JPEG and PNG, from scikit-image's samples).
The plain loop edits every picture *use* in turn (decode, edit, encode; no sharing, one core) and
then writes the deck the same way. Prints medians of wall time and images per second.

    .venv/bin/python bench/deck.py [--repeats 3] [--prompt "make it warmer"]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

os.environ.setdefault("IMGEDIT_NSFW_CHECK", "0")

from engine import Editor
from plugins.pptx import DeckReport, RestyleOptions, restyle_deck
from plugins.pptx.options import build_plan
from plugins.pptx.pool import ImageJob, restyle_image
from plugins.pptx.restyle import inspect_deck
from plugins.pptx.safezip import DeckZip
from plugins.pptx.writer import write_deck

T = TypeVar("T")
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "pptx"
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina")


def photo_variants(count: int) -> list[bytes]:
    """``count`` distinct ~1000 px pictures: crops of real photographs, every third one a PNG."""
    from skimage import data

    rng = np.random.default_rng(0)
    out = []
    for index in range(count):
        array = getattr(data, PHOTOS[index % len(PHOTOS)])()[..., :3]
        height, width = array.shape[:2]
        ch, cw = int(height * rng.uniform(0.6, 0.95)), int(width * rng.uniform(0.6, 0.95))
        y, x = rng.integers(0, height - ch + 1), rng.integers(0, width - cw + 1)
        crop = Image.fromarray(np.ascontiguousarray(array[y : y + ch, x : x + cw]).astype(np.uint8))
        scale = 1000 / max(crop.size)
        crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        if index % 3 == 2:
            crop.save(buffer, "PNG")
        else:
            crop.save(buffer, "JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def generated_deck(path: Path, slides: int = 200, per_slide: int = 2, distinct: int = 50) -> Path:
    from pptx import Presentation
    from pptx.util import Inches

    pictures = photo_variants(distinct)
    presentation = Presentation()
    blank = presentation.slide_layouts[6]
    for number in range(slides):
        slide = presentation.slides.add_slide(blank)
        for k in range(per_slide):
            data = pictures[(number * per_slide + k) % distinct]
            slide.shapes.add_picture(io.BytesIO(data), Inches(0.5 + 4.6 * k), Inches(1.5), width=Inches(4.4))
    presentation.save(str(path))
    return path


def plain_loop(source: Path, output: Path, editor: Editor, options: RestyleOptions) -> int:
    """Every picture use edited in turn, one core, no sharing; returns the number of edits."""
    plan = build_plan(editor, options)
    inventory = inspect_deck(source)
    replacements: dict[str, bytes] = {}
    edits = 0
    with DeckZip(source) as deck:
        for image in inventory.images:
            if image.format not in ("PNG", "JPEG") or image.only_thumbnail:
                continue
            if min(image.width, image.height) < options.min_size:
                continue
            data = deck.read(image.name)
            for _ in range(max(1, image.picture_uses)):
                outcome = restyle_image(editor, plan, options.seed, ImageJob(image.sha256, image.name, data))
                edits += 1
                replacements[image.name] = outcome.data or data
        write_deck(deck, replacements, output)
    return edits


def timed(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure on the generated deck")
    parser.add_argument("--small-repeats", type=int, default=9, help="runs per figure on the corpus deck")
    parser.add_argument("--decks", default="corpus,generated")
    parser.add_argument("--prompt", default="make it warmer")
    parser.add_argument("--modes", default="auto,thread,process,serial")
    args = parser.parse_args()
    options = RestyleOptions(prompt=args.prompt)
    editor = Editor(engine="classic")
    print(f"cores: {len(os.sched_getaffinity(0))}, prompt: {args.prompt!r} (medians)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        decks: list[tuple[Path, int]] = []
        if "corpus" in args.decks:
            decks.append((CORPUS / "ececapstonespring2012.pptx", args.small_repeats))
        if "generated" in args.decks:
            started = time.perf_counter()
            big = generated_deck(folder / "generated-200.pptx")
            print(
                f"generated {big.name} in {time.perf_counter() - started:.1f}s "
                f"({big.stat().st_size / 1e6:.1f} MB)"
            )
            decks.append((big, args.repeats))
        for deck, repeats in decks:
            inventory = inspect_deck(deck)
            uses = sum(i.picture_uses for i in inventory.images if not i.only_thumbnail)
            print(
                f"\n{deck.name} ({repeats} runs): {inventory.slide_count} slides, {uses} picture uses, "
                f"{len({i.sha256 for i in inventory.images if not i.only_thumbnail})} distinct pictures"
            )

            def loop(d: Path = deck) -> int:
                return plain_loop(d, folder / "loop.pptx", editor, options)

            seconds, edits = timed(loop, repeats)
            print(
                f"  plain loop (every use, 1 core): {seconds:7.2f}s  {edits / seconds:6.1f} uses/s  "
                f"({edits} edits)"
            )
            baseline = seconds
            for mode in args.modes.split(","):
                forced = None if mode == "auto" else mode

                def run(d: Path = deck, m: str | None = forced) -> DeckReport:
                    return restyle_deck(d, folder / "out.pptx", options, mode=m)  # type: ignore[arg-type]

                seconds, report = timed(run, repeats)
                chosen = f"={report.mode}" if mode == "auto" else ""
                label = f"restyle_deck ({mode}{chosen}, {report.workers} workers)"
                print(
                    f"  {label:31s} {seconds:7.2f}s  {uses / seconds:6.1f} uses/s  "
                    f"{report.engine_calls / seconds:6.1f} distinct/s  x{baseline / seconds:.1f} vs loop"
                )


if __name__ == "__main__":
    main()
