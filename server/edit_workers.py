"""Classic edit jobs in worker processes, so the server's interpreter only does HTTP and bookkeeping.

Under load a server running the engine in threads is limited by the GIL, not by the cores: the
engine's Python, decoding and encoding share one interpreter with the event loop, WebSocket
fan-out and SQLAlchemy (bench/server_load.py). Here each classic slot gets its own process with
its own ``Editor``; the job's whole image work (``jobs.edit.perform_edit``: read the input blob,
decode, ``Editor.edit``, encode, store the result blob) happens there, and the server thread
that holds the slot only forwards progress and waits.

- Processes come from a ``forkserver``: the first one costs one interpreter start with the engine
  imported (about a second, once per server process); each further one is a fork of it.
  They start on the first classic job, one per slot, and are reused for every later job.
- Each worker talks to its slot over a ``Pipe``: the job goes down, ``progress`` messages and
  one final answer come back in order. Progress is forwarded by the waiting thread, so the
  scheduler's progress path, its batching and the ``IMGEDIT_JOB_STEP_DELAY`` knob are unchanged.
- Cancel is a ``multiprocessing.Event`` per worker that the engine polls between steps, as it
  polls a ``CancelToken`` in-process.
- A worker blocks on its pipe between jobs, so when the server dies (even by SIGKILL) the pipe
  closes and the worker exits; the forkserver exits with the server too. Jobs then re-run once on
  restart, as the scheduler already guarantees.
- Errors cross the boundary as the same ``ImgEditError`` subclasses; a worker that dies mid-job
  fails that job as our error and is replaced for the next one.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import lru_cache
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext
from multiprocessing.synchronize import Event as SharedEvent
from typing import Any

from engine import Editor
from engine.types import CancelToken
from imgedit.config import Settings
from imgedit.errors import EditCancelledError, EngineError, ImgEditError
from jobs.edit import EditProduct, EditTask, perform_edit
from sessions.blobs import open_blob_store

log = logging.getLogger("imgedit.server.workers")

#: How often a waiting slot looks at its job's cancel token (seconds).
CANCEL_POLL_SECONDS = 0.1
#: How long closing waits for a worker to leave on its own before terminating it.
CLOSE_TIMEOUT = 5.0
#: How long a new worker may take to import the engine and say it is ready.
START_TIMEOUT = 120.0

Progress = Callable[[int, int], None]


# -- the worker process -----------------------------------------------------------------------


class _SharedCancel(CancelToken):
    """A ``CancelToken`` backed by a ``multiprocessing.Event`` the server sets from its side."""

    def __init__(self, event: SharedEvent) -> None:
        self._shared = event

    def cancel(self) -> None:
        self._shared.set()

    @property
    def cancelled(self) -> bool:
        return self._shared.is_set()

    def raise_if_cancelled(self) -> None:
        if self._shared.is_set():
            raise EditCancelledError("The edit was cancelled.")


def _worker_main(conn: Connection, cancel: SharedEvent, settings: Settings, blob_url: str) -> None:
    """A worker's life: build one ``Editor``, then run tasks until told to stop or orphaned."""
    # Ctrl-C in a terminal reaches the whole process group; the server decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    editor = Editor(engine="classic", settings=settings)
    editor.backend("classic")
    blobs = open_blob_store(settings, blob_url)  # the server's store, a folder or S3, opened here
    token = _SharedCancel(cancel)
    conn.send(("ready",))

    def progress(done: int, total: int) -> None:
        conn.send(("progress", done, total))

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return  # the server is gone
        if task is None:
            return
        try:
            product = perform_edit(editor, blobs, settings, task, progress=progress, cancel=token)
            answer: tuple[Any, ...] = ("done", product)
        except ImgEditError as exc:
            answer = ("error", type(exc), exc.message, dict(vars(exc)))
        except Exception as exc:
            answer = ("crash", type(exc).__name__, traceback.format_exc())
        try:
            conn.send(answer)
        except (BrokenPipeError, OSError):
            return


def _rebuild_error(cls: type[ImgEditError], message: str, state: dict[str, Any]) -> ImgEditError:
    """The worker's ``ImgEditError`` again, with its hint and extra fields (plain pickling loses them)."""
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


@lru_cache(maxsize=1)
def _context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    # The forkserver imports the engine once; every worker is a fork of it, ready in tens of milliseconds.
    context.set_forkserver_preload(["server.edit_workers", "jobs.edit", "engine.classic"])
    return context


