"""Routing of job events to the WebSocket connections that asked for them, one send queue each.

A connection receives the events of a job only when it cares about that job: it submitted it over
the socket (``edit``, ``message``), subscribed to it (``subscribe``), or joined the job's session
(``join``; many clients may follow one session). Broadcasting every event to every connection of
the tenant made each job cost O(connections) of queueing, encoding and sending, and showed every
user of a shared tenant everyone else's jobs. Each frame is encoded to JSON once per publish, not
once per connection.

Workers run in threads; each connection has its own bounded send queue and sender task
(``server.sockets``, shared with the Figma socket), and events are handed over with
``call_soon_threadsafe``, once per event loop rather than once per connection (each call wakes
the loop with a syscall). A slow client therefore only fills its own queue: when it is full, its
oldest progress frames are dropped (a newer one says more), and a client that cannot even take
status frames is disconnected (1013) rather than allowed to hold memory or delay anyone else.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from imgedit.errors import BadInputError
from server.scheduler import JobEvent, JobInfo
from server.scheduler.base import FINISHED
from server.sockets import Outgoing, SendQueue

log = logging.getLogger("imgedit.server.ws")

#: Jobs and sessions one connection may follow at once (each costs a little memory in the hub).
MAX_FOLLOWED = 1000


def job_frame(info: JobInfo) -> dict[str, Any]:
    """The ``job`` frame for a job: its status, and where its result is once done."""
    frame: dict[str, Any] = {
        "type": "job",
        "job_id": info.id,
        "kind": info.kind,
        "status": info.status,
        "done": info.progress_done,
        "total": info.progress_total,
        "cached": info.cached,
    }
    if info.params.get("session_id"):
        frame["session_id"] = info.params["session_id"]
    if info.status == "done":
        if info.result_blob:
            frame["result_url"] = f"/v1/jobs/{info.id}/result"
        if info.result.get("version_id"):
            frame["version_id"] = info.result["version_id"]
            frame["image_url"] = f"/v1/versions/{info.result['version_id']}/image"
    if info.error:
        frame["error"] = {k: v for k, v in info.error.items() if k in ("code", "message", "hint")}
    return frame


def progress_frame(info: JobInfo) -> dict[str, Any]:
    return {"type": "progress", "job_id": info.id, "done": info.progress_done, "total": info.progress_total}


def event_frame(event: JobEvent) -> dict[str, Any]:
    if event.type == "progress":
        return progress_frame(event.job)
    return job_frame(event.job)


def state_frames(info: JobInfo) -> list[dict[str, Any]]:
    """What a client that starts following a job late needs to catch up: its state (and progress)."""
    frames = [job_frame(info)]
    if info.status == "running" and info.progress_total:
        frames.append(progress_frame(info))
    return frames


def reply_frame(job: JobInfo) -> dict[str, Any]:
    """The agent's turn, to every client that follows the chat job or its session."""
    turn = {k: v for k, v in job.result.items() if k != "type"}
    frame: dict[str, Any] = {"type": "reply", "job_id": job.id, "session_id": job.params.get("session_id")}
    frame.update(turn)
    if turn.get("version_id"):
        frame["image_url"] = f"/v1/versions/{turn['version_id']}/image"
    return frame


@dataclass(eq=False)
class Connection:
    """One WebSocket client: its tenant, what it follows and its outgoing frames."""

    tenant: str
    loop: asyncio.AbstractEventLoop
    out: SendQueue = field(default_factory=SendQueue)
    #: Owned by the hub, changed under its lock.
    jobs: set[str] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)

    def offer(self, frame: dict[str, Any] | Outgoing) -> None:
        """Queue ``frame`` (call on the connection's loop); never blocks (see ``SendQueue``)."""
        self.out.offer(frame)


def _offer_all(conns: list[Connection], item: Outgoing) -> None:
    """Runs on the connections' loop: queue ``item`` for each of them."""
    for conn in conns:
        conn.offer(item)


class EventHub:
    """Routes each job event to the connections that follow the job or its session."""

    def __init__(self) -> None:
        self._connections: set[Connection] = set()
        self._by_job: dict[str, set[Connection]] = {}
        self._by_session: dict[str, set[Connection]] = {}
        self._lock = threading.Lock()

    def add(self, conn: Connection) -> None:
        with self._lock:
            self._connections.add(conn)

    def remove(self, conn: Connection) -> None:
        with self._lock:
            self._connections.discard(conn)
            for job_id in conn.jobs:
                _discard(self._by_job, job_id, conn)
            for session_id in conn.sessions:
                _discard(self._by_session, session_id, conn)
            conn.jobs.clear()
            conn.sessions.clear()

    def count(self) -> int:
        with self._lock:
            return len(self._connections)

    def subscribe(self, conn: Connection, job_id: str) -> None:
        """Send ``job_id``'s events to ``conn`` (the caller has checked the tenant)."""
        with self._lock:
            _check_room(conn)
            conn.jobs.add(job_id)
            self._by_job.setdefault(job_id, set()).add(conn)

    def unsubscribe(self, conn: Connection, job_id: str) -> None:
        with self._lock:
            conn.jobs.discard(job_id)
            _discard(self._by_job, job_id, conn)

    def join(self, conn: Connection, session_id: str) -> None:
        """Send the events of every job on ``session_id``, and the agent's replies, to ``conn``."""
        with self._lock:
            if session_id not in conn.sessions:
                _check_room(conn)
            conn.sessions.add(session_id)
            self._by_session.setdefault(session_id, set()).add(conn)

    def leave(self, conn: Connection, session_id: str) -> None:
        with self._lock:
            conn.sessions.discard(session_id)
            _discard(self._by_session, session_id, conn)

    def publish(self, job: JobInfo, frame: dict[str, Any]) -> None:
        """Send ``frame`` to the followers of ``job`` and of its session; safe from any thread."""
        session_id = job.params.get("session_id")
        with self._lock:
            targets = set(self._by_job.get(job.id, ()))
            if session_id:
                targets.update(self._by_session.get(session_id, ()))
        if not targets:
            return
        item = Outgoing.of(frame)  # encoded once, whatever the number of followers
        by_loop: dict[asyncio.AbstractEventLoop, list[Connection]] = {}
        for conn in targets:
            by_loop.setdefault(conn.loop, []).append(conn)
        for loop, conns in by_loop.items():
            try:
                loop.call_soon_threadsafe(_offer_all, conns, item)
            except RuntimeError:  # the loop is closed: its connections are going away
                for conn in conns:
                    self.remove(conn)

    def on_job_event(self, event: JobEvent) -> None:
        job = event.job
        self.publish(job, event_frame(event))
        if event.type != "job" or job.status not in FINISHED:
            return
        if job.kind == "chat" and job.status == "done":
            self.publish(job, reply_frame(job))
        with self._lock:  # a finished job sends nothing more: forget who followed it
            for conn in self._by_job.pop(job.id, ()):
                conn.jobs.discard(job.id)


def _discard(index: dict[str, set[Connection]], key: str, conn: Connection) -> None:
    conns = index.get(key)
    if conns is not None:
        conns.discard(conn)
        if not conns:
            del index[key]


def _check_room(conn: Connection) -> None:
    if len(conn.jobs) + len(conn.sessions) >= MAX_FOLLOWED:
        raise BadInputError(
            f"A connection follows at most {MAX_FOLLOWED} jobs and sessions; unsubscribe from finished ones."
        )
