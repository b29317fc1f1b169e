"""``Snapshots``: the newest job snapshots a queue has seen committed, kept in memory.

Both queues answer reads from it that would otherwise each cost a database round trip:

- the embedded queue makes every change to its jobs itself, so its snapshot of a job is never
  older than the row (local.py);
- an API node of the Celery queue learns of changes from the event channel, so a snapshot there
  may lag the row by an event in flight. It only answers what cannot have changed since: a
  finished job (its end is final: nothing writes a finished row again) and a job's tenant
  (celery/queue.py).

A finished snapshot is never replaced by an unfinished one, so a late event (a worker that lost
its lease still reporting a step) cannot bring an ended job back.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from server.scheduler.base import JobInfo

#: How many job snapshots a queue keeps (the newest; older jobs are read from the database).
SNAPSHOTS = 2048


class Snapshots:
    """Thread-safe, bounded to the ``SNAPSHOTS`` most recently changed jobs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, JobInfo] = OrderedDict()

    def put(self, info: JobInfo) -> None:
        """Keep ``info`` as the job's latest committed state."""
        with self._lock:
            known = self._jobs.get(info.id)
            if known is not None and known.finished and not info.finished:
                return
            self._jobs[info.id] = info
            self._jobs.move_to_end(info.id)
            while len(self._jobs) > SNAPSHOTS:
                self._jobs.popitem(last=False)

    def get(self, job_id: str) -> JobInfo | None:
        with self._lock:
            return self._jobs.get(job_id)

    def finished(self, job_id: str) -> JobInfo | None:
        """The job's final state, if it is known to have ended."""
        info = self.get(job_id)
        return info if info is not None and info.finished else None

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)
