"""``Broker``: what API nodes and workers do through Redis, in one place.

Tokens go through Celery (app.py); events, cancel flags, worker heartbeats and the token count
through a plain Redis client on the same server. Both kinds of node build one ``Broker``.
"""

from __future__ import annotations

import logging
import time

from celery import Celery
from redis import Redis
from redis.exceptions import RedisError

from imgedit.config import Settings
from server.scheduler.celery.app import RUN_NEXT, RedisNames, celery_app, redis_client, redis_names
from server.scheduler.celery.cancel import CancelFlags
from server.scheduler.celery.events import EventBus

log = logging.getLogger("imgedit.server.scheduler")


class Broker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: Redis = redis_client(settings)
        self.names: RedisNames = redis_names(self.client)
        self.celery: Celery = celery_app(settings)
        self.bus = EventBus(self.client, self.names.events)
        self.flags = CancelFlags(self.client, self.names, ttl=settings.broker_visibility_timeout)
        #: Seconds between a worker's heartbeats (lease renewals); a worker is alive while its
        #: last heartbeat is younger than the lease.
        self.heartbeat = settings.job_lease_seconds / 3

    def send_token(self, pool: str) -> bool:
        """Wake a worker of ``pool``; ``False`` if the broker could not be reached (the reaper
        sends the token once it can, so a committed job is never stranded).

        A token to a direct queue goes by the anonymous exchange (its routing key is the queue's
        name, the list the workers read), so there is nothing to declare: ``declare=[]`` spares
        the API node Celery's per-message declaration, about a third of the CPU a token costs.
        """
        try:
            self.celery.send_task(RUN_NEXT, args=[pool], queue=pool, routing_key=pool, declare=[])
        except Exception as exc:  # kombu raises its own and the transport's errors alike
            log.warning("no token sent to the %s queue (%s); the reaper will send it", pool, exc)
            return False
        return True

    def waiting_tokens(self, pool: str) -> int:
        """Tokens waiting in ``pool``'s queue (not those a worker holds)."""
        return int(self.client.llen(pool))

    def alive(self, worker: str, pool: str) -> None:
        """Record ``worker``'s heartbeat (a sorted set per pool, scored by time)."""
        self.client.zadd(self.names.workers(pool), {worker: time.time()})

    def gone(self, worker: str, pool: str) -> None:
        self.client.zrem(self.names.workers(pool), worker)

    def workers_alive(self, pool: str) -> int:
        """Workers of ``pool`` whose heartbeat is younger than the lease (older ones are dropped)."""
        key = self.names.workers(pool)
        oldest = time.time() - self.settings.job_lease_seconds
        with self.client.pipeline() as pipe:
            pipe.zremrangebyscore(key, "-inf", oldest)
            pipe.zcard(key)
            _, count = pipe.execute()
        return int(count)

    def reachable(self) -> bool:
        try:
            return bool(self.client.ping())
        except RedisError:
            return False

    def close(self) -> None:
        self.client.close()
        self.celery.close()
