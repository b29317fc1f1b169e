"""Job scheduling behind one interface (``JobQueue``); ``LocalJobQueue`` runs jobs in-process."""

from server.scheduler.base import JobEvent, JobInfo, JobQueue, JobSpec
from server.scheduler.local import LocalJobQueue

__all__ = ["JobEvent", "JobInfo", "JobQueue", "JobSpec", "LocalJobQueue"]
