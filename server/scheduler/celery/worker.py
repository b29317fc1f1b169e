"""``imgedit worker``: a Celery worker that runs the jobs of one pool.

Each token the worker receives (app.py) makes it claim the pool's next job (rows.py
``claim_next``: fair across tenants, atomic across workers) and run it exactly as the embedded
queue would: the job layer's kind with a ``LocalJobContext`` over services built by the same
``build_services`` (server/job_host.py), progress reported and the ending told by running.py.

- Concurrency: Celery's ``threads`` pool, ``--concurrency N`` threads in one process. The
  process's editors (and a GPU worker's qwen pipeline, loaded once) are shared by its jobs,
  cancel tokens and lease renewals are plain objects, and classic image work still runs in
  forked edit processes (server/edit_workers.py), so the GIL is not the limit. Prefork would
  load the model once per child. A GPU worker runs one job at a time: one worker per GPU.
- Lease: every ``IMGEDIT_JOB_LEASE_SECONDS / 3`` one UPDATE renews the lease of all the jobs
  this worker runs, and the worker's heartbeat goes to Redis (``workers alive`` in /metrics);
  the same round reads the cancel flags of its jobs and runs the reaper (reaper.py).
- Stop: on SIGTERM (Celery's warm shutdown) the running jobs are cancelled at their next step
  and put back in the queue with a fresh token (their effects are keyed by job id, so the next
  run resumes or finds them); nothing is lost and shutdown does not wait for a long job.
- After a job is over, the clean-ups that concern files on this machine run here (a deck job's
  work folder, the unreadable input of a failed edit: ``finished_job_cleanups``).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
import uuid
from typing import Any

from celery import signals
from celery.exceptions import Reject

from engine.types import CancelToken
from imgedit.config import Settings
from imgedit.errors import BadInputError
from jobs import deck
from jobs.base import POOLS
from jobs.kinds import KINDS
from server.job_host import LocalServices, build_services, finished_job_cleanups, local_runners
from server.scheduler.base import JobEvent, JobInfo
from server.scheduler.celery.app import RUN_NEXT
from server.scheduler.celery.broker import Broker
from server.scheduler.celery.events import Subscriber
from server.scheduler.celery.reaper import Periodic, Reaper
from server.scheduler.rows import Ending, JobRows
from server.scheduler.running import REQUEUE, StepReporter, run_job

log = logging.getLogger("imgedit.worker")


class WorkerRuntime:
    """What the worker's task threads share: the services, the running jobs, the broker."""

    def __init__(self, settings: Settings, pool: str, services: LocalServices) -> None:
        self.settings = settings
        self.pool = pool
        self.services = services
        self.name = f"{pool}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.rows = JobRows(services.db_engine)
        self.broker = Broker(settings)
        self.runners = local_runners(KINDS.values(), services)
        self.quiet = {kind.name: kind.quiet_seconds for kind in KINDS.values()}
        self.cleanups = finished_job_cleanups(services)
        self.reaper = Reaper(self.rows, self.broker, settings.job_max_attempts, self.name)
        self.stopping = False
        self._lock = threading.Lock()
        self._running: dict[str, CancelToken] = {}
        self._cancels = Subscriber(
            self.broker.client, self.broker.names.cancels, self._cancel_heard, name="imgedit-cancels"
        )
        self._heartbeat = Periodic(self.broker.heartbeat, self.beat, name="imgedit-heartbeat")

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        deck.remove_leftover_folders(self.settings, self.rows.unfinished())
        self._cancels.start()
        self.broker.alive(self.name, self.pool)
        self._heartbeat.start()

    def stop_jobs(self) -> None:
        """Warm shutdown: running jobs stop at their next step and go back to the queue."""
        with self._lock:
            self.stopping = True
            tokens = list(self._running.values())
        for token in tokens:
            token.cancel()

    def close(self) -> None:
        self._heartbeat.stop()
        self._cancels.stop()
        try:
            self.broker.gone(self.name, self.pool)
        except Exception as exc:  # Redis already gone: the entry ages out by itself
            log.warning("could not remove this worker's heartbeat (%s)", exc)
        self.broker.close()
        self.services.close()

    def beat(self) -> None:
        """One heartbeat: leases renewed, liveness recorded, cancel flags read, reaper run."""
        self.rows.renew(self.name, self.settings.job_lease_seconds)
        self.broker.alive(self.name, self.pool)
        with self._lock:
            running = dict(self._running)
        for job_id in self.broker.flags.requested(running):
            running[job_id].cancel()
        self.reaper.run_once()

    # -- jobs -----------------------------------------------------------------------------------

    def run_next(self, pool: str) -> None:
        """Answer one token: claim the pool's next job and run it (nothing queued: nothing to do)."""
        if self.stopping:
            raise Reject("the worker is stopping", requeue=True)
        taken = time.perf_counter()
        info = self.rows.claim_next(pool, self.name, self.settings.job_lease_seconds)
        if info is None:
            return
        token = CancelToken()
        with self._lock:
            self._running[info.id] = token
        try:
            if self.broker.flags.requested([info.id]):
                token.cancel()
            self._run(info, token, taken)
        finally:
            with self._lock:
                self._running.pop(info.id, None)

    def _run(self, info: JobInfo, token: CancelToken, taken: float) -> None:
        self.broker.bus.publish(JobEvent("job", info))
        runner = self.runners.get(info.kind)
        progress = StepReporter(
            self.rows,
            info,
            token,
            self.broker.bus.publish,
            quiet_seconds=self.quiet.get(info.kind, 0.0),
            step_delay=self.settings.job_step_delay,
        )
        if runner is None:
            ending = Ending(
                "failed", error={"code": "bad_input", "message": f"Unknown job kind '{info.kind}'."}
            )
        else:
            ending = run_job(runner, info, token, progress, taken, lambda: self.stopping)
        if ending.status == REQUEUE:
            final = self.rows.requeue(info.id, owner=self.name)
            if final is not None:
                self.broker.bus.publish(JobEvent("job", final))
                self.broker.send_token(final.pool)
            return
        final = self.rows.finish(info.id, ending, latest=progress.latest, owner=self.name)
        if final is None:
            log.warning("job %s: this worker lost its lease meanwhile; its run is not recorded", info.id)
            return
        event = JobEvent("job", final)
        self.broker.bus.publish(event)
        for cleanup in self.cleanups:
            try:
                cleanup(event)
            except Exception:
                log.exception("job %s: clean-up failed", info.id)

    def _cancel_heard(self, data: bytes) -> None:
        with self._lock:
            token = self._running.get(data.decode())
        if token is not None:
            token.cancel()


