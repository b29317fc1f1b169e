"""Load on the service: 32 concurrent WebSocket clients running classic edits on a local server.

Each client keeps one WebSocket open and, in turn, uploads an edit (``POST /v1/edits``), waits for
the job's ``done`` frame and downloads the result. Three workloads, each reported on its own:

- ``trivial``: one 512x512 PNG and one-line global adjustments (~6 ms in the engine): the worst
  case for the service's overhead, since any HTTP service costs many times such an edit;
- ``realistic``: four real photographs at 1024x1024 as JPEG, and the classic edits people ask
  for: a theme ("复古风", "make it Valentine's themed"), a recolour, a global adjustment and a
  badge ("add a 'NEW' badge in the top right");
- ``large``: the same edits on the photographs at 2048x2048 (4 MP, a product photo's size).

Reported per workload, all from one run:

- latency (upload to result in hand, median and p99), throughput and failed requests;
- end to end: the server's time per edit against calling the engine directly (load -> edit ->
  encode, the same edits, as many worker processes as the server has classic slots), run before
  and after the load;
- server side, per job: ``engine_seconds`` (``Editor.edit``) and ``server_seconds`` (the rest of
  the job: claim, decode, progress events, encode, storage, the hand-over to the worker process)
  from each job's result, plus the request handling of the upload and the download from the
  server's Prometheus histograms (under load these times include waiting for the cores);
- CPU seconds per edit of the server process, of its worker processes, of this load generator
  (which shares the cores) and of the direct calls. The service's overhead against the engine
  (the issue's target: under 10 %) is read from these: the CPU per edit of the server and its
  workers against a direct call's, which leaves out the load generator; the wall-clock figure
  includes it, as it runs on the same cores.

    .venv/bin/python bench/server_load.py [--clients 32] [--edits-per-client 4]
        [--workload trivial realistic large] [--server-threads]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import websockets
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cluster.servers import free_port  # noqa: E402

INSTRUCTIONS = ["make it brighter", "increase contrast", "make it warmer", "降低饱和度"]
REALISTIC_INSTRUCTIONS = [
    "复古风",
    "make it Valentine's themed",
    "把红色换成蓝色",
    "make it brighter and warmer",
    "add a 'NEW' badge in the top right",
]
REALISTIC_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
#: Routes whose request handling is the server's work for every edit (Prometheus route labels).
EDIT_ROUTES = ("/v1/edits", "/v1/jobs/{job_id}/result")
#: The worker's steps outside ``Editor.edit``, as each edit job's ``result.timings`` names them.
PHASES = ("claim", "decode", "progress", "encode", "store", "dispatch")


@dataclass(frozen=True)
class Workload:
    """What the clients send: photos (encoded as uploaded) and instructions, taken in turn."""

    name: str
    photos: list[bytes]
    instructions: list[str]
    description: str

    def edit(self, index: int) -> tuple[bytes, str]:
        """The ``index``-th edit: photo and instruction cycle at different rates, so pairs vary."""
        return self.photos[index % len(self.photos)], self.instructions[index % len(self.instructions)]


def trivial_workload() -> Workload:
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, "PNG")
    return Workload("trivial", [buffer.getvalue()], INSTRUCTIONS, "one 512x512 PNG, global adjustments")


def photo_workload(name: str, side: int) -> Workload:
    """The realistic edits on the four photographs resized to ``side`` x ``side`` JPEGs."""
    from engine.samples import sample_photo

    photos = []
    for photo in REALISTIC_PHOTOS:
        buffer = io.BytesIO()
        sample_photo(photo).resize((side, side), Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=90)
        photos.append(buffer.getvalue())
    return Workload(
        name,
        photos,
        REALISTIC_INSTRUCTIONS,
        f"4 photos at {side}x{side} JPEG; themes, recolour, adjustment, badge",
    )


def realistic_workload() -> Workload:
    return photo_workload("realistic", 1024)


def large_workload() -> Workload:
    """Product-photo size (4 MP): the server's work per edit barely grows, the engine's 4x."""
    return photo_workload("large", 2048)


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


@dataclass
class Direct:
    """The engine called directly like the CLI does: per-edit phases, wall and CPU."""

    wall: float = 0.0
    cpu: float = 0.0
    count: int = 0
    phases: dict[str, list[float]] = field(
        default_factory=lambda: {"decode": [], "edit": [], "encode": [], "total": []}
    )


_DIRECT_EDITOR: list[Any] = []


def _direct_init() -> None:
    from engine import Editor
    from imgedit.config import Settings

    _DIRECT_EDITOR.append(Editor(engine="classic", settings=Settings(nsfw_check=False, engine="classic")))


def _direct_one(photo: bytes, instruction: str, seed: int) -> dict[str, float]:
    """One edit in a direct-call worker process: decode, ``Editor.edit``, encode; wall and CPU."""
    from engine.imageio import encode_image, load_image

    cpu = time.process_time()
    t0 = time.perf_counter()
    loaded = load_image(photo)
    t1 = time.perf_counter()
    result = _DIRECT_EDITOR[0].edit(image=loaded.image, prompt=instruction, seed=seed)
    t2 = time.perf_counter()
    encode_image(result.image, loaded.format)
    t3 = time.perf_counter()
    return {
        "decode": t1 - t0,
        "edit": t2 - t1,
        "encode": t3 - t2,
        "total": t3 - t0,
        "cpu": time.process_time() - cpu,
    }


def direct_engine(workload: Workload, count: int, workers: int, into: Direct) -> None:
    """``count`` edits of ``workload`` on ``workers`` processes (no GIL shared), into ``into``."""
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_direct_init) as pool:
        warm = [pool.submit(_direct_one, *workload.edit(i), i) for i in range(2 * workers)]
        for future in warm:
            future.result()
        started = time.perf_counter()
        futures = [pool.submit(_direct_one, *workload.edit(i), i) for i in range(count)]
        results = [future.result() for future in futures]
        into.wall += time.perf_counter() - started
    for phases in results:
        into.cpu += phases.pop("cpu")
        for name, seconds in phases.items():
            into.phases[name].append(seconds)
    into.count += count


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)


async def client(base: str, key: str, workload: Workload, index: int, edits: int, load: Load) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx.AsyncClient(base_url=base, headers=headers, timeout=300) as http,
        websockets.connect(base.replace("http", "ws") + f"/v1/ws?token={key}", max_size=2**20) as ws,
    ):
        assert json.loads(await ws.recv())["type"] == "ready"
        for n in range(edits):
            started = time.perf_counter()
            seed = index * 1000 + n  # distinct requests: no answer from the result cache
            photo, instruction = workload.edit(index * edits + n)
            form = {"instruction": instruction, "seed": str(seed)}
            response = await http.post("/v1/edits", files={"file": ("upload", photo)}, data=form)
            if response.status_code != 202:
                load.failures.append(f"submit {response.status_code}: {response.text[:200]}")
                continue
            job_id = response.json()["job_id"]
            # Events go only to sockets that follow the job; subscribing answers its state at once.
            await ws.send(json.dumps({"type": "subscribe", "job_id": job_id}))
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


async def run_load(base: str, key: str, workload: Workload, clients: int, edits: int) -> Load:
    load = Load()
    await asyncio.gather(*(client(base, key, workload, i, edits, load) for i in range(clients)))
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


def server_env(home: Path, *, worker_processes: bool = True) -> tuple[dict[str, str], str]:
    """The environment of a benchmark's ``imgedit serve`` (classic engine, no NSFW check, no rate
    limit, data in ``home``) and an API key created in it."""
    env = {
        **os.environ,
        "IMGEDIT_HOME": str(home),
        "IMGEDIT_ENGINE": "classic",
        "IMGEDIT_NSFW_CHECK": "0",
        "IMGEDIT_RATE_LIMIT_PER_MINUTE": "0",
        "IMGEDIT_CLASSIC_PROCESSES": "1" if worker_processes else "0",
        "HF_HUB_OFFLINE": "1",
    }
    created = subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", "keys", "create", "--tenant", "bench"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return env, created.stdout.strip()


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
    cpu: dict[str, float]  # server / workers / client / other CPU seconds during the phase

    def median(self, name: str) -> float:
        return statistics.median([t.get(name, 0.0) for t in self.timings])

    def server_per_job(self) -> float:
        """The server's time outside ``Editor.edit`` for one edit: worker steps + its two requests."""
        return self.median("server_seconds") + sum(self.requests.values())


