"""The reaper: jobs whose worker died go back to the queue; lost tokens are sent again.

Every API node and every worker runs it every heartbeat (a few seconds); it is cheap (one
UPDATE that usually changes nothing) and safe to run everywhere at once:

- A job whose lease ran out (its worker was ``kill -9``'d, its machine lost) is put back to
  ``queued`` by one atomic ``UPDATE ... RETURNING`` (so exactly one node acts on each job) and
  a token is sent for it: it runs again within seconds, not after the broker's visibility
  timeout. A job that has had ``IMGEDIT_JOB_MAX_ATTEMPTS`` runs ends ``failed``
  (``worker_lost``) instead: one that kills its worker every time must not loop forever.
- Tokens lost with the broker's data (Redis restarted without its append-only file): when the
  pool's queue holds fewer tokens than the database has queued jobs in two rounds in a row, the
  smaller shortfall is sent again (one node per round, by a short Redis lock). Two rounds,
  because a token a worker has just taken is briefly neither in the queue nor behind a running
  job; a surplus token would be harmless anyway (it finds nothing), only wasted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from jobs.base import POOLS
from server.scheduler.base import JobEvent
from server.scheduler.celery.broker import Broker
from server.scheduler.rows import JobRows

log = logging.getLogger("imgedit.server.scheduler")


class Reaper:
    def __init__(self, rows: JobRows, broker: Broker, max_attempts: int, owner: str) -> None:
        self.rows = rows
        self.broker = broker
        self.max_attempts = max_attempts
        self.owner = owner

    def run_once(self) -> None:
        for info in self.rows.reap(self.max_attempts):
            log.warning("job %s: its worker stopped renewing its lease; now %s", info.id, info.status)
            self.broker.bus.publish(JobEvent("job", info))
            if info.status == "queued":
                self.broker.send_token(info.pool)
        self.reconcile()

    def reconcile(self) -> None:
        """Send the tokens the queues miss (module docstring), one node per round."""
        ttl = max(1, int(self.broker.heartbeat))
        if not self.broker.client.set(self.broker.names.reconcile_lock, self.owner, nx=True, ex=ttl):
            return
        counts = self.rows.counts()
        for pool in POOLS:
            short = max(0, counts.get((pool, "queued"), 0) - self.broker.waiting_tokens(pool))
            before = self.broker.client.set(self.broker.names.shortfall(pool), short, ex=ttl * 3, get=True)
            missing = min(short, int(before or 0))
            if missing:
                log.warning("%d token(s) missing from the %s queue: sending them", missing, pool)
                self.broker.client.set(self.broker.names.shortfall(pool), 0, ex=ttl * 3)
            for _ in range(missing):
                self.broker.send_token(pool)


class Periodic:
    """Calls ``action`` every ``interval`` seconds in a thread until ``stop`` (errors of an
    unreachable database or broker are logged and the next round tries again)."""

    def __init__(self, interval: float, action: Callable[[], None], name: str) -> None:
        self.interval = interval
        self.action = action
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.action()
            except (RedisError, SQLAlchemyError, OSError) as exc:
                log.warning("%s: %s", self._thread.name, exc)
            except Exception:
                log.exception("%s failed", self._thread.name)
