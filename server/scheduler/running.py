"""Running one claimed job: its steps reported, its ending told from how the runner returned.

Both queues run a job the same way once they hold it (local.py in the server's threads, the
Celery worker in its own): steps are kept in memory, written to the row at most every
``PROGRESS_WRITE_INTERVAL`` seconds and announced (after the kind's quiet seconds); the runner's
exception, if any, becomes the job's error, in the user's language when it is one of ours.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable

from engine.types import CancelToken
from imgedit.errors import EditCancelledError, ImgEditError
from server.errors import storage_full
from server.scheduler.base import JobEvent, JobInfo, RunControl, Runner
from server.scheduler.rows import CANCELLED, Ending, JobRows, with_progress

log = logging.getLogger("imgedit.server.scheduler")

#: Seconds between progress writes of one job (steps in between are kept in memory). A commit
#: per step cost 2-4 ms per job in bench/server_load.py, half the engine time of a simple classic
#: edit, and progress lost in a crash is worthless anyway (the job re-runs from the start).
PROGRESS_WRITE_INTERVAL = 0.5
#: ``Ending.status`` of a job stopped because its process stops: it goes back to the queue.
REQUEUE = "queued"


class StepReporter:
    """The ``progress`` callback of one run: remembers, writes lazily, announces, slows (tests)."""

    def __init__(
        self,
        rows: JobRows,
        info: JobInfo,
        token: CancelToken,
        emit: Callable[[JobEvent], None],
        *,
        quiet_seconds: float = 0.0,
        step_delay: float = 0.0,
        remember: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.rows = rows
        self.info = info
        self.token = token
        self.emit = emit
        self.step_delay = step_delay
        self.remember = remember
        self.latest: tuple[int, int] | None = None
        self._written = time.perf_counter()
        self._quiet_until = self._written + quiet_seconds

    def __call__(self, done: int, total: int) -> None:
        self.latest = (done, total)
        if self.remember is not None:
            self.remember(self.info.id, done, total)
        now = time.perf_counter()
        if now - self._written >= PROGRESS_WRITE_INTERVAL:
            self._written = now
            self.rows.write_progress(self.info.id, done, total)
        if now >= self._quiet_until:
            self.emit(JobEvent("progress", with_progress(self.info, done, total)))
        if self.step_delay:
            # Testing knob (IMGEDIT_JOB_STEP_DELAY): slows each step, still cancellable.
            deadline = time.monotonic() + self.step_delay
            while time.monotonic() < deadline and not self.token.cancelled:
                time.sleep(0.02)


def run_job(
    runner: Runner,
    info: JobInfo,
    token: CancelToken,
    progress: StepReporter,
    taken: float,
    stopping: Callable[[], bool],
) -> Ending:
    """Run ``info`` and say how it ended; a cancel while ``stopping`` is a ``REQUEUE``."""
    started = time.perf_counter()
    try:
        outcome = runner(info, RunControl(cancel=token, progress=progress, started=taken))
    except EditCancelledError:
        if stopping():
            return Ending(REQUEUE)
        return Ending("cancelled", error=dict(CANCELLED))
    except ImgEditError as exc:
        error = {**exc.to_dict(), "http_status": exc.http_status}
        return Ending("failed", error=error, seconds=time.perf_counter() - started)
    except Exception as exc:
        log.error("job %s failed:\n%s", info.id, traceback.format_exc())
        full = storage_full(exc)
        error = (
            {**full.to_dict(), "http_status": full.http_status}
            if full is not None
            else {"code": "internal_error", "message": f"The job failed on our side ({type(exc).__name__})."}
        )
        return Ending("failed", error=error, seconds=time.perf_counter() - started)
    return Ending("done", outcome=outcome, seconds=time.perf_counter() - started)