class EditWorker:
    """One worker process and the server's end of its pipe."""

    def __init__(self, settings: Settings, blob_url: str, name: str) -> None:
        context = _context()
        self.conn, child = context.Pipe()
        self.cancel = context.Event()
        self.process = context.Process(
            target=_worker_main,
            args=(child, self.cancel, settings, blob_url),
            name=name,
            daemon=True,
        )
        started = time.perf_counter()
        self.process.start()
        child.close()  # only the worker holds its end: its death reads as end-of-file here
        if not wait([self.conn, self.process.sentinel], START_TIMEOUT) or not self.conn.poll():
            self.close()
            raise EngineError("The edit worker process did not start.", hint="See the server's log.")
        try:
            self.conn.recv()
        except (EOFError, OSError):
            self.close()
            raise EngineError(
                "The edit worker process did not start.", hint="See the server's log."
            ) from None
        #: Seconds the start took, reported once, with the first job this worker runs.
        self.start_seconds = time.perf_counter() - started

    @property
    def alive(self) -> bool:
        """Running, and still holding its end of the pipe.

        The pipe is checked too because a killed worker's exit reaches ``is_alive`` through the
        forkserver, a moment later; an idle worker never has anything to say, so a readable pipe
        means its end closed. Lending such a worker failed the next job with a broken pipe.
        """
        return self.process.is_alive() and not self.conn.poll()

    def run(self, task: EditTask, progress: Progress, cancel: CancelToken) -> EditProduct:
        """Run ``task`` in the worker, forwarding its progress; returns once the worker has answered.

        A cancel is passed on to the worker, and this still waits for the worker's answer (it
        stops at its next step), so the worker is idle again when this returns or raises.
        """
        asked_to_stop = cancel.cancelled
        if asked_to_stop:
            self.cancel.set()
        else:
            self.cancel.clear()
        self.conn.send(task)
        sent = time.perf_counter()
        while True:
            if cancel.cancelled and not asked_to_stop:
                self.cancel.set()
                asked_to_stop = True
            ready = wait([self.conn, self.process.sentinel], CANCEL_POLL_SECONDS)
            if not ready:
                continue
            try:
                message = self.conn.recv() if self.conn.poll() else None
            except (EOFError, OSError):
                message = None
            if message is None:
                if self.process.is_alive():
                    continue
                self.process.join()
                raise EngineError(
                    f"The edit worker process stopped during the job (exit code {self.process.exitcode}).",
                    hint="Try again; if it happens again, the image may be too large for this server.",
                )
            kind = message[0]
            if kind == "progress":
                if not asked_to_stop:
                    progress(message[1], message[2])
                continue
            if kind == "done":
                product: EditProduct = message[1]
                # The hand-over there and back: pickling, the pipe, this thread waking up.
                product.timings["dispatch"] = max(0.0, time.perf_counter() - sent - product.wall_seconds)
                if self.start_seconds:
                    product.timings["start"], self.start_seconds = self.start_seconds, 0.0
                return product
            if kind == "error":
                raise _rebuild_error(message[1], message[2], message[3])
            log.error("edit worker failed:\n%s", message[2])
            raise RuntimeError(f"The edit worker failed ({message[1]}).")

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        with suppress(BrokenPipeError, OSError):
            self.conn.send(None)
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
        self.conn.close()


@dataclass
class EditWorkerPool:
    """``size`` worker processes, started on first use and reused; one per classic slot.

    ``with pool.worker() as worker:`` lends an idle worker (starting one while fewer than
    ``size`` exist). The scheduler never runs more classic jobs than there are slots, so a
    worker is always free for the thread that asks.
    """

    settings: Settings
    blob_url: str  # ``BlobStore.url``: each worker opens the store again in its own process
    size: int
    _idle: list[EditWorker] = field(default_factory=list)
    _started: int = 0
    _closed: bool = False
    _cond: threading.Condition = field(default_factory=threading.Condition)

    @contextmanager
    def worker(self) -> Iterator[EditWorker]:
        with self._cond:
            while not self._idle and self._started >= self.size and not self._closed:
                self._cond.wait()
            if self._closed:
                raise EditCancelledError("The server is shutting down.")
            lent = self._idle.pop() if self._idle else None
            if lent is None:
                self._started += 1
            elif not lent.alive:
                # Killed while idle (the OOM killer, an operator): its place goes to a new one.
                log.warning("edit worker %s had exited (code %s)", lent.process.pid, lent.process.exitcode)
                lent.close()
                lent = None
        if lent is None:
            try:
                lent = EditWorker(self.settings, self.blob_url, name=f"imgedit-classic-{self._started}")
            except BaseException:
                with self._cond:
                    self._started -= 1
                    self._cond.notify()
                raise
        try:
            yield lent
        finally:
            self._give_back(lent)

    def pids(self) -> list[int]:
        """The live workers' process ids (for tests and diagnostics)."""
        with self._cond:
            return [w.process.pid for w in self._idle if w.process.pid is not None and w.alive]

    def close(self) -> None:
        """Stop every idle worker; a worker still busy is stopped when it is given back."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._started -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.close()

    def _give_back(self, worker: EditWorker) -> None:
        with self._cond:
            keep = worker.alive and not self._closed
            if keep:
                self._idle.append(worker)
            else:
                self._started -= 1
            self._cond.notify()
        if not keep:
            worker.close()


def processes_enabled(settings: Settings, cpu_count: int | None) -> bool:
    """``IMGEDIT_CLASSIC_PROCESSES``, or by default: processes when there is more than one core."""
    if settings.classic_processes is not None:
        return settings.classic_processes
    return (cpu_count or 1) > 1
