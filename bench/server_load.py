"""Load on the service: 32 concurrent WebSocket clients running classic edits on a local server.

Each client keeps one WebSocket open and, in turn, uploads an edit (``POST /v1/edits``), waits for
the job's ``done`` frame and downloads the result. Reported, all from one run:

- latency (upload to result in hand, median and p99), throughput and failed requests;
- end to end: the server's time per edit against calling the engine directly (load -> edit ->
  encode, on as many threads as the server has classic slots), run before and after the load;
- server side, per job: ``engine_seconds`` (``Editor.edit``) and ``server_seconds`` (the rest of
  the worker's time: claim, decode, progress events, encode, storage) from each job's result,
  plus the request handling of the upload and the download from the server's Prometheus
  histograms; their ratio to the median engine time is the issue's target (under 10 %);
- CPU seconds per edit of the server process, of this load generator (which shares the cores),
  and of the direct calls, so a reader sees how much of the end-to-end gap is the client's.

    .venv/bin/python bench/server_load.py [--clients 32] [--edits-per-client 4]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import websockets
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INSTRUCTIONS = ["make it brighter", "increase contrast", "make it warmer", "降低饱和度"]
#: Routes whose request handling is the server's work for every edit (Prometheus route labels).
EDIT_ROUTES = ("/v1/edits", "/v1/jobs/{job_id}/result")
#: The worker's steps outside ``Editor.edit``, as each edit job's ``result.timings`` names them.
PHASES = ("claim", "decode", "progress", "encode", "store")


def photo_bytes() -> bytes:
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, "PNG")
    return buffer.getvalue()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms" if values else "n/a"


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def busy_cpu() -> float:
    """CPU seconds every process on the machine has used (to see other work sharing the cores)."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Direct:
    """The engine called in-process like the CLI does: per-edit phases, wall and CPU."""

    wall: float = 0.0
    cpu: float = 0.0
    count: int = 0
    phases: dict[str, list[float]] = field(
        default_factory=lambda: {"decode": [], "edit": [], "encode": [], "total": []}
    )


def direct_engine(photo: bytes, count: int, workers: int, into: Direct) -> None:
    """``count`` edits, ``workers`` at a time, accumulated into ``into``."""
    from engine import Editor
    from engine.imageio import encode_image, load_image
    from imgedit.config import Settings

    editor = Editor(engine="classic", settings=Settings(nsfw_check=False, engine="classic"))

    def one(index: int) -> dict[str, float]:
        t0 = time.perf_counter()
        loaded = load_image(photo)
        t1 = time.perf_counter()
        result = editor.edit(image=loaded.image, prompt=INSTRUCTIONS[index % len(INSTRUCTIONS)], seed=index)
        t2 = time.perf_counter()
        encode_image(result.image, loaded.format)
        t3 = time.perf_counter()
        return {"decode": t1 - t0, "edit": t2 - t1, "encode": t3 - t2, "total": t3 - t0}

    one(0)  # warm up
    cpu, started = process_cpu(), time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for phases in pool.map(one, range(count)):
            for name, seconds in phases.items():
                into.phases[name].append(seconds)
    into.wall += time.perf_counter() - started
    into.cpu += process_cpu() - cpu
    into.count += count


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)


async def client(base: str, key: str, photo: bytes, index: int, edits: int, load: Load) -> None:
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
                load.failures.append(f"submit {response.status_code}: {response.text[:200]}")
                continue
            job_id = response.json()["job_id"]
            while True:
                frame = json.loads(await ws.recv())
                finished = frame["type"] == "job" and frame["status"] in ("done", "failed", "cancelled")
                if frame.get("job_id") == job_id and finished:
                    break
            if frame["status"] != "done":
                load.failures.append(f"job {frame['status']}: {frame.get('error')}")
                continue
            result = await http.get(frame["result_url"])
            if result.status_code != 200:
                load.failures.append(f"result {result.status_code}")
                continue
            load.latencies.append(time.perf_counter() - started)
            load.job_ids.append(job_id)


async def run_load(base: str, key: str, photo: bytes, clients: int, edits: int) -> Load:
    load = Load()
    await asyncio.gather(*(client(base, key, photo, i, edits, load) for i in range(clients)))
    return load


def request_seconds(base: str) -> dict[str, tuple[float, float]]:
    """``{route: (sum of seconds, count)}`` of the server's request-latency histogram."""
    totals: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(httpx.get(f"{base}/metrics").text):
        if family.name != "imgedit_http_request_seconds":
            continue
        for sample in family.samples:
            route = sample.labels.get("route", "")
            if sample.name.endswith("_sum"):
                totals.setdefault(route, [0.0, 0.0])[0] = sample.value
            elif sample.name.endswith("_count"):
                totals.setdefault(route, [0.0, 0.0])[1] = sample.value
    return {route: (pair[0], pair[1]) for route, pair in totals.items()}


def job_timings(base: str, key: str, job_ids: list[str]) -> list[dict[str, float]]:
    """Each job's ``result.timings`` (fetched after the load, so not part of it)."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        return [http.get(f"/v1/jobs/{job_id}").json()["result"]["timings"] for job_id in job_ids]


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    run = [sys.executable, "-c", "from cli.main import main; main()"]
    with log.open("wb") as handle:
        server = subprocess.Popen(
            [*run, "serve", "--port", str(port), "--log-level", "warning"], env=env, cwd=ROOT, stderr=handle
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"the server did not start:\n{log.read_text()[-2000:]}")


@dataclass
class Phase:
    """One stretch of traffic against the server, with what the server recorded about it."""

    wall: float
    load: Load
    timings: list[dict[str, float]]
    requests: dict[str, float]  # route -> mean seconds per request (server side)
    cpu: dict[str, float]  # server / client / other CPU seconds during the phase

    def median(self, name: str) -> float:
        return statistics.median([t.get(name, 0.0) for t in self.timings])

    def server_per_job(self) -> float:
        """The server's time outside ``Editor.edit`` for one edit: worker steps + its two requests."""
        return self.median("server_seconds") + sum(self.requests.values())