def tree_cpu(server: psutil.Process) -> dict[int, float]:
    """CPU seconds (user + system) of the server and each of its descendants, by process id."""
    seconds = {}
    for process in [server, *server.children(recursive=True)]:
        try:
            seconds[process.pid] = sum(process.cpu_times()[:2])
        except psutil.NoSuchProcess:
            continue
    return seconds


def measure(
    base: str, key: str, workload: Workload, clients: int, edits: int, server: psutil.Process
) -> Phase:
    before = request_seconds(base)
    tree, machine_cpu = tree_cpu(server), busy_cpu()
    client_cpu, started = process_cpu(), time.perf_counter()
    load = asyncio.run(run_load(base, key, workload, clients, edits))
    wall = time.perf_counter() - started
    client_cpu = process_cpu() - client_cpu
    after_tree = tree_cpu(server)
    machine_cpu = busy_cpu() - machine_cpu
    server_cpu = after_tree[server.pid] - tree[server.pid]
    workers_cpu = sum(cpu - tree.get(pid, 0.0) for pid, cpu in after_tree.items() if pid != server.pid)
    after = request_seconds(base)
    requests = {}
    for route in EDIT_ROUTES:
        seconds = after.get(route, (0.0, 0.0))[0] - before.get(route, (0.0, 0.0))[0]
        count = after.get(route, (0.0, 0.0))[1] - before.get(route, (0.0, 0.0))[1]
        requests[route] = seconds / count if count else 0.0
    cpu = {
        "server": server_cpu,
        "workers": workers_cpu,
        "client": client_cpu,
        "other": machine_cpu - server_cpu - workers_cpu - client_cpu,
    }
    return Phase(wall, load, job_timings(base, key, load.job_ids), requests, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--edits-per-client", type=int, default=4)
    parser.add_argument("--solo-edits", type=int, default=16, help="edits by one client alone, first")
    parser.add_argument(
        "--workload",
        nargs="+",
        choices=("trivial", "realistic", "large"),
        default=["trivial", "realistic", "large"],
    )
    parser.add_argument(
        "--server-threads",
        action="store_true",
        help="run classic edits in the server's threads (IMGEDIT_CLASSIC_PROCESSES=0), as before",
    )
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args()
    workers = os.cpu_count() or 1
    home = Path(tempfile.mkdtemp(prefix="imgedit-bench-"))
    env, key = server_env(home, worker_processes=not args.server_threads)
    makers = {"trivial": trivial_workload, "realistic": realistic_workload, "large": large_workload}
    workloads = [makers[name]() for name in args.workload]
    total = args.clients * args.edits_per_client
    direct = {w.name: Direct() for w in workloads}
    for workload in workloads:
        direct_engine(workload, total, workers, direct[workload.name])  # before the load ...

    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, port, home / "server.log")
    phases: dict[str, tuple[Phase | None, Phase]] = {}
    try:
        process = psutil.Process(server.pid)
        for workload in workloads:
            # Warm-up, not measured: the first edits start the worker processes and parse each
            # instruction for the first time.
            asyncio.run(run_load(base, key, workload, 1, len(workload.instructions)))
            solo = measure(base, key, workload, 1, args.solo_edits, process) if args.solo_edits else None
            loaded = measure(base, key, workload, args.clients, args.edits_per_client, process)
            phases[workload.name] = (solo, loaded)
    finally:
        server.terminate()
        server.wait(30)
    for workload in workloads:
        direct_engine(workload, total, workers, direct[workload.name])  # ... and after

    where = "threads in the server process" if args.server_threads else "worker processes"
    print(f"machine: {os.cpu_count()} CPU cores; classic slots: {workers}, in {where}")
    for workload in workloads:
        solo, loaded = phases[workload.name]
        print(f"\n######## workload '{workload.name}': {workload.description}")
        if solo is not None:
            print(f"\n== one client alone, {args.solo_edits} edits one after another (no contention) ==")
            report_server_side(solo)
        print(f"\n== {args.clients} clients x {args.edits_per_client} edits ==")
        report_load(loaded, direct[workload.name], total)
        report_server_side(loaded)
        print(
            f"\ndirect call medians (no server; {workers} processes): "
            + ", ".join(
                f"{name} {median_ms(values)}" for name, values in direct[workload.name].phases.items()
            )
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
    server_cpu, workers_cpu = phase.cpu["server"] * per_edit, phase.cpu["workers"] * per_edit
    print(
        f"  CPU per edit: server process {server_cpu:.1f} ms + its worker processes {workers_cpu:.1f} ms "
        f"= {server_cpu + workers_cpu:.1f} ms, direct {direct_cpu:.1f} ms "
        f"({(server_cpu + workers_cpu) / direct_cpu - 1:+.1%}); "
        f"load generator {phase.cpu['client'] * per_edit:.1f} ms; "
        f"other processes {phase.cpu['other'] * per_edit:.1f} ms"
    )
    alone, together = server_cpu / direct_cpu, (server_cpu + workers_cpu) / direct_cpu - 1
    print(
        f"  overhead (target < 10 %): the server process alone {alone:.1%} of a direct call's CPU; "
        f"server + workers against a direct call {together:+.1%}"
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
        f"  overhead / engine time, less the decode + encode a direct call does too: "
        f"{(server - codec) / engine:.0%}"
    )
    print(
        f"  overhead / direct call (load + edit + encode), i.e. less the decode + encode: "
        f"{(server - codec) / (engine + codec):.0%}"
    )


if __name__ == "__main__":
    main()
