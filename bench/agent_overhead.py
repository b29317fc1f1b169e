"""The chat agent's per-turn overhead: the time a turn takes outside the engine.

A scripted ten-turn conversation (English and Chinese, edits, references, undo, revert,
history) runs through the real agent (rules planner, create_agent, SQLite store and
checkpointer, classic engine) several times; each turn's wall time minus the time spent inside
``Editor.edit`` is the agent's overhead (planning, resolving, store and blob writes, checkpoint).

    .venv/bin/python bench/agent_overhead.py [--rounds 5]
    .venv/bin/python bench/agent_overhead.py --compare /path/to/other/checkout [--rounds 10]

``--compare`` measures this checkout and another one side by side in one run: one worker
process per checkout (each importing its own ``agent`` and ``engine``), rounds alternating
between them, so both see the same load on a shared machine; it prints both medians and their
ratio.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont

SCRIPT = [
    "把红色连衣裙换成蓝色",
    "make it brighter",
    "把刚才那件衣服换成绿色",
    "undo",
    "水平翻转",
    "show the history",
    "go back to the original",
    "Make the blue shirt purple",
    "撤销",
    "redo",
]


def scene_png() -> bytes:
    img = Image.new("RGB", (640, 480), (225, 225, 220))
    draw = ImageDraw.Draw(img)
    draw.polygon([(120, 120), (200, 120), (240, 400), (80, 400)], fill=(200, 30, 30))
    draw.rectangle([360, 140, 520, 300], fill=(30, 60, 200))
    draw.text((340, 360), "SALE", fill=(0, 0, 0), font=ImageFont.load_default(size=64))
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


if TYPE_CHECKING:
    from agent import ChatAgent

Figures = list[tuple[float, float]]  # per turn: (wall seconds, seconds inside the engine)


def run_round(agent: ChatAgent, data: bytes) -> Figures:
    """One scripted conversation on a fresh session."""
    session = agent.new_session()
    agent.attach(session, data, name="scene.png")
    figures = []
    for text in SCRIPT:
        turn = agent.send(session, text)
        figures.append((turn.seconds, turn.engine_seconds))
    return figures


def make_agent() -> ChatAgent:
    os.environ["IMGEDIT_HOME"] = tempfile.mkdtemp(prefix="imgedit-bench-")
    os.environ.setdefault("IMGEDIT_NSFW_CHECK", "0")
    from agent import ChatAgent
    from engine import Editor

    return ChatAgent(editor=Editor(engine="classic"))


def report(label: str, figures: Figures) -> float:
    ms = 1000.0
    overhead = [wall - engine for wall, engine in figures]
    edits = [wall - engine for wall, engine in figures if engine]
    other = [wall for wall, engine in figures if not engine]
    engine = [engine for _, engine in figures if engine]
    print(f"{label}turns: {len(figures)}")
    print(f"{label}median overhead per turn (outside the engine): {statistics.median(overhead) * ms:.1f} ms")
    print(f"{label}median overhead of edit turns:                 {statistics.median(edits) * ms:.1f} ms")
    print(f"{label}median time of non-edit turns (undo, history): {statistics.median(other) * ms:.1f} ms")
    print(f"{label}median engine time of edit turns:              {statistics.median(engine) * ms:.1f} ms")
    return statistics.median(overhead)


def worker() -> None:
    """Run a round for every line read on stdin; answer each with its figures as one JSON line."""
    agent = make_agent()
    data = scene_png()
    for _ in sys.stdin:
        print(json.dumps(run_round(agent, data)), flush=True)


def compare(other: Path, rounds: int) -> None:
    here = Path(__file__).resolve().parent.parent
    trees = {"this checkout": here, "other": other.resolve()}
    workers = {}
    for label, tree in trees.items():
        env = {**os.environ, "PYTHONPATH": str(tree)}
        workers[label] = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"],
            cwd=tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
    figures: dict[str, Figures] = {label: [] for label in trees}
    try:
        for index in range(rounds + 1):  # the first round of each warms up and is not counted
            order = list(trees) if index % 2 == 0 else list(reversed(trees))
            for label in order:
                process = workers[label]
                assert process.stdin is not None and process.stdout is not None
                process.stdin.write("round\n")
                process.stdin.flush()
                result = json.loads(process.stdout.readline())
                if index:
                    figures[label].extend((wall, engine) for wall, engine in result)
    finally:
        for process in workers.values():
            if process.stdin is not None:
                process.stdin.close()
            process.wait()
    medians = {}
    for label, tree in trees.items():
        print(f"{label} ({tree}), {rounds} rounds alternating:")
        medians[label] = report("  ", figures[label])
    ratio = medians["this checkout"] / medians["other"]
    print(f"overhead per turn, this checkout / other: {ratio:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compare", type=Path, help="another checkout to measure side by side")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    if args.compare is not None:
        compare(args.compare, args.rounds)
        return
    started = time.perf_counter()
    agent = make_agent()
    print(f"agent start-up: {time.perf_counter() - started:.3f} s")
    data = scene_png()
    figures: Figures = []
    for _ in range(args.rounds):
        figures.extend(run_round(agent, data))
    print(f"{args.rounds} rounds x {len(SCRIPT)}")
    report("", figures)


if __name__ == "__main__":
    main()
