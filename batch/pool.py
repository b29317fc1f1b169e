"""Spreading a batch's edits over worker processes, each with its own editor built once.

Processes, not threads: the engine's Python, decoding and encoding hold the GIL for much of an
edit, so two threads on two cores reach well under twice one (bench/batch.py measures it). The
workers come from a ``forkserver`` that has imported the engine once, so each further worker is a
cheap fork; each builds its ``ItemEditor`` (the editor, the glossary; models load on first use
and stay) in the pool's initializer. Workers ignore Ctrl-C (the parent stops the batch and says
how to resume) and leave on their own when the parent dies, even by SIGKILL.
With one worker the edits run on a thread of the parent: no process to start.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor

from batch.work import EditOutcome, EditTask, ItemEditor, WorkerConfig

#: How often a worker checks that the batch's process is still there (seconds).
PARENT_POLL_SECONDS = 0.5

_item_editor: ItemEditor | None = None


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)


def _init_worker(config: WorkerConfig, parent: int) -> None:
    global _item_editor
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="parent-watch").start()
    _item_editor = ItemEditor(config)


def _edit_in_worker(task: EditTask) -> EditOutcome:
    assert _item_editor is not None, "the pool's initializer builds the editor first"
    return _item_editor.edit(task)


class WorkerPool:
    """``submit(task)`` edits one item on a worker; use as a context manager."""

    def __init__(self, config: WorkerConfig, workers: int) -> None:
        self.workers = workers
        self._executor: Executor
        if workers <= 1:
            self._local: ItemEditor | None = ItemEditor(config)
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch")
        else:
            self._local = None
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["engine.editor", "engine.classic", "batch.work"])
            self._executor = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(config, os.getpid()),
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
