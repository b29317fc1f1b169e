"""Instruction parsing speed: the rule-based parser on simple, compound and long instructions,
and theme loading (cold, and cached with the user folder re-checked).

The parser runs on every edit and every chat turn, so it must stay far below an image
operation (milliseconds). Prints the median of each case.

    .venv/bin/python bench/parsing.py [--repeats 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial

os.environ.setdefault("IMGEDIT_HOME", tempfile.mkdtemp(prefix="imgedit-bench-"))

from engine.parsing import parse_instruction
from engine.themes import load_themes
from engine.themes.loader import builtin_themes

SIMPLE = [
    "把红色连衣裙换成蓝色",
    "make the red car green",
    "去掉左下角的水印",
    "add a 'NEW' badge in the top right",
    "情人节风格",
    "rotate 90 degrees clockwise",
    "在墙上挂一幅山水画",
    "make it brighter",
]
COMPOUND = [
    "去掉左下角的水印，并把背景换成白色，然后裁剪成正方形",
    "remove the watermark in the top right, add a 'NEW' badge and blur the background",
]
LONG = "，再".join(["把'限时优惠'换成'买一送一'", "提亮一点", "增加对比度", "背景虚化", "水平翻转"] * 12)


def median_ms(func: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()

    def cold_themes() -> None:
        builtin_themes.cache_clear()
        load_themes()

    rows = [
        ("themes: load 9 built-in TOML files (cold)", median_ms(cold_themes, 20)),
        ("themes: load_themes() cached (user folder re-checked)", median_ms(load_themes, args.repeats)),
    ]
    for text in SIMPLE:
        rows.append((f"parse: {text}", median_ms(partial(parse_instruction, text), args.repeats)))
    for text in COMPOUND:
        rows.append((f"parse (compound): {text}", median_ms(partial(parse_instruction, text), args.repeats)))
    plan = parse_instruction(LONG)
    rows.append(
        (
            f"parse (long: {len(LONG)} chars, {len(plan.operations)} operations)",
            median_ms(partial(parse_instruction, LONG), max(10, args.repeats // 10)),
        )
    )
    width = max(len(name) for name, _ in rows)
    for name, ms in rows:
        print(f"{name:<{width}}  {ms:8.3f} ms")


if __name__ == "__main__":
    main()