def warm_up(services: LocalServices, pool: str) -> None:
    """A GPU worker loads the qwen pipeline and runs one small generation before it takes a job:
    the first user's edit would otherwise wait for the load and for the first run's kernel
    selection (or compilation, with IMGEDIT_QWEN_COMPILE), and a broken model folder stops the
    start, not a user's edit."""
    if pool != "gpu":
        return
    editor = services.editors.get(services.settings.engine)
    if not editor.qwen_available():
        raise BadInputError(
            "A gpu worker needs the qwen model and a GPU.",
            hint="Set IMGEDIT_QWEN_MODEL to a local Qwen-Image-Edit-2509 folder (and IMGEDIT_ENGINE=qwen "
            "to run it without CUDA), or start a cpu worker.",
        )
    # The editor's one warm-up entry point: load to the GPU, fuse the LoRA, one small generation
    # (compiling when IMGEDIT_QWEN_COMPILE is set), each stage logged.
    started = time.perf_counter()
    editor.warm_up(progress=lambda stage, message: log.info("qwen %s: %s", stage, message))
    log.warning("qwen loaded and warmed up in %.1f s", time.perf_counter() - started)


def run_worker(settings: Settings, pool: str, concurrency: int | None = None) -> int:
    """Run a worker of ``pool`` until SIGTERM or SIGINT; its exit code."""
    if pool not in POOLS:
        raise BadInputError(f"Unknown pool '{pool}'; choose one of: {', '.join(POOLS)}.")
    if pool == "gpu" and concurrency not in (None, 1):
        raise BadInputError(
            "A gpu worker runs one job at a time.",
            hint="Start one worker per GPU (CUDA_VISIBLE_DEVICES=N imgedit worker --pool gpu).",
        )
    threads = concurrency or (1 if pool == "gpu" else (settings.classic_workers or os.cpu_count() or 1))
    if threads < 1:
        raise BadInputError("--concurrency must be at least 1.")
    services = build_services(settings, cpu_slots=threads)
    warm_up(services, pool)
    runtime = WorkerRuntime(settings, pool, services)
    app = runtime.broker.celery

    @app.task(name=RUN_NEXT, acks_late=True, reject_on_worker_lost=True, ignore_result=True)  # type: ignore[untyped-decorator]
    def run_next(pool: str) -> None:
        runtime.run_next(pool)

    def on_ready(**_: Any) -> None:
        print(
            f"imgedit worker {runtime.name} ready: pool {pool}, {threads} at once",
            file=sys.stderr,
            flush=True,
        )

    def on_shutting_down(**_: Any) -> None:
        runtime.stop_jobs()

    signals.worker_ready.connect(on_ready, weak=False)
    signals.worker_shutting_down.connect(on_shutting_down, weak=False)
    runtime.start()
    worker = app.Worker(
        hostname=runtime.name,
        pool="threads",
        concurrency=threads,
        queues=[pool],
        loglevel="WARNING",
        quiet=True,
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        optimization="fair",
    )
    try:
        worker.start()
    finally:
        runtime.close()
    return int(worker.exitcode or 0)
