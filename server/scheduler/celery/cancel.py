"""Cancelling a running job from any node: a flag in Redis, seen by the worker between steps.

A queued job is cancelled in the database directly (queue.py; its token then finds nothing).
A running one is on some worker we cannot name from the API node, so the API sets
``imgedit:cancel:<job_id>`` (with a TTL, so flags never pile up) and publishes the id on the
deployment's cancel channel: the worker running it flips the job's ``CancelToken`` at once, and
the job stops at its next step, cooperatively. The worker also reads the flags of its jobs on
every heartbeat and when it claims a job, so a cancel published while it was not listening
(Redis restarting) is not missed. Celery's ``revoke(terminate=True)`` is never used: it kills
whatever the process runs at that moment, possibly the next job.
"""

from __future__ import annotations

from collections.abc import Iterable

from redis import Redis

from server.scheduler.celery.app import RedisNames


class CancelFlags:
    def __init__(self, client: Redis, names: RedisNames, ttl: int) -> None:
        self.client = client
        self.names = names
        self.ttl = ttl

    def request(self, job_id: str) -> None:
        """Ask whichever worker runs ``job_id`` to stop it."""
        with self.client.pipeline() as pipe:
            pipe.set(self.names.cancel(job_id), 1, ex=self.ttl)
            pipe.publish(self.names.cancels, job_id)
            pipe.execute()

    def requested(self, job_ids: Iterable[str]) -> set[str]:
        """Those of ``job_ids`` whose cancel was asked for."""
        ids = list(job_ids)
        if not ids:
            return set()
        found = self.client.mget([self.names.cancel(job_id) for job_id in ids])
        return {job_id for job_id, flag in zip(ids, found, strict=True) if flag is not None}
