"""The Figma bridge end to end: what a designer waits for when restyling a selection.

A selection of 24 image fills showing 8 distinct photos (512×384 PNG), theme ``retro`` on the
classic engine, through a local server exactly as the plugin panel drives it: upload each
distinct image (``POST /v1/figma/uploads``), one ``restyle`` frame, follow the frames over
``/v1/figma`` until the job is done, download each distinct result once. Compared, in the same
run, with the same 8 edits called directly on the engine (decode, edit, encode), serially as the
job runs them, and with editing all 24 fills without de-duplication.

    .venv/bin/python bench/figma_bridge.py [--runs 5]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import Editor, EditPlan  # noqa: E402
from engine.plan import Theme  # noqa: E402
from engine.samples import sample_photo  # noqa: E402
from tests.server_harness import LiveServer, server_settings  # noqa: E402

FILLS, DISTINCT = 24, 8
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def photos() -> list[bytes]:
    out = []
    for n in range(DISTINCT):
        source = sample_photo(PHOTOS[n % len(PHOTOS)])
        crop = source.crop((n * 7, n * 5, n * 7 + 400, n * 5 + 300)).resize((512, 384))
        buffer = io.BytesIO()
        crop.save(buffer, "PNG")
        out.append(buffer.getvalue())
    return out


def bridge_run(live: LiveServer, key: str, images: list[bytes], run: int) -> tuple[float, float, int]:
    """Seconds from the first upload to the last result in hand, the job's own seconds on the
    server, and the frames received."""
    headers = {"Authorization": f"Bearer {key}"}
    started = time.perf_counter()
    with httpx.Client(base_url=live.url, headers=headers, timeout=60) as client:
        ids = [
            client.post("/v1/figma/uploads", files={"file": ("f.png", data, "image/png")}).json()["upload_id"]
            for data in images
        ]
        items = [
            {
                "item_id": f"{n}#0",
                "node_id": str(n),
                "paint_index": 0,
                "image_hash": f"h{n % DISTINCT}",
                "upload_id": ids[n % DISTINCT],
            }
            for n in range(FILLS)
        ]
        frames = 0
        urls: dict[str, str] = {}
        with connect(f"ws://127.0.0.1:{live.port}/v1/figma") as ws:
            ws.send(json.dumps({"type": "hello", "protocol": 1, "token": key}))
            ws.recv()
            ws.send(
                json.dumps(
                    {"type": "restyle", "request_id": f"bench-{run}", "theme": "retro", "items": items}
                )
            )
            job_id = json.loads(ws.recv())["job_id"]
            while True:
                frame = json.loads(ws.recv(timeout=120))
                frames += 1
                if frame["type"] == "item" and frame["status"] == "done":
                    urls.setdefault(frame["upload_id"], frame["result_url"])
                if frame["type"] == "job" and frame["status"] in ("done", "failed", "cancelled"):
                    assert frame["status"] == "done", frame
                    break
        for url in urls.values():
            assert client.get(url).status_code == 200
        elapsed = time.perf_counter() - started
        job_seconds = float(client.get(f"/v1/jobs/{job_id}").json()["seconds"])
    return elapsed, job_seconds, frames


def direct_run(editor: Editor, images: list[bytes], count: int) -> float:
    plan = EditPlan(instruction="theme:retro", operations=[Theme(name="retro")])
    started = time.perf_counter()
    for n in range(count):
        image = Image.open(io.BytesIO(images[n % DISTINCT])).convert("RGB")
        result = editor.edit(image=image, prompt=plan.instruction, plan=plan)
        result.image.save(io.BytesIO(), "PNG", compress_level=6)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    images = photos()
    bridge, job, direct, undeduped, frames = [], [], [], [], 0
    with tempfile.TemporaryDirectory() as home, LiveServer(server_settings(Path(home))) as live:
        # The same settings as the server's (NSFW check off, as in server_settings) for a fair match.
        editor = Editor(engine="classic", settings=live.app.state.ctx.settings)
        direct_run(editor, images, 1)  # warm up
        key = live.key("bench")
        bridge_run(live, key, images, -1)  # warm up
        for run in range(args.runs):
            seconds, job_seconds, frames = bridge_run(live, key, images, run)
            bridge.append(seconds)
            job.append(job_seconds)
            direct.append(direct_run(editor, images, DISTINCT))
            undeduped.append(direct_run(editor, images, FILLS))
    b, j, d, u = (statistics.median(x) for x in (bridge, job, direct, undeduped))
    print(f"{FILLS} fills, {DISTINCT} distinct 512x384 images, retro, classic; medians of {args.runs} runs")
    print(f"bridge end to end (upload, job, {frames} frames, download): {b:.2f} s")
    print(f"  of which the job on the server:                      {j:.2f} s -> transport {b - j:.2f} s")
    print(f"engine called directly, {DISTINCT} distinct images:          {d:.2f} s")
    print(f"engine called directly, all {FILLS} fills (no de-dup):      {u:.2f} s")


if __name__ == "__main__":
    main()
