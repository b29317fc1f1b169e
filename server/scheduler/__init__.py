"""Job scheduling behind one interface (``JobQueue``, in base.py).

Only the composition root (server/app.py) picks an implementation (``local.LocalJobQueue`` runs
jobs in-process); everything else imports the interface from here.
"""

from server.scheduler.base import JobEvent, JobInfo, JobQueue, JobSpec, RunControl, Runner

__all__ = ["JobEvent", "JobInfo", "JobQueue", "JobSpec", "RunControl", "Runner"]
