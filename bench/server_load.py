"""Load on the service: 32 concurrent WebSocket clients running classic edits on a local server.

Each client keeps one WebSocket open and, in turn, uploads an edit (``POST /v1/edits``), waits for
the job's ``done`` frame and downloads the result. Reported: median and p99 latency (upload to
result in hand), throughput, failed requests, and the server's overhead against calling the
engine directly (the same load -> edit -> encode, on as many threads as the server has classic
slots) measured in the same run on the same machine.

    .venv/bin/python bench/server_load.py [--clients 32] [--edits-per-client 4]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import websockets
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INSTRUCTIONS = ["make it brighter", "increase contrast", "make it warmer", "降低饱和度"]


def photo_bytes() -> bytes:
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, "PNG")
    return buffer.getvalue()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def direct_engine(photo: bytes, count: int, workers: int) -> tuple[float, list[float]]:
    """The engine called in-process like the CLI does, ``workers`` at a time: (wall, per-edit)."""
    from engine import Editor
    from engine.imageio import encode_image, load_image
    from imgedit.config import Settings

    editor = Editor(engine="classic", settings=Settings(nsfw_check=False, engine="classic"))

    def one(index: int) -> float:
        started = time.perf_counter()
        loaded = load_image(photo)
        result = editor.edit(image=loaded.image, prompt=INSTRUCTIONS[index % len(INSTRUCTIONS)], seed=index)
        encode_image(result.image, loaded.format)
        return time.perf_counter() - started

    one(0)  # warm up
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        seconds = list(pool.map(one, range(count)))
    return time.perf_counter() - started, seconds


async def client(
    base: str, key: str, photo: bytes, index: int, edits: int, latencies: list[float], failures: list[str]
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx.AsyncClient(base_url=base, headers=headers, timeout=300) as http,
        websockets.connect(base.replace("http", "ws") + f"/v1/ws?token={key}", max_size=2**20) as ws,
    ):
        assert json.loads(await ws.recv())["type"] == "ready"
        for n in range(edits):
            started = time.perf_counter()
            seed = index * 1000 + n  # distinct requests: no answer from the result cache
            form = {"instruction": INSTRUCTIONS[(index + n) % len(INSTRUCTIONS)], "seed": str(seed)}
            response = await http.post("/v1/edits", files={"file": ("a.png", photo, "image/png")}, data=form)
            if response.status_code != 202:
                failures.append(f"submit {response.status_code}: {response.text[:200]}")
                continue
            job_id = response.json()["job_id"]
            while True:
                frame = json.loads(await ws.recv())
                if (
                    frame.get("job_id") == job_id
                    and frame["type"] == "job"
                    and frame["status"]
                    in (
                        "done",
                        "failed",
                        "cancelled",
                    )
                ):
                    break
            if frame["status"] != "done":
                failures.append(f"job {frame['status']}: {frame.get('error')}")
                continue
            result = await http.get(frame["result_url"])
            if result.status_code != 200:
                failures.append(f"result {result.status_code}")
                continue
            latencies.append(time.perf_counter() - started)


async def load(
    base: str, key: str, photo: bytes, clients: int, edits: int
) -> tuple[float, list[float], list[str]]:
    latencies: list[float] = []
    failures: list[str] = []
    started = time.perf_counter()
    await asyncio.gather(*(client(base, key, photo, i, edits, latencies, failures) for i in range(clients)))
    return time.perf_counter() - started, latencies, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--edits-per-client", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    workers = os.cpu_count() or 1
    home = Path(tempfile.mkdtemp(prefix="imgedit-bench-"))
    env = {
        **os.environ,
        "IMGEDIT_HOME": str(home),
        "IMGEDIT_ENGINE": "classic",
        "IMGEDIT_NSFW_CHECK": "0",
        "IMGEDIT_RATE_LIMIT_PER_MINUTE": "0",
        "HF_HUB_OFFLINE": "1",
    }
    run = [sys.executable, "-c", "from cli.main import main; main()"]
    key = subprocess.run(
        [*run, "keys", "create", "--tenant", "bench"], env=env, capture_output=True, text=True, check=True
    )
    server = subprocess.Popen(
        [*run, "serve", "--port", str(args.port), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
        stderr=open("/tmp/bench_srv.log", "w"),
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        photo = photo_bytes()
        total = args.clients * args.edits_per_client
        wall, latencies, failures = asyncio.run(
            load(base, key.stdout.strip(), photo, args.clients, args.edits_per_client)
        )
        server_per_edit = wall / max(1, len(latencies))
    finally:
        server.terminate()
        server.wait(30)
    direct_wall, direct_seconds = direct_engine(photo, total, workers)
    direct_per_edit = direct_wall / total
    print(f"machine: {os.cpu_count()} CPU cores; classic slots: {workers}; image 512x512 PNG")
    print(f"clients: {args.clients}, edits: {total}, ok: {len(latencies)}, failed: {len(failures)}")
    print(f"latency median {statistics.median(latencies):.3f} s, p99 {percentile(latencies, 0.99):.3f} s")
    print(f"throughput: {len(latencies) / wall:.2f} edits/s via the server, {total / direct_wall:.2f} direct")
    print(
        f"engine direct (load+edit+encode): median {statistics.median(direct_seconds) * 1000:.1f} ms per edit"
    )
    overhead = server_per_edit / direct_per_edit - 1
    print(f"server overhead vs direct engine at the same parallelism: {overhead:+.1%} per edit")
    for failure in failures[:5]:
        print("failure:", failure)


if __name__ == "__main__":
    main()
