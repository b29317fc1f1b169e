"""Job scheduling behind one interface (``JobQueue``, in base.py).

Only the composition root (server/app.py) picks an implementation (``local.LocalJobQueue`` runs
jobs in-process, ``celery.CeleryJobQueue`` hands them to ``imgedit worker`` processes through a
broker; cli/worker.py starts those); everything else imports the interface from here.
"""

from server.scheduler.base import JobEvent, JobInfo, JobQueue, JobSpec, PoolState, RunControl, Runner

__all__ = ["JobEvent", "JobInfo", "JobQueue", "JobSpec", "PoolState", "RunControl", "Runner"]
