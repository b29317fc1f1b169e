"""The chat agent's per-turn overhead: the time a turn takes outside the engine.

A scripted ten-turn conversation (English and Chinese, edits, references, undo, revert,
history) runs through the real agent (rules planner, create_agent, SQLite store and
checkpointer, classic engine) several times; each turn's wall time minus the time spent inside
``Editor.edit`` is the agent's overhead (planning, resolving, store and blob writes, checkpoint).

    .venv/bin/python bench/agent_overhead.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ["IMGEDIT_HOME"] = tempfile.mkdtemp(prefix="imgedit-bench-")
    os.environ.setdefault("IMGEDIT_NSFW_CHECK", "0")

    from agent import ChatAgent
    from engine import Editor

    started = time.perf_counter()
    agent = ChatAgent(editor=Editor(engine="classic"))
    print(f"agent start-up: {time.perf_counter() - started:.3f} s")
    data = scene_png()
    overhead: list[float] = []
    edit_overhead: list[float] = []
    other: list[float] = []
    engine: list[float] = []
    for _ in range(args.rounds):
        session = agent.new_session()
        agent.attach(session, data, name="scene.png")
        for text in SCRIPT:
            turn = agent.send(session, text)
            outside = turn.seconds - turn.engine_seconds
            overhead.append(outside)
            if turn.engine_seconds:
                edit_overhead.append(outside)
                engine.append(turn.engine_seconds)
            else:
                other.append(turn.seconds)
    ms = 1000.0
    print(f"turns: {len(overhead)} ({args.rounds} rounds x {len(SCRIPT)})")
    print(f"median overhead per turn (outside the engine): {statistics.median(overhead) * ms:.1f} ms")
    print(f"median overhead of edit turns:                 {statistics.median(edit_overhead) * ms:.1f} ms")
    print(f"median time of non-edit turns (undo, history): {statistics.median(other) * ms:.1f} ms")
    print(f"median engine time of edit turns:              {statistics.median(engine) * ms:.1f} ms")


if __name__ == "__main__":
    main()
