"""imgedit's own processes in a cluster: API nodes (``imgedit serve``) and workers (``imgedit
worker``), each writing to its own log file, waited for until ready and stopped by pid.

An API node is ready when ``/healthz`` answers 200; a worker when its log has a line with
``ready`` (it logs one once it takes jobs). Both run in their own session (``start_new_session``),
so ``make cluster`` can leave them running and a Ctrl-C at the terminal reaches none of them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import httpx

from cluster.servers import DETACHED, STOP_TIMEOUT, running, stop_pid

#: The checkout these modules belong to (holds cli/ when run from a source tree).
ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 120.0
WORKER_GRACE = 60.0


def imgedit_command(*args: str) -> list[str]:
    """``imgedit ARGS`` run by this interpreter (the checkout in use, not an installed copy)."""
    return [sys.executable, "-c", "from cli.main import main; main()", *args]


def checkout_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` with this checkout first on ``PYTHONPATH``, so a child runs the same code as we do
    even when the interpreter has another copy installed."""
    if not (ROOT / "cli").is_dir():
        return dict(env)
    paths = [str(ROOT), *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(ROOT))]
    return {**env, "PYTHONPATH": os.pathsep.join(paths)}


def stop_group(leader: int) -> None:
    """SIGKILL what is left of the process group ``leader`` started (it runs in its own session,
    so the group is its and its children's only)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader, signal.SIGKILL)


def _launch(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            imgedit_command(*args),
            env=checkout_env(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
            **DETACHED,
        )


@dataclass
class ImgeditProcess:
    """One ``imgedit`` process: its name in the cluster, its pid and its log.

    ``process`` is the ``Popen`` when this process started it, ``None`` when it was read back
    from a cluster's state file (``python -m cluster down``)."""

    name: str
    log: Path
    pid: int
    process: subprocess.Popen[bytes] | None = None
    #: Where this process's own lines start in ``log`` (it is appended to across restarts).
    log_offset: int = 0
    #: Seconds ``stop`` waits after SIGTERM before SIGKILL.
    grace: ClassVar[float] = STOP_TIMEOUT

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return running(self.pid)

    def log_text(self) -> str:
        """What this process has logged so far."""
        try:
            with self.log.open("rb") as handle:
                handle.seek(self.log_offset)
                return handle.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; then whatever it left in its session
        (the edit worker processes of a process that was killed)."""
        if self.alive():
            stop_pid(self.pid, grace=self.grace)
        self._reap()
        stop_group(self.pid)

    def kill(self) -> None:
        """``kill -9``: what a crash (or the OOM killer) looks like to the rest of the cluster."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(STOP_TIMEOUT)

    def _failed(self, what: str) -> RuntimeError:
        return RuntimeError(f"{self.name} {what}; its log ({self.log}) ends:\n{self.log_text()[-3000:]}")


@dataclass
class ApiNode(ImgeditProcess):
    """``imgedit serve --port PORT``: the HTTP API, the WebSockets and the web page."""

    port: int = 0

    @classmethod
    def start(cls, name: str, env: dict[str, str], port: int, log: Path) -> ApiNode:
        offset = log.stat().st_size if log.exists() else 0
        args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        process = _launch(args, env, log)
        return cls(name=name, log=log, pid=process.pid, process=process, log_offset=offset, port=port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ws"

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Until ``/healthz`` answers 200 (the database, the store and the broker reached)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if not self.alive():
                raise self._failed("exited before it served")
            if time.monotonic() > deadline:
                raise self._failed(f"did not answer /healthz within {timeout:.0f} s")
            time.sleep(0.1)


@dataclass
class Worker(ImgeditProcess):
    """``imgedit worker --pool POOL --concurrency N``: runs the jobs of one pool."""

    pool: str = "cpu"
    #: SIGTERM is Celery's warm shutdown: the worker finishes its running job first.
    grace: ClassVar[float] = WORKER_GRACE

    @classmethod
    def start(cls, name: str, env: dict[str, str], pool: str, log: Path, concurrency: int = 1) -> Worker:
        offset = log.stat().st_size if log.exists() else 0
        process = _launch(["worker", "--pool", pool, "--concurrency", str(concurrency)], env, log)
        return cls(name=name, log=log, pid=process.pid, process=process, log_offset=offset, pool=pool)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Until the worker logs that it is ready (it takes jobs from then on)."""
        deadline = time.monotonic() + timeout
        while "ready" not in self.log_text().lower():
            if not self.alive():
                raise self._failed("exited before it was ready")
            if time.monotonic() > deadline:
                raise self._failed(f"did not log 'ready' within {timeout:.0f} s")
            time.sleep(0.1)
