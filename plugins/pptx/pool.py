"""Editing the distinct images of a deck, in parallel.

Two ways to use the cores: threads sharing one ``Editor`` (Pillow, OpenCV and numpy release the
GIL for most of the work; also the only way to share a GPU model, and how a caller's own editor
is used), or processes with one ``Editor`` each (no GIL at all; costs a second or so to start).
``bench/deck.py`` measures both; ``choose_mode`` encodes what it found.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass, field
from typing import Literal

from engine import Editor, EditPlan
from engine.types import CancelToken
from imgedit.errors import EditCancelledError, EngineError, ImgEditError
from plugins.pptx.codec import decode_part, encode_frames

Mode = Literal["serial", "thread", "process"]
#: Below this many distinct images a process pool costs more to start than it saves.
PROCESS_POOL_MIN_IMAGES = 6


@dataclass(frozen=True)
class ImageJob:
    key: str  # sha256 of the original bytes
    name: str  # the part name, for messages
    data: bytes


@dataclass
class Outcome:
    data: bytes | None
    seconds: float
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


def restyle_image(
    editor: Editor, plan: EditPlan, seed: int, job: ImageJob, *, cancel: CancelToken | None = None
) -> Outcome:
    """Decode, edit every frame with the deck's plan (an animation keeps each frame's timing),
    encode in the same format. A problem with this one image (unreadable, refused by the engine)
    is an outcome, not an exception: the deck goes on."""
    started = time.perf_counter()
    warnings: list[str] = []
    try:
        decoded = decode_part(job.data, job.name, max_pixels=editor.settings.max_image_pixels)
        frames = []
        for frame in decoded.frames:
            result = editor.edit(image=frame, prompt=plan.instruction, plan=plan, seed=seed, cancel=cancel)
            if result.image.size != frame.size:
                raise EngineError(
                    f"The engine returned {result.image.size} for {job.name}, which is {frame.size}."
                )
            frames.append(result.image)
            warnings.extend(w for w in result.report.warnings if w not in warnings)
        data = encode_frames(frames, decoded)
    except EditCancelledError:
        raise
    except ImgEditError as exc:
        return Outcome(None, time.perf_counter() - started, error=str(exc))
    return Outcome(data, time.perf_counter() - started, warnings=warnings)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def choose_mode(jobs: int, workers: int, engine_name: str, editor_given: bool) -> Mode:
    if workers <= 1 or jobs <= 1:
        return "serial"
    if editor_given or engine_name != "classic" or jobs < PROCESS_POOL_MIN_IMAGES:
        return "thread"
    return "process"


def run_jobs(
    jobs: Iterable[ImageJob],
    *,
    editor: Editor,
    plan: EditPlan,
    seed: int,
    workers: int,
    mode: Mode,
    on_done: Callable[[ImageJob, Outcome], None],
    cancel: CancelToken | None = None,
) -> None:
    """Edit every job, calling ``on_done`` in this thread as each finishes; stop on ``cancel``."""
    pending_jobs = list(jobs)
    if mode == "serial":
        for job in pending_jobs:
            if cancel is not None:
                cancel.raise_if_cancelled()
            on_done(job, restyle_image(editor, plan, seed, job, cancel=cancel))
        return
    executor: Executor
    if mode == "thread":
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deck")
    else:
        executor = ProcessPoolExecutor(
            max_workers=workers,
            initializer=_init_worker,
            initargs=(editor.engine_name, plan.model_dump_json(), seed),
        )
    futures: dict[Future[Outcome], ImageJob] = {}
    try:
        for job in pending_jobs:
            if mode == "thread":
                future = executor.submit(restyle_image, editor, plan, seed, job, cancel=cancel)
            else:
                future = executor.submit(_worker_restyle, job)
            futures[future] = job
        remaining = set(futures)
        while remaining:
            done, remaining = wait(remaining, timeout=0.2, return_when=FIRST_COMPLETED)
            if cancel is not None:
                cancel.raise_if_cancelled()
            for future in done:
                on_done(futures[future], future.result())
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


# -- process workers: one Editor per process, built once -------------------------------------


@dataclass(frozen=True)
class _WorkerState:
    """What a worker process builds once in ``_init_worker`` and reuses for every image."""

    editor: Editor
    plan: EditPlan
    seed: int


_worker_state: _WorkerState | None = None


def _init_worker(engine_name: str, plan_json: str, seed: int) -> None:
    global _worker_state
    _worker_state = _WorkerState(Editor(engine=engine_name), EditPlan.model_validate_json(plan_json), seed)


def _worker_restyle(job: ImageJob) -> Outcome:
    state = _worker_state
    assert state is not None, "_init_worker runs before any job in a worker process"
    return restyle_image(state.editor, state.plan, state.seed, job)
