"""Spreading a batch's edits over worker processes, each with the editor built once.

Processes, not threads: the engine's Python, decoding and encoding hold the GIL for much of an
edit, so two threads on two cores reach well under twice one (bench/batch.py measures it).
On Linux the workers are forked from the batch's process, which has imported the engine and
built its ``ItemEditor`` (the editor, the glossary) already: a worker starts in milliseconds
with all of that in place, instead of a fresh interpreter importing it all again (a second or
two, on a batch whose whole point is throughput). Forking is safe here because the parent has
loaded no model and started no thread pool of its own at that point (the OCR and NSFW models
load in each worker on first use, and stay). Elsewhere the workers are spawned and build their
own. Workers ignore Ctrl-C (the parent stops the batch and says how to resume) and leave on their
own when the parent dies, even by SIGKILL. With one worker the edits run on a thread of the
parent: no process to start.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor

from batch.work import EditOutcome, EditTask, ItemEditor, WorkerConfig

#: How often a worker checks that the batch's process is still there (seconds).
PARENT_POLL_SECONDS = 0.5
#: glibc's ``mallopt`` parameters, and the values a worker sets (the largest mmap threshold glibc
#: accepts on 64-bit; a trim threshold above any picture's working set).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
_TRIM_THRESHOLD_BYTES = 1024 * 1024 * 1024

#: The editor a worker uses: inherited from the parent when forked, else built by the initializer.
_item_editor: ItemEditor | None = None


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)


def keep_freed_memory() -> None:
    """Let this process reuse the memory it frees instead of returning it to the kernel.

    By default glibc gives picture-sized buffers back (munmap, heap trimming) as soon as they are
    freed, and the next picture faults every page in again: 200 pictures of 1 MP cost 3.6 s of
    system time in page faults, a third of the batch's CPU, against 0.4 s with this (bench/batch.py).
    A worker decodes pictures of similar sizes over and over, so keeping its peak is cheap.
    Elsewhere than glibc this does nothing.
    """
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)
    except (OSError, AttributeError):  # not glibc (musl): its allocator has no such knobs
        return


def _init_worker(config: WorkerConfig, parent: int) -> None:
    global _item_editor
    import cv2

    # The processes are the parallelism: OpenCV's own threads in each would only contend for the
    # same cores (bench/batch.py: a batch on 2 cores is faster with one OpenCV thread per worker).
    cv2.setNumThreads(1)
    keep_freed_memory()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="parent-watch").start()
    if _item_editor is None or _item_editor.config != config:
        _item_editor = ItemEditor(config)


def _edit_in_worker(task: EditTask) -> EditOutcome:
    assert _item_editor is not None, "the pool's initializer builds the editor first"
    return _item_editor.edit(task)


class WorkerPool:
    """``submit(task)`` edits one item on a worker; use as a context manager.

    ``editor``: the ``ItemEditor`` the parent built already (forked workers inherit it)."""

    def __init__(self, editor: ItemEditor, workers: int) -> None:
        global _item_editor
        self.workers = workers
        self._local: ItemEditor | None = None
        self._executor: Executor
        if workers <= 1:
            self._local = editor
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch")
            return
        method = "fork" if sys.platform == "linux" else "spawn"
        if method == "fork":
            _item_editor = editor
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(method),
            initializer=_init_worker,
            initargs=(editor.config, os.getpid()),
        )

    def submit(self, task: EditTask) -> Future[EditOutcome]:
        if self._local is not None:
            return self._executor.submit(self._local.edit, task)
        return self._executor.submit(_edit_in_worker, task)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        # On an interruption, queued edits are dropped; edits under way finish (their results are
        # complete files, redone by the next run since they are not in the journal).
        self._executor.shutdown(wait=True, cancel_futures=True)
