"""Classic edits in worker processes (server/edit_workers.py): real processes, real engine, real blobs.

The pool is started once for the module (one forkserver, one worker), as a server reuses it.
"""

from __future__ import annotations

import io
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

from engine.types import CancelToken
from imgedit.errors import EditCancelledError, UnsupportedOperationError
from jobs.edit import EditParams, EditTask
from server.edit_workers import EditWorkerPool, processes_enabled
from sessions.blobs import FileBlobStore
from tests.conftest import skimage_photo
from tests.server_harness import LiveServer, png_bytes, server_settings, wait_for_job


@pytest.fixture(scope="module")
def blobs(tmp_path_factory: pytest.TempPathFactory) -> FileBlobStore:
    return FileBlobStore(tmp_path_factory.mktemp("worker-blobs"))


@pytest.fixture(scope="module")
def pool(blobs: FileBlobStore) -> Iterator[EditWorkerPool]:
    settings = server_settings(blobs.root.parent)
    workers = EditWorkerPool(settings, blobs.url, size=1)
    yield workers
    workers.close()


def brightness(data: bytes) -> float:
    return float(np.asarray(Image.open(io.BytesIO(data)).convert("L")).mean())


def test_an_edit_runs_in_another_process_and_reports_progress_in_order(
    pool: EditWorkerPool, blobs: FileBlobStore
) -> None:
    photo = png_bytes(skimage_photo("coffee"))
    source = blobs.put(photo)
    steps: list[tuple[int, int]] = []
    with pool.worker() as worker:
        product = worker.run(
            EditTask(source, EditParams(instruction="make it brighter", seed=1)),
            progress=lambda d, t: steps.append((d, t)),
            cancel=CancelToken(),
        )
        pid = worker.process.pid
    assert pid != os.getpid() and pool.pids() == [pid]
    assert steps and steps == sorted(steps) and steps[-1][0] == steps[-1][1]
    assert product.digest is not None and product.data is None  # stored by the worker
    assert brightness(blobs.get(product.digest)) > brightness(photo) + 5
    assert product.engine_seconds > 0 and {"decode", "encode", "store", "dispatch", "start"} <= set(
        product.timings
    )

    # The same process takes the next job (no start-up again); a session edit gets the bytes back.
    with pool.worker() as worker:
        again = worker.run(
            EditTask(source, EditParams(instruction="降低饱和度", format="JPEG"), keep_bytes=True),
            progress=lambda d, t: None,
            cancel=CancelToken(),
        )
        assert worker.process.pid == pid
    assert "start" not in again.timings and again.digest is None
    assert again.data is not None and Image.open(io.BytesIO(again.data)).format == "JPEG"


def test_user_errors_and_cancel_cross_the_process_boundary(
    pool: EditWorkerPool, blobs: FileBlobStore
) -> None:
    source = blobs.put(png_bytes(skimage_photo("coffee")))
    with pool.worker() as worker:
        with pytest.raises(UnsupportedOperationError) as refused:
            worker.run(
                EditTask(source, EditParams(instruction="add a cat on the left")),
                lambda d, t: None,
                CancelToken(),
            )
        assert refused.value.hint and "qwen" in refused.value.hint  # the hint survives the trip
        cancelled = CancelToken()
        cancelled.cancel()
        with pytest.raises(EditCancelledError):
            worker.run(
                EditTask(source, EditParams(instruction="make it warmer")), lambda d, t: None, cancelled
            )
        # The worker stopped that edit and is ready for the next one.
        done = worker.run(
            EditTask(source, EditParams(instruction="make it warmer")), lambda d, t: None, CancelToken()
        )
        assert done.digest is not None


def test_a_worker_that_died_is_replaced_and_close_stops_them(blobs: FileBlobStore) -> None:
    workers = EditWorkerPool(server_settings(blobs.root.parent), blobs.url, size=1)
    source = blobs.put(png_bytes(skimage_photo("coffee")))
    task = EditTask(source, EditParams(instruction="make it brighter"))
    try:
        with workers.worker() as worker:
            worker.run(task, lambda d, t: None, CancelToken())
        [first] = workers.pids()
        os.kill(first, signal.SIGKILL)
        psutil.Process(first).wait(10)
        with workers.worker() as worker:
            assert worker.run(task, lambda d, t: None, CancelToken()).digest is not None
        [second] = workers.pids()
        assert second != first
    finally:
        workers.close()
    assert workers.pids() == []
    assert not psutil.pid_exists(second) or psutil.Process(second).status() == psutil.STATUS_ZOMBIE


def test_the_default_follows_the_cores(tmp_path: Path) -> None:
    assert processes_enabled(server_settings(tmp_path), 2)
    assert not processes_enabled(server_settings(tmp_path), 1)
    assert not processes_enabled(server_settings(tmp_path, classic_processes=False), 8)


def test_a_running_edit_job_is_cancelled_and_its_worker_takes_the_next_job(tmp_path: Path) -> None:
    photo = png_bytes(skimage_photo("coffee"))
    settings = server_settings(tmp_path / "home", job_step_delay=5.0, classic_workers=1)
    with LiveServer(settings) as live, live.client(live.key()) as client:
        files = {"file": ("c.png", photo, "image/png")}
        slow = client.post("/v1/edits", files=files, data={"instruction": "make it brighter"})
        job_id = slow.json()["job_id"]
        deadline = time.monotonic() + 20
        while client.get(f"/v1/jobs/{job_id}").json()["progress"]["done"] < 1:
            assert time.monotonic() < deadline, "the job never reported progress"
            time.sleep(0.05)
        started = time.monotonic()
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 200
        final = wait_for_job(client, job_id, timeout=10)
        assert final["status"] == "cancelled" and time.monotonic() - started < 3
        pids = live.app.state.edit_workers.pids()
        assert len(pids) == 1
        live.app.state.ctx.queue.step_delay = 0.0  # the next job at full speed, same worker
        fast = client.post("/v1/edits", files=files, data={"instruction": "more contrast"})
        assert wait_for_job(client, fast.json()["job_id"])["status"] == "done"
        assert live.app.state.edit_workers.pids() == pids
    assert not psutil.pid_exists(pids[0]) or psutil.Process(pids[0]).status() == psutil.STATUS_ZOMBIE