def measure(base: str, key: str, photo: bytes, clients: int, edits: int, server: psutil.Process) -> Phase:
    before = request_seconds(base)
    server_cpu, machine_cpu = sum(server.cpu_times()[:2]), busy_cpu()
    client_cpu, started = process_cpu(), time.perf_counter()
    load = asyncio.run(run_load(base, key, photo, clients, edits))
    wall = time.perf_counter() - started
    client_cpu = process_cpu() - client_cpu
    server_cpu = sum(server.cpu_times()[:2]) - server_cpu
    machine_cpu = busy_cpu() - machine_cpu
    after = request_seconds(base)
    requests = {}
    for route in EDIT_ROUTES:
        seconds = after.get(route, (0.0, 0.0))[0] - before.get(route, (0.0, 0.0))[0]
        count = after.get(route, (0.0, 0.0))[1] - before.get(route, (0.0, 0.0))[1]
        requests[route] = seconds / count if count else 0.0
    cpu = {"server": server_cpu, "client": client_cpu, "other": machine_cpu - server_cpu - client_cpu}
    return Phase(wall, load, job_timings(base, key, load.job_ids), requests, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--edits-per-client", type=int, default=4)
    parser.add_argument("--solo-edits", type=int, default=16, help="edits by one client alone, first")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
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
    created = subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", "keys", "create", "--tenant", "bench"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = created.stdout.strip()
    photo = photo_bytes()
    total = args.clients * args.edits_per_client
    direct = Direct()
    direct_engine(photo, total, workers, direct)  # before the load ...

    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, port, home / "server.log")
    try:
        process = psutil.Process(server.pid)
        solo = measure(base, key, photo, 1, args.solo_edits, process) if args.solo_edits else None
        loaded = measure(base, key, photo, args.clients, args.edits_per_client, process)
    finally:
        server.terminate()
        server.wait(30)
    direct_engine(photo, total, workers, direct)  # ... and after, so both see the same machine

    print(f"machine: {os.cpu_count()} CPU cores; classic slots: {workers}; image 512x512 PNG")
    if solo is not None:
        print(f"\n== one client alone, {args.solo_edits} edits one after another (no contention) ==")
        report_server_side(solo)
    print(f"\n== {args.clients} clients x {args.edits_per_client} edits ==")
    report_load(loaded, direct, total)
    report_server_side(loaded)
    print(
        "\ndirect call medians (no server; 2 threads): "
        + ", ".join(f"{name} {median_ms(values)}" for name, values in direct.phases.items())
    )


def report_load(phase: Phase, direct: Direct, total: int) -> None:
    ok = len(phase.load.latencies)
    per_edit = 1000 / max(1, ok)
    print(f"edits: {total}, ok: {ok}, failed: {len(phase.load.failures)}")
    for failure in phase.load.failures[:5]:
        print("  failure:", failure)
    median, p99 = statistics.median(phase.load.latencies), percentile(phase.load.latencies, 0.99)
    print(f"latency (upload to result in hand): median {median:.3f} s, p99 {p99:.3f} s")
    print(
        "end to end at the same parallelism (direct = load -> Editor.edit -> encode, run before and after):"
    )
    server_per_edit, direct_per_edit = phase.wall / max(1, ok), direct.wall / direct.count
    print(
        f"  throughput: {ok / phase.wall:.2f} edits/s via the server, {direct.count / direct.wall:.2f} direct"
    )
    print(
        f"  wall per edit: server {server_per_edit * 1000:.1f} ms, direct {direct_per_edit * 1000:.1f} ms "
        f"({server_per_edit / direct_per_edit - 1:+.1%})"
    )
    direct_cpu = direct.cpu / direct.count * 1000
    server_cpu = phase.cpu["server"] * per_edit
    print(
        f"  CPU per edit: server process {server_cpu:.1f} ms, direct {direct_cpu:.1f} ms "
        f"({server_cpu / direct_cpu - 1:+.1%}); load generator {phase.cpu['client'] * per_edit:.1f} ms; "
        f"other processes {phase.cpu['other'] * per_edit:.1f} ms"
    )


def report_server_side(phase: Phase) -> None:
    print("server side, per job (medians of the jobs' result timings, wall time):")
    print("  worker: " + ", ".join(f"{name} {phase.median(name) * 1000:.1f} ms" for name in PHASES))
    print(
        "  requests (mean, from /metrics): "
        + ", ".join(f"{route} {seconds * 1000:.1f} ms" for route, seconds in phase.requests.items())
    )
    engine, worker, server = (
        phase.median("engine_seconds"),
        phase.median("server_seconds"),
        phase.server_per_job(),
    )
    codec = phase.median("decode") + phase.median("encode")
    print(
        f"  engine_seconds (Editor.edit) {engine * 1000:.1f} ms; server_seconds (worker, outside it) "
        f"{worker * 1000:.1f} ms; with the requests {server * 1000:.1f} ms"
    )
    print(f"  overhead / engine time, everything outside Editor.edit: {server / engine:.0%}")
    print(
        f"  overhead / direct call (load + edit + encode), i.e. less the decode + encode a direct call "
        f"does too: {(server - codec) / (engine + codec):.0%}"
    )


if __name__ == "__main__":
    main()
