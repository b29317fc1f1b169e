"""Scale-out: the 32-client load of bench/server_load.py on the embedded queue and on Celery workers.

One run, four configurations, each one API node (``imgedit serve``) on the same PostgreSQL and S3
(SeaweedFS) servers, so that only the queue differs:

- ``embedded``: the node runs the jobs itself (``IMGEDIT_QUEUE=local``) on 1, then 2 classic slots;
- ``celery``: the node enqueues over Redis (``IMGEDIT_QUEUE=celery``) and 1, then 2
  ``imgedit worker --pool cpu --concurrency 1`` processes run the jobs.

Each configuration is started through cluster/ (as ``make cluster`` starts it) and warmed up.
The embedded and the Celery configuration with the same number of workers run side by side and
are measured in alternation, ``--rounds`` times each, so that the noise of a shared machine falls
on both alike: one client alone (``--solo-edits`` edits one after another: the latency of an edit
without queueing, where the broker's cost shows), then ``--clients`` clients at once with the
clients of bench/server_load.py (throughput, median and p99 latency under load). Latencies are
pooled over the rounds. Reported: failed
requests, throughput, latency, the API node's CPU seconds per edit (its process alone) and the
workers' (the node's edit worker processes when embedded, the Celery workers and theirs
otherwise), and the broker path's added latency: Celery's median minus the embedded median at
the same number of workers (target: at most 15 ms). With ``--listening-node`` the Celery
configuration has a second API node that serves no client: its CPU per edit is what every
further node pays to hear the events of jobs it does not serve.

    .venv/bin/python bench/scaleout.py [--clients 32] [--edits-per-client 4] [--solo-edits 12] [--rounds 3]
        [--workers 1 2] [--workload trivial realistic] [--queue embedded celery] [--listening-node]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.server_load import (  # noqa: E402
    Load,
    Workload,
    busy_cpu,
    percentile,
    process_cpu,
    realistic_workload,
    run_load,
    trivial_workload,
)
from cluster.servers import PostgresServer, S3Server  # noqa: E402
from cluster.topology import Cluster, Topology  # noqa: E402

SETTINGS = {
    "IMGEDIT_ENGINE": "classic",
    "IMGEDIT_NSFW_CHECK": "0",
    "IMGEDIT_RATE_LIMIT_PER_MINUTE": "0",
    "IMGEDIT_METRICS_AUTH": "off",
}
WORKLOADS = {"trivial": trivial_workload, "realistic": realistic_workload}


@dataclass
class Phase:
    """One stretch of traffic: what the clients saw and the CPU the service spent on it."""

    load: Load
    wall: float
    api_cpu: float
    workers_cpu: float
    client_cpu: float
    machine_cpu: float
    #: CPU of the API nodes that serve no client (``--listening-node``).
    listener_cpu: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.load.latencies)

    def median(self) -> float:
        return statistics.median(self.load.latencies)

    def mean(self) -> float:
        """With every client waiting for its edit before the next, the mean latency is set by the
        throughput (clients / throughput, Little's law); the median also by the order of service."""
        return statistics.mean(self.load.latencies)

    def per_edit_ms(self, seconds: float) -> float:
        return seconds / max(1, self.ok) * 1000

    def __add__(self, other: Phase) -> Phase:
        """Two rounds pooled: their latencies and failures together, their times summed."""
        load = Load(
            self.load.latencies + other.load.latencies,
            self.load.failures + other.load.failures,
            self.load.job_ids + other.load.job_ids,
        )
        return Phase(
            load,
            self.wall + other.wall,
            self.api_cpu + other.api_cpu,
            self.workers_cpu + other.workers_cpu,
            self.client_cpu + other.client_cpu,
            self.machine_cpu + other.machine_cpu,
            self.listener_cpu + other.listener_cpu,
        )


@dataclass
class Measured:
    queue: str
    workers: int
    workload: str
    solo: Phase
    loaded: Phase


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """CPU seconds (user + system) of ``processes`` and all their descendants."""
    total = 0.0
    for root in processes:
        for process in [root, *root.children(recursive=True)]:
            try:
                total += sum(process.cpu_times()[:2])
            except psutil.NoSuchProcess:
                continue
    return total


def measure(
    base: str,
    key: str,
    workload: Workload,
    clients: int,
    edits: int,
    api: psutil.Process,
    workers: list[psutil.Process],
    listeners: list[psutil.Process],
) -> Phase:
    """``clients`` x ``edits`` edits; the API node's own CPU, and its children's with the workers'."""
    api_before, workers_before = sum(api.cpu_times()[:2]), cpu_seconds(workers)
    listeners_before = cpu_seconds(listeners)
    tree_before = cpu_seconds([api])
    client_before, machine_before, started = process_cpu(), busy_cpu(), time.perf_counter()
    load = asyncio.run(run_load(base, key, workload, clients, edits))
    wall = time.perf_counter() - started
    api_cpu = sum(api.cpu_times()[:2]) - api_before
    # Embedded, the node's children (its edit worker processes) are its workers.
    children_cpu = (cpu_seconds([api]) - tree_before) - api_cpu
    return Phase(
        load=load,
        wall=wall,
        api_cpu=api_cpu,
        workers_cpu=cpu_seconds(workers) - workers_before + children_cpu,
        client_cpu=process_cpu() - client_before,
        machine_cpu=busy_cpu() - machine_before,
        listener_cpu=cpu_seconds(listeners) - listeners_before,
    )


@dataclass
class Target:
    """One configuration, started: its API node and, with Celery, its worker processes."""

    queue: str
    workers: int
    url: str
    key: str
    api: psutil.Process
    worker_processes: list[psutil.Process]
    #: API nodes that serve no client (Celery with ``--listening-node``).
    listeners: list[psutil.Process]

    def measure(self, workload: Workload, clients: int, edits: int) -> Phase:
        return measure(
            self.url, self.key, workload, clients, edits, self.api, self.worker_processes, self.listeners
        )


def start(
    queue: str, workers: int, postgres: PostgresServer, s3: S3Server, root: Path, listening: bool = False
) -> tuple[Cluster, Target]:
    settings = dict(SETTINGS)
    if queue == "embedded":
        settings |= {"IMGEDIT_QUEUE": "local", "IMGEDIT_CLASSIC_WORKERS": str(workers)}
        topology = Topology(api_nodes=1, cpu_workers=0, settings=settings)
    else:
        nodes = 2 if listening else 1
        topology = Topology(api_nodes=nodes, cpu_workers=workers, concurrency=1, settings=settings)
    cluster = Cluster(root / f"{queue}-{workers}", topology, postgres=postgres, s3=s3, tenants=("bench",))
    cluster.start()
    node, key = cluster.api[0], cluster.keys["bench"]
    processes = [psutil.Process(w.pid) for w in cluster.workers]
    listeners = [psutil.Process(n.pid) for n in cluster.api[1:]]
    return cluster, Target(queue, workers, node.url, key, psutil.Process(node.pid), processes, listeners)


def compare(
    workers: int,
    workloads: list[Workload],
    args: argparse.Namespace,
    postgres: PostgresServer,
    s3: S3Server,
    root: Path,
) -> list[Measured]:
    """Embedded and Celery with ``workers`` workers, side by side, measured in alternation."""
    clusters: list[Cluster] = []
    try:
        targets = []
        for queue in args.queue:
            cluster, target = start(queue, workers, postgres, s3, root, args.listening_node)
            clusters.append(cluster)
            targets.append(target)
        results = []
        for workload in workloads:
            for target in targets:
                # Warm-up, not measured: edit processes start, each instruction is parsed once.
                asyncio.run(run_load(target.url, target.key, workload, 2, len(workload.instructions)))
            solo: dict[str, Phase] = {}
            loaded: dict[str, Phase] = {}
            for _ in range(args.rounds):
                for target in targets:
                    phase = target.measure(workload, 1, args.solo_edits)
                    solo[target.queue] = solo[target.queue] + phase if target.queue in solo else phase
                for target in targets:
                    phase = target.measure(workload, args.clients, args.edits_per_client)
                    loaded[target.queue] = loaded[target.queue] + phase if target.queue in loaded else phase
            for target in targets:
                pooled = loaded[target.queue]
                results.append(Measured(target.queue, workers, workload.name, solo[target.queue], pooled))
                print(
                    f"  {target.queue} x{workers} {workload.name}: {pooled.ok} ok, "
                    f"{len(pooled.load.failures)} failed, {pooled.ok / pooled.wall:.1f} edits/s",
                    file=sys.stderr,
                )
        return results
    finally:
        for cluster in clusters:
            cluster.stop()


def report(results: list[Measured], args: argparse.Namespace) -> None:
    print(f"machine: {os.cpu_count()} CPU cores; one API node, PostgreSQL + SeaweedFS, in each")
    print(
        f"{args.rounds} rounds, alternating, pooled; each round: {args.solo_edits} edits by one client, "
        f"then {args.clients} clients x {args.edits_per_client} edits"
    )
    for workload in dict.fromkeys(r.workload for r in results):
        rows = [r for r in results if r.workload == workload]
        print(f"\n## workload '{workload}'")
        print(
            "| queue | workers | ok / failed | throughput | median | mean | p99 | solo median | "
            "API node CPU / edit | workers CPU / edit |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in rows:
            p = r.loaded
            failed = len(p.load.failures) + len(r.solo.load.failures)
            print(
                f"| {r.queue} | {r.workers} | {p.ok} / {failed} | {p.ok / p.wall:.1f} edits/s "
                f"| {p.median() * 1000:.0f} ms | {p.mean() * 1000:.0f} ms "
                f"| {percentile(p.load.latencies, 0.99) * 1000:.0f} ms "
                f"| {r.solo.median() * 1000:.1f} ms | {p.per_edit_ms(p.api_cpu):.1f} ms "
                f"| {p.per_edit_ms(p.workers_cpu):.1f} ms |"
            )
        for failure in [f for r in rows for f in (*r.solo.load.failures, *r.loaded.load.failures)][:5]:
            print("  failure:", failure)
        print("\nbroker path (celery against embedded, same workers; target: median + at most 15 ms):")
        for workers in sorted({r.workers for r in rows}):
            pair = {r.queue: r for r in rows if r.workers == workers}
            if set(pair) != {"embedded", "celery"}:
                continue
            embedded, celery = pair["embedded"], pair["celery"]
            solo = (celery.solo.median() - embedded.solo.median()) * 1000
            loaded = (celery.loaded.median() - embedded.loaded.median()) * 1000
            mean = (celery.loaded.mean() - embedded.loaded.mean()) * 1000
            ratio = (celery.loaded.ok / celery.loaded.wall) / (embedded.loaded.ok / embedded.loaded.wall)
            cpu = celery.loaded.per_edit_ms(celery.loaded.api_cpu) / max(
                1e-9, embedded.loaded.per_edit_ms(embedded.loaded.api_cpu)
            )
            print(
                f"  {workers} worker(s): solo median {solo:+.1f} ms; loaded median {loaded:+.0f} ms, "
                f"mean {mean:+.0f} ms; "
                f"throughput x{ratio:.2f}; API node CPU per edit x{cpu:.2f}"
            )
            if args.listening_node:
                listener = celery.loaded.per_edit_ms(celery.loaded.listener_cpu)
                print(f"    a second API node serving no client: {listener:.2f} ms CPU per edit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--edits-per-client", type=int, default=4)
    parser.add_argument("--solo-edits", type=int, default=12, help="per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two configurations")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workload", nargs="+", choices=sorted(WORKLOADS), default=["trivial"])
    parser.add_argument("--queue", nargs="+", choices=("embedded", "celery"), default=["embedded", "celery"])
    parser.add_argument(
        "--listening-node",
        action="store_true",
        help="Celery: a second API node, serving no client, whose CPU is measured",
    )
    args = parser.parse_args()
    workloads = [WORKLOADS[name]() for name in args.workload]
    root = Path(tempfile.mkdtemp(prefix="imgedit-scaleout-"))
    postgres = PostgresServer.start()
    s3 = S3Server.start(root / "seaweedfs")
    results: list[Measured] = []
    try:
        for workers in args.workers:
            print(f"{' and '.join(args.queue)} with {workers} worker(s) ...", file=sys.stderr)
            results += compare(workers, workloads, args, postgres, s3, root)
    finally:
        postgres.stop()
        s3.stop()
    report(results, args)


if __name__ == "__main__":
    main()
