"""API nodes and ``imgedit worker`` processes on one database, blob store and Redis, for the
tests of the Celery queue: the nodes are ``LiveServer``s in the test's process (cheap to start
and to look into), the workers real subprocesses (so they can be ``kill -9``'d)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from cluster.servers import PostgresServer, RedisServer, S3Server
from imgedit.config import Settings
from tests.server_harness import POSTGRES_S3, LiveServer, Storage, imgedit_command, served_env

#: Seconds a worker's lease lasts in these tests (renewed every third): a killed worker's job
#: is queued again about this long after the kill.
LEASE_SECONDS = 1.5
#: Seconds each job step waits in the workers (IMGEDIT_JOB_STEP_DELAY): long enough to act
#: while a job runs, short enough for a lean test run.
STEP_DELAY = 0.6


@dataclass
class CeleryDeployment:
    """Settings shared by the nodes and workers of one test deployment."""

    storage: Storage
    home: Path
    broker_url: str
    #: Settings of nodes and workers beyond the storage and the broker.
    extra: dict[str, Any] = field(default_factory=dict)
    step_delay: float = STEP_DELAY
    workers: list[WorkerProcess] = field(default_factory=list)

    @classmethod
    def on_servers(
        cls,
        postgres: PostgresServer,
        s3_server: S3Server,
        redis_server: RedisServer,
        home: Path,
        *,
        redis_db: int,
        **options: Any,
    ) -> CeleryDeployment:
        """A deployment on the test run's PostgreSQL and S3 and on its own, emptied, database
        ``redis_db`` of the run's Redis (each test module takes another number)."""
        broker = redis_server.url.rsplit("/", 1)[0] + f"/{redis_db}"
        redis.Redis.from_url(broker).flushdb()
        return cls(Storage(POSTGRES_S3, postgres, s3_server), home, broker, **options)

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "queue": "celery",
            "broker_url": self.broker_url,
            "job_lease_seconds": LEASE_SECONDS,
            "job_max_attempts": 2,
            **self.extra,
        }
        values.update(overrides)
        return self.storage.settings(self.home, **values)

    def node(self, **overrides: Any) -> LiveServer:
        """An API node (enter it with ``with``)."""
        return LiveServer(self.settings(**overrides))

    def environment(self) -> dict[str, str]:
        env = served_env(self.home, **self.storage.environment(self.home))
        env.update(
            IMGEDIT_QUEUE="celery",
            IMGEDIT_BROKER_URL=self.broker_url,
            IMGEDIT_JOB_LEASE_SECONDS=str(LEASE_SECONDS),
            IMGEDIT_JOB_MAX_ATTEMPTS="2",
            IMGEDIT_JOB_STEP_DELAY=str(self.step_delay),
            # Image work in the worker's thread: a kill -9 then leaves no edit process behind.
            IMGEDIT_CLASSIC_PROCESSES="0",
        )
        env.update({f"IMGEDIT_{name.upper()}": str(value) for name, value in self.extra.items()})
        return env

    def start_worker(self, pool: str = "cpu", concurrency: int = 1, **env: str) -> WorkerProcess:
        """An ``imgedit worker`` of ``pool``, with ``env`` added to the deployment's environment."""
        log = self.home / f"worker-{len(self.workers)}.log"
        worker = WorkerProcess({**self.environment(), **env}, log, pool, concurrency)
        self.workers.append(worker)
        return worker

    def stop_workers(self, pool: str | None = None) -> None:
        """Stop the workers (of ``pool`` only, if given)."""
        for worker in [w for w in self.workers if pool in (None, w.pool)]:
            worker.stop()
            self.workers.remove(worker)


class WorkerProcess:
    """``imgedit worker`` in a subprocess, started and waited for until it says it is ready."""

    def __init__(
        self, env: dict[str, str], log: Path, pool: str, concurrency: int, timeout: float = 90
    ) -> None:
        self.log = log
        self.pool = pool
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                imgedit_command("worker", "--pool", pool, "--concurrency", str(concurrency)),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                # pytest run in the background ignores SIGINT/SIGTERM in children; restore them.
                preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL),
            )
        deadline = time.monotonic() + timeout
        while "ready" not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"imgedit worker did not start:\n{self.output()[-3000:]}")
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """``kill -9``: the worker dies mid-job, as on a lost machine."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait: its exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
