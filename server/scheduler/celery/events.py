"""Job events across machines: published on a Redis channel, heard by every API node.

Workers publish each ``job`` and ``progress`` event (the ``JobInfo`` as JSON); every API node
subscribes once, in one thread, and hands each event to its own listeners (the WebSocket hub,
metrics), so a client may submit on one node and follow on another. Pub/sub keeps nothing: an
event published while a node is disconnected is lost to it, which is why the job rows, not the
events, say what a job's state is (a reconnecting client asks for it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from server.scheduler.base import JobEvent, JobInfo

log = logging.getLogger("imgedit.server.scheduler")

_DATES = ("created_at", "started_at", "finished_at")
#: Seconds between attempts to subscribe again after losing Redis.
RECONNECT_SECONDS = 0.5


def encode_event(event: JobEvent) -> str:
    job = asdict(event.job)
    for name in _DATES:
        value = job[name]
        job[name] = value.isoformat() if value is not None else None
    return json.dumps({"type": event.type, "job": job}, separators=(",", ":"))


def decode_event(data: str | bytes) -> JobEvent:
    frame = json.loads(data)
    job: dict[str, Any] = frame["job"]
    for name in _DATES:
        value = job.get(name)
        job[name] = datetime.fromisoformat(value) if value else None
    return JobEvent(type=frame["type"], job=JobInfo(**job))


class EventBus:
    """Publishes job events on the deployment's channel (best effort: see the module docstring)."""

    def __init__(self, client: Redis, channel: str) -> None:
        self.client = client
        self.channel = channel

    def publish(self, event: JobEvent) -> None:
        try:
            self.client.publish(self.channel, encode_event(event))
        except RedisError as exc:
            log.warning("job %s: event not published (%s)", event.job.id, exc)


class Subscriber:
    """One thread reading ``channel`` and calling ``handle`` with each message's data; it
    subscribes again after Redis goes away (a restart, a network cut) until ``stop``."""

    def __init__(self, client: Redis, channel: str, handle: Callable[[bytes], None], name: str) -> None:
        self.client = client
        self.channel = channel
        self.handle = handle
        self._stopped = threading.Event()
        self._subscribed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self, wait: float = 5.0) -> None:
        """Start listening; wait (up to ``wait`` seconds) until subscribed, so that events
        published right after this returns are heard."""
        self._thread.start()
        self._subscribed.wait(wait)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stopped.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                self._subscribed.set()
                while not self._stopped.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is None or message.get("type") != "message":
                        continue
                    try:
                        self.handle(message["data"])
                    except Exception:  # a bad message or listener must not stop the others
                        log.exception("%s: a message could not be handled", self.channel)
            except (RedisError, OSError) as exc:
                log.warning("%s: lost Redis (%s); subscribing again", self.channel, exc)
                self._stopped.wait(RECONNECT_SECONDS)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    pubsub.close()
