"""What each kind of request costs the server's CPU, one request at a time (no contention).

``bench/server_load.py`` measures the server's CPU per edit under load; this says where that
fixed cost goes. It starts ``imgedit serve`` (classic engine, worker processes), sends each kind
of request one after another from one client, and reads the CPU time (user and system) of the
server's event-loop thread and of its other threads from ``/proc`` before and after each batch:

- ``GET /healthz``, ``GET /v1/jobs/{id}``, the result download (a 1 MP JPEG);
- ``POST /v1/edits`` answered by the result cache (the upload's parse, checks, storage and the
  job row, without the engine), with the 1 MP JPEG and with a 64x64 one;
- a WebSocket ``subscribe`` to a finished job (the frame in, the job's state out);
- a whole edit as ``bench/server_load.py``'s clients make it: upload, ``subscribe``, the ``done``
  frame, download ("make it brighter", distinct seeds, so the engine runs every time); its
  "other threads" are the scheduler's slot threads, which hand the job to a worker process.

Linux only (``/proc``). Worker processes' CPU is not counted: they do the engine's work.

    .venv/bin/python bench/server_requests.py [--repeat 300]
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image
from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.server_load import free_port, realistic_workload, server_env, start_server  # noqa: E402

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ThreadCpu:
    """CPU milliseconds of the event-loop thread and of all other threads of the server."""

    loop_user: float
    loop_system: float
    others_user: float
    others_system: float

    def __sub__(self, other: ThreadCpu) -> ThreadCpu:
        return ThreadCpu(
            self.loop_user - other.loop_user,
            self.loop_system - other.loop_system,
            self.others_user - other.others_user,
            self.others_system - other.others_system,
        )


def thread_cpu(pid: int) -> ThreadCpu:
    """The server's threads' CPU from ``/proc/<pid>/task/*/stat`` (utime, stime: fields 14, 15)."""
    loop_user = loop_system = others_user = others_system = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        user, system = int(fields[11]) * TICK_MS, int(fields[12]) * TICK_MS
        if int(task.name) == pid:  # the main thread runs uvicorn's event loop
            loop_user, loop_system = user, system
        else:
            others_user, others_system = others_user + user, others_system + system
    return ThreadCpu(loop_user, loop_system, others_user, others_system)


def measure(name: str, pid: int, request: Callable[[], None], repeat: int) -> None:
    for _ in range(min(20, repeat)):  # warm caches, imports and connections first
        request()
    before, started = thread_cpu(pid), time.perf_counter()
    for _ in range(repeat):
        request()
    used, wall = thread_cpu(pid) - before, time.perf_counter() - started
    print(
        f"| {name} | {used.loop_user / repeat:.2f} / {used.loop_system / repeat:.2f} "
        f"| {used.others_user / repeat:.2f} / {used.others_system / repeat:.2f} "
        f"| {wall / repeat * 1000:.2f} |"
    )


def wait_done(ws: ClientConnection, job_id: str) -> dict[str, object]:
    while True:
        frame = json.loads(ws.recv(timeout=60))
        if frame.get("job_id") == job_id and frame.get("type") == "job" and frame["status"] == "done":
            return dict(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=300, help="requests of each kind")
    args = parser.parse_args()
    repeat = args.repeat
    photo = realistic_workload().photos[1]
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(buffer, "JPEG")
    small = buffer.getvalue()

    home = Path(tempfile.mkdtemp(prefix="imgedit-bench-"))
    env, key = server_env(home)
    port = free_port()
    server = start_server(env, port, home / "server.log")
    pid = server.pid
    seeds = itertools.count(1000)
    try:
        with (
            httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}
            ) as http,
            connect(f"ws://127.0.0.1:{port}/v1/ws?token={key}", max_size=2**20) as ws,
        ):
            assert json.loads(ws.recv())["type"] == "ready"

            def upload(data: bytes, seed: int) -> str:
                form = {"instruction": "make it brighter", "seed": str(seed)}
                response = http.post("/v1/edits", files={"file": ("upload.jpg", data)}, data=form)
                response.raise_for_status()
                return str(response.json()["job_id"])

            def subscribe(job_id: str) -> dict[str, object]:
                ws.send(json.dumps({"type": "subscribe", "job_id": job_id}))
                return wait_done(ws, job_id)

            job_id = upload(photo, 1)
            subscribe(job_id)
            subscribe(upload(small, 1))

            def get(path: str) -> Callable[[], None]:
                return lambda: http.get(path).raise_for_status() and None

            def whole_edit() -> None:
                frame = subscribe(upload(photo, next(seeds)))
                http.get(str(frame["result_url"])).raise_for_status()

            print(f"machine: {os.cpu_count()} CPU cores; {repeat} requests of each kind, one at a time")
            print("| request | event loop, user / system ms | other threads, user / system ms | wall ms |")
            print("|---|---|---|---|")
            measure("GET /healthz", pid, get("/healthz"), repeat)
            measure("GET /v1/jobs/{id}", pid, get(f"/v1/jobs/{job_id}"), repeat)
            measure("GET result (1 MP JPEG)", pid, get(f"/v1/jobs/{job_id}/result"), repeat)
            measure("POST /v1/edits, cached (1 MP JPEG)", pid, lambda: upload(photo, 1) and None, repeat)
            measure("POST /v1/edits, cached (64x64)", pid, lambda: upload(small, 1) and None, repeat)
            measure("WebSocket subscribe (finished job)", pid, lambda: subscribe(job_id) and None, repeat)
            measure("whole edit (upload, frames, download)", pid, whole_edit, max(20, repeat // 2))
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
