"""Fan-out of job events to WebSocket connections, with a send queue per connection.

Workers run in threads; each connection has its own bounded asyncio queue and its own sender
task, and events are handed over with ``call_soon_threadsafe``, once per event loop rather than
once per connection (each call wakes the loop with a syscall; 32 clients of one tenant made that
32 wake-ups per frame in bench/server_load.py). A slow client therefore only
fills its own queue: when it is full, its oldest progress frames are dropped (a newer one says
more), and a client that cannot even take status frames is disconnected rather than allowed to
hold memory or delay anyone else.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from server.scheduler import JobEvent, JobInfo

log = logging.getLogger("imgedit.server.ws")

SEND_QUEUE_SIZE = 256


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


def event_frame(event: JobEvent) -> dict[str, Any]:
    if event.type == "progress":
        return {
            "type": "progress",
            "job_id": event.job.id,
            "done": event.job.progress_done,
            "total": event.job.progress_total,
        }
    return job_frame(event.job)


class Connection:
    """One WebSocket client: its tenant and its outgoing frames."""

    def __init__(self, tenant: str, loop: asyncio.AbstractEventLoop) -> None:
        self.tenant = tenant
        self.loop = loop
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=SEND_QUEUE_SIZE)
        self.too_slow = False

    def offer(self, frame: dict[str, Any]) -> None:
        """Queue ``frame`` (call on the connection's loop); never blocks."""
        if self.queue.full():
            if frame["type"] == "progress":
                return
            dropped = self._drop_one_progress()
            if not dropped:
                self.too_slow = True  # the sender task sees this and closes the socket
                return
        self.queue.put_nowait(frame)

    def _drop_one_progress(self) -> bool:
        items: list[dict[str, Any] | None] = []
        dropped = False
        while not self.queue.empty():
            item = self.queue.get_nowait()
            if not dropped and item is not None and item.get("type") == "progress":
                dropped = True
                continue
            items.append(item)
        for item in items:
            self.queue.put_nowait(item)
        return dropped

    def send_threadsafe(self, frame: dict[str, Any]) -> None:
        self.loop.call_soon_threadsafe(self.offer, frame)


def _offer_all(conns: list[Connection], frame: dict[str, Any]) -> None:
    """Runs on the connections' loop: queue ``frame`` for each of them."""
    for conn in conns:
        conn.offer(frame)


class EventHub:
    """Routes each job event to the connections of the job's tenant."""

    def __init__(self) -> None:
        self._connections: dict[str, set[Connection]] = {}
        self._lock = threading.Lock()

    def add(self, conn: Connection) -> None:
        with self._lock:
            self._connections.setdefault(conn.tenant, set()).add(conn)

    def remove(self, conn: Connection) -> None:
        with self._lock:
            conns = self._connections.get(conn.tenant)
            if conns is not None:
                conns.discard(conn)
                if not conns:
                    del self._connections[conn.tenant]

    def count(self) -> int:
        with self._lock:
            return sum(len(c) for c in self._connections.values())

    def publish(self, tenant: str, frame: dict[str, Any]) -> None:
        """Send ``frame`` to every connection of ``tenant``; safe from any thread."""
        with self._lock:
            targets = list(self._connections.get(tenant, ()))
        by_loop: dict[asyncio.AbstractEventLoop, list[Connection]] = {}
        for conn in targets:
            by_loop.setdefault(conn.loop, []).append(conn)
        for loop, conns in by_loop.items():
            try:
                loop.call_soon_threadsafe(_offer_all, conns, frame)
            except RuntimeError:  # the loop is closed: its connections are going away
                for conn in conns:
                    self.remove(conn)

    def on_job_event(self, event: JobEvent) -> None:
        job = event.job
        self.publish(job.tenant, event_frame(event))
        if job.kind == "chat" and event.type == "job" and job.status == "done":
            self.publish(job.tenant, reply_frame(job))


def reply_frame(job: JobInfo) -> dict[str, Any]:
    """The agent's turn, to every client of the tenant (many clients may watch one session)."""
    turn = {k: v for k, v in job.result.items() if k != "type"}
    frame: dict[str, Any] = {"type": "reply", "job_id": job.id, "session_id": job.params.get("session_id")}
    frame.update(turn)
    if turn.get("version_id"):
        frame["image_url"] = f"/v1/versions/{turn['version_id']}/image"
    return frame
