"""The Celery application both sides share, and the Redis names they agree on.

Celery carries *tokens*, not jobs: a token on the ``cpu`` or ``gpu`` queue says "take the next
job of this pool" (queue.py sends one per job queued, worker.py answers it by claiming a row
by the fair rule in rows.py). The job rows stay the source of truth; the broker only wakes
workers. So the configuration is about never losing a token while its job is not done:

- ``task_acks_late`` with ``task_reject_on_worker_lost``: a token is acknowledged once its job
  is over, so one taken by a worker that dies goes back to the queue;
- ``worker_prefetch_multiplier=1``: a worker holds no more tokens than it has free threads, so
  a long job does not sit on tokens another worker could run;
- the Redis ``visibility_timeout`` above the longest job, so a live worker's token is not handed
  to a second worker meanwhile; a dead worker's job is taken up sooner by its lease (reaper.py);
- JSON only (a token is one pool name), both queues declared, retries on a broker that is not
  up yet, and a short publish retry so an API node never hangs on a broker that is down (the
  job row is committed first; the reaper sends the missing token when the broker is back).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from celery import Celery
from kombu import Queue
from redis import Redis

from imgedit.config import Settings
from imgedit.errors import BadInputError
from jobs.base import POOLS

#: The one task: take the next job of the pool named by its argument.
RUN_NEXT = "imgedit.run_next"


def broker_url(settings: Settings) -> str:
    """``IMGEDIT_BROKER_URL``, which ``IMGEDIT_QUEUE=celery`` needs (a clear error without it)."""
    url = settings.broker_url
    if not url:
        raise BadInputError(
            "IMGEDIT_QUEUE=celery needs a broker: set IMGEDIT_BROKER_URL.",
            hint="For example IMGEDIT_BROKER_URL=redis://127.0.0.1:6379/0 (Redis with appendonly yes), "
            "the same on every API node and worker.",
        )
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise BadInputError(
            f"IMGEDIT_BROKER_URL must be a Redis URL (redis://HOST:PORT/DB), not '{url.split('://')[0]}://...'.",
            hint="imgedit's queue uses Redis for its tokens, cancel flags and job events.",
        )
    return url


def celery_app(settings: Settings) -> Celery:
    """The Celery app over ``IMGEDIT_BROKER_URL`` (see the module docstring for each choice)."""
    app = Celery("imgedit", broker=broker_url(settings), set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": settings.broker_visibility_timeout},
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_queues=tuple(Queue(pool, routing_key=pool) for pool in POOLS),
        task_default_queue="cpu",
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
    )
    return app


@dataclass(frozen=True)
class RedisNames:
    """The Redis keys and channels of one deployment.

    Keys live in the broker URL's database; pub/sub channels are server-wide in Redis, so their
    names carry that database's number: two deployments on one Redis never hear each other.
    """

    db: int

    @property
    def events(self) -> str:
        return f"imgedit:{self.db}:events"

    @property
    def cancels(self) -> str:
        return f"imgedit:{self.db}:cancels"

    @property
    def reconcile_lock(self) -> str:
        return "imgedit:reconcile"

    def shortfall(self, pool: str) -> str:
        """Tokens the pool's queue missed at the last reconciliation (reaper.py)."""
        return f"imgedit:shortfall:{pool}"

    def cancel(self, job_id: str) -> str:
        return f"imgedit:cancel:{job_id}"

    def workers(self, pool: str) -> str:
        return f"imgedit:workers:{pool}"


def redis_client(settings: Settings) -> Redis:
    """A Redis client on the broker (thread-safe, pooled), failing fast when Redis is down."""
    return Redis.from_url(
        broker_url(settings), socket_connect_timeout=2, socket_timeout=5, health_check_interval=10
    )


def redis_names(client: Redis) -> RedisNames:
    kwargs: dict[str, Any] = client.connection_pool.connection_kwargs
    return RedisNames(db=int(kwargs.get("db", 0) or 0))
