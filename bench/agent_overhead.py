"""The chat agent's per-turn overhead: the time a turn takes outside the engine.

A scripted ten-turn conversation (English and Chinese, edits, references, undo, revert,
history) runs through the real agent (rules planner, create_agent, SQLite store and
checkpointer, classic engine) several times; each turn's wall time minus the time spent inside
``Editor.edit`` is the agent's overhead (planning, resolving, store and blob writes, checkpoint).

    .venv/bin/python bench/agent_overhead.py [--rounds 5]
    .venv/bin/python bench/agent_overhead.py --compare /path/to/other/checkout [--rounds 10]
    .venv/bin/python bench/agent_overhead.py --memory 200 [--compare /path/to/other/checkout]

``--compare`` measures this checkout and another one side by side in one run: one worker
process per checkout (each importing its own ``agent`` and ``engine``), rounds alternating
between them, so both see the same load on a shared machine; it prints both medians and their
ratio.

``--memory TURNS`` runs one long conversation (the script again and again) and prints, every
fifth of the way, what a session costs the agent: messages in its state, bytes of checkpoints on
disk, and the median overhead of the last stretch of turns. With ``--compare``, the other
checkout's conversation runs interleaved with this one's, a stretch each in turn.
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


def checkpoint_bytes() -> int:
    home = Path(os.environ["IMGEDIT_HOME"])
    return sum(path.stat().st_size for path in home.glob("agent-checkpoints.db*"))


class LongConversation:
    """One session that goes on: ``stretch(n)`` sends the next ``n`` messages of the script."""

    def __init__(self, agent: ChatAgent, data: bytes) -> None:
        self.agent = agent
        self.session = agent.new_session()
        agent.attach(self.session, data, name="scene.png")
        self.turns = 0

    def stretch(self, count: int) -> dict[str, float]:
        overhead = []
        for _ in range(count):
            turn = self.agent.send(self.session, SCRIPT[self.turns % len(SCRIPT)])
            overhead.append(turn.seconds - turn.engine_seconds)
            self.turns += 1
        return {
            "turns": self.turns,
            "messages": len(self.agent.history(self.session)),
            "checkpoint_mb": checkpoint_bytes() / 1e6,
            "overhead_ms": statistics.median(overhead) * 1000.0,
        }


def worker() -> None:
    """Answer each line read on stdin with figures as one JSON line: ``round`` runs a scripted
    conversation on a fresh session, ``stretch N`` the next N turns of one long conversation."""
    agent = make_agent()
    data = scene_png()
    long: LongConversation | None = None
    for line in sys.stdin:
        if line.startswith("stretch"):
            long = long or LongConversation(agent, data)
            print(json.dumps(long.stretch(int(line.split()[1]))), flush=True)
        else:
            print(json.dumps(run_round(agent, data)), flush=True)


def start_workers(trees: dict[str, Path]) -> dict[str, subprocess.Popen[str]]:
    """One worker process per checkout, each importing its own code."""
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
    return workers


def ask(process: subprocess.Popen[str], line: str) -> object:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()
    return json.loads(process.stdout.readline())


def stop_workers(workers: dict[str, subprocess.Popen[str]]) -> None:
    for process in workers.values():
        if process.stdin is not None:
            process.stdin.close()
        process.wait()


def memory(turns: int, other: Path | None) -> None:
    """A long conversation per checkout, a fifth of ``turns`` at a time, interleaved."""
    here = Path(__file__).resolve().parent.parent
    trees = {"this checkout": here} if other is None else {"this checkout": here, "other": other.resolve()}
    workers = start_workers(trees)
    step = max(1, turns // 5)
    try:
        print("| checkout | turns | messages in the state | checkpoints on disk | overhead per turn |")
        print("| --- | --- | --- | --- | --- |")
        for _ in range(0, turns, step):
            for label, process in workers.items():
                row = ask(process, f"stretch {step}")
                assert isinstance(row, dict)
                print(
                    f"| {label} | {row['turns']} | {row['messages']} | {row['checkpoint_mb']:.1f} MB "
                    f"| {row['overhead_ms']:.1f} ms |",
                    flush=True,
                )
    finally:
        stop_workers(workers)


def compare(other: Path, rounds: int) -> None:
    here = Path(__file__).resolve().parent.parent
    trees = {"this checkout": here, "other": other.resolve()}
    workers = start_workers(trees)
    figures: dict[str, Figures] = {label: [] for label in trees}
    try:
        for index in range(rounds + 1):  # the first round of each warms up and is not counted
            order = list(trees) if index % 2 == 0 else list(reversed(trees))
            for label in order:
                result = ask(workers[label], "round")
                assert isinstance(result, list)
                if index:
                    figures[label].extend((wall, engine) for wall, engine in result)
    finally:
        stop_workers(workers)
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
    parser.add_argument("--memory", type=int, metavar="TURNS", help="one long conversation of TURNS turns")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    if args.memory is not None:
        memory(args.memory, args.compare)
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
