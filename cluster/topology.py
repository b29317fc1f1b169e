"""The distributed service on one machine: Redis, PostgreSQL, SeaweedFS, N API nodes and M workers.

``Cluster`` is what ``make cluster`` (``python -m cluster up``), the scenario tests
(tests/test_cluster.py) and the scale-out benchmark (bench/scaleout.py) start::

    with Cluster(tmp, Topology(api_nodes=2, cpu_workers=2), tenants=("acme",)) as cluster:
        key = cluster.keys["acme"]
        httpx.post(f"{cluster.api[0].url}/v1/edits", ...)

Every imgedit process gets the same ``IMGEDIT_DATABASE_URL``, ``IMGEDIT_BLOB_URL`` and
``IMGEDIT_BROKER_URL`` with ``IMGEDIT_QUEUE=celery``, and its own empty ``IMGEDIT_HOME`` (nothing
is written there with PostgreSQL and S3: a node can be replaced anywhere). The database is
migrated with ``imgedit db upgrade`` and keys are made with ``imgedit keys create``, the commands
an operator runs. PostgreSQL and S3 may be given (the tests share theirs with the other service
tests); Redis is always the cluster's own, since the scenarios restart it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cluster.processes import ApiNode, ImgeditProcess, Worker, checkout_env, imgedit_command, stop_group
from cluster.servers import (
    WEED_GRACE,
    PostgresServer,
    RedisServer,
    S3Server,
    free_ports,
    running,
    started_at,
    stop_pid,
)

#: The state file ``python -m cluster down`` and ``status`` read, in the cluster's folder.
STATE_FILE = "cluster.json"


@dataclass(frozen=True)
class Topology:
    """How many of each process, and settings every imgedit process gets on top of the
    cluster's own (for instance ``IMGEDIT_ENGINE`` or the tests' ``IMGEDIT_JOB_STEP_DELAY``)."""

    api_nodes: int = 2
    cpu_workers: int = 2
    gpu_workers: int = 0
    #: Jobs each CPU worker runs at once (GPU workers run one: one job per GPU).
    concurrency: int = 1
    settings: Mapping[str, str] = field(default_factory=dict)
    #: Ports of the API nodes, in order; free ports when empty.
    ports: tuple[int, ...] = ()


@dataclass
class Recorded:
    """A process as the state file keeps it: enough to stop it by pid, and only it."""

    name: str
    pid: int
    started: int | None
    grace: float = 10.0
    signal: str = "SIGTERM"
    #: An imgedit process, leader of its own process group: its children go with it.
    group: bool = False

    def alive(self) -> bool:
        return running(self.pid) and started_at(self.pid) == self.started


@dataclass
class ClusterState:
    """What ``make cluster`` leaves behind in ``ROOT/cluster.json``."""

    root: str
    keys: dict[str, str]  # tenant -> API key
    api_urls: list[str]
    database_url: str
    blob_url: str
    broker_url: str
    s3_endpoint_url: str
    #: In the order they are stopped: workers (they finish their job), API nodes, servers.
    processes: list[Recorded]

    def write(self, root: Path) -> None:
        (root / STATE_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, root: Path) -> ClusterState:
        values = json.loads((root / STATE_FILE).read_text())
        values["processes"] = [Recorded(**p) for p in values["processes"]]
        return cls(**values)


def gpu_present() -> bool:
    """Whether an NVIDIA GPU answers ``nvidia-smi -L`` (without importing torch for it)."""
    program = shutil.which("nvidia-smi")
    if program is None:
        return False
    try:
        listed = subprocess.run([program, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return listed.returncode == 0 and "GPU" in listed.stdout


class Cluster:
    """The cluster's servers and processes; a context manager that stops what it started."""

    def __init__(
        self,
        root: Path,
        topology: Topology | None = None,
        *,
        postgres: PostgresServer | None = None,
        s3: S3Server | None = None,
        durable: bool = False,
        tenants: tuple[str, ...] = ("local",),
    ) -> None:
        """``durable``: a cluster for people to try (``make cluster``): PostgreSQL with fsync and
        its data under ``root``, Redis syncing its append-only file every second, as in
        production; otherwise the tests' throw-away servers (Redis syncing every write, so that a
        restart at any moment loses nothing). ``tenants``: an API key is made for each before the
        API nodes start (in ``keys``; a node started on a database without keys makes its own)."""
        self.root = root
        self.topology = topology or Topology()
        self.durable = durable
        self._own_postgres = postgres is None
        self._own_s3 = s3 is None
        self.postgres = postgres
        self.s3 = s3
        self.redis: RedisServer | None = None
        self.api: list[ApiNode] = []
        self.workers: list[Worker] = []
        self.env: dict[str, str] = {}
        self.database_url = ""
        self.blob_url = ""
        self.tenants = tenants
        self._started: Counter[str] = Counter()
        self.keys: dict[str, str] = {}

    # -- start and stop ---------------------------------------------------------------------

    def start(self) -> Cluster:
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self._start_servers()
            self._migrate()
            self.keys = dict(zip(self.tenants, self.new_keys(*self.tenants), strict=True))
            ports = list(self.topology.ports) or free_ports(self.topology.api_nodes)
            starting: list[ApiNode | Worker] = [
                self._start_worker("cpu") for _ in range(self.topology.cpu_workers)
            ]
            starting += [self._start_worker("gpu") for _ in range(self.topology.gpu_workers)]
            starting += [self._start_api_node(port) for port in ports]
            for process in starting:
                process.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_servers(self) -> None:
        """Redis, and PostgreSQL and SeaweedFS unless given, started side by side (seconds each);
        each one that started is kept, for ``stop``, even when another failed."""
        fsync = "everysec" if self.durable else "always"
        with ThreadPoolExecutor(3) as pool:
            redis = pool.submit(RedisServer.start, self.root / "redis", appendfsync=fsync)
            postgres = None
            if self.postgres is None:
                pg_root = self.root / "postgres" if self.durable else None
                postgres = pool.submit(PostgresServer.start, pg_root, durable=self.durable)
            s3 = pool.submit(S3Server.start, self.root / "seaweedfs") if self.s3 is None else None
        failures = [f.exception() for f in (redis, postgres, s3) if f is not None and f.exception()]
        self.redis = None if redis.exception() else redis.result()
        if postgres is not None and not postgres.exception():
            self.postgres = postgres.result()
        if s3 is not None and not s3.exception():
            self.s3 = s3.result()
        if failures:
            raise failures[0]  # type: ignore[misc]
        assert self.redis is not None and self.postgres is not None and self.s3 is not None
        self.database_url = self.postgres.new_database(migrated=False)
        self.blob_url = self.s3.new_url()
        self.env = {
            **os.environ,
            **self.s3.environment(),
            "IMGEDIT_QUEUE": "celery",
            "IMGEDIT_BROKER_URL": self.redis.url,
            "IMGEDIT_DATABASE_URL": self.database_url,
            "IMGEDIT_BLOB_URL": self.blob_url,
            "HF_HUB_OFFLINE": "1",
            **self.topology.settings,
        }

    def process_env(self, name: str) -> dict[str, str]:
        """The environment of the imgedit process ``name``: the cluster's, with its own home."""
        return {**self.env, "IMGEDIT_HOME": str(self.root / "homes" / name)}

    def imgedit(self, *args: str) -> str:
        """Run ``imgedit ARGS`` against the cluster's database and store; its stdout."""
        done = subprocess.run(
            imgedit_command(*args),
            env=checkout_env(self.process_env("admin")),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"imgedit {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done.stdout.strip()

    def _migrate(self) -> None:
        self.imgedit("db", "upgrade")

    def new_key(self, tenant: str) -> str:
        """A new API key for ``tenant`` (``imgedit keys create``)."""
        return str(json.loads(self.imgedit("keys", "create", "--tenant", tenant, "--json"))["key"])

    def new_keys(self, *tenants: str) -> list[str]:
        """A key for each tenant, made in parallel (each is a process start)."""
        with ThreadPoolExecutor(len(tenants) or 1) as pool:
            return list(pool.map(self.new_key, tenants))

    def _start_worker(self, pool: str) -> Worker:
        self._started[pool] += 1  # never reused: a replacement gets a new name (and log)
        name = f"worker-{pool}-{self._started[pool]}"
        concurrency = self.topology.concurrency if pool == "cpu" else 1
        worker = Worker.start(
            name, self.process_env(name), pool, self.root / "logs" / f"{name}.log", concurrency
        )
        self.workers.append(worker)
        return worker

    def _start_api_node(self, port: int) -> ApiNode:
        name = f"api-{len(self.api) + 1}"
        node = ApiNode.start(name, self.process_env(name), port, self.root / "logs" / f"{name}.log")
        self.api.append(node)
        return node

    def add_worker(self, pool: str = "cpu") -> Worker:
        """One more worker of ``pool``, ready."""
        worker = self._start_worker(pool)
        worker.wait_ready()
        return worker

    def restart_api_node(self, index: int) -> ApiNode:
        """Stop API node ``index`` if it still runs and start a new one on its port (a node
        replaced after a crash), ready."""
        old = self.api[index]
        old.stop()
        node = ApiNode.start(old.name, self.process_env(old.name), old.port, old.log)
        self.api[index] = node
        node.wait_ready()
        return node

    def stop(self) -> None:
        """Workers first (each finishes its job), then the API nodes, then the servers it owns."""
        for group in (self.workers, self.api):
            if group:
                with ThreadPoolExecutor(len(group)) as pool:  # each may take its grace period
                    list(pool.map(lambda process: process.stop(), group))
        if self.redis is not None:
            self.redis.stop(remove=not self.durable)
        if self.postgres is not None and self._own_postgres:
            self.postgres.stop(remove=not self.durable)
        if self.s3 is not None and self._own_s3:
            self.s3.stop()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state file (make cluster / make cluster-down) -----------------------------------------

    def state(self) -> ClusterState:
        assert self.redis is not None and self.postgres is not None and self.s3 is not None
        processes: list[ImgeditProcess] = [*self.workers, *self.api]
        recorded = [Recorded(p.name, p.pid, started_at(p.pid), grace=p.grace, group=True) for p in processes]
        recorded += [
            Recorded("redis", self.redis.pid, started_at(self.redis.pid)),
            Recorded("postgres", self.postgres.pid, started_at(self.postgres.pid), signal="SIGINT"),
            Recorded("seaweedfs", self.s3.pid, started_at(self.s3.pid), grace=WEED_GRACE),
        ]
        return ClusterState(
            root=str(self.root),
            keys=self.keys,
            api_urls=[node.url for node in self.api],
            database_url=self.database_url,
            blob_url=self.blob_url,
            broker_url=self.redis.url,
            s3_endpoint_url=self.s3.endpoint_url,
            processes=recorded,
        )


def stop_recorded(state: ClusterState) -> list[str]:
    """Stop every process of a state file that still runs (by pid, checked against its start
    time); the names of those stopped."""
    stopped = []
    for process in state.processes:
        if process.alive():
            stop_pid(process.pid, first=signal.Signals[process.signal], grace=process.grace)
            stopped.append(process.name)
            if process.group:
                stop_group(process.pid)
    return stopped
