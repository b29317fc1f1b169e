"""Faults: the server process is killed (SIGKILL) during a running job and started again.

Uses a real ``imgedit serve`` subprocess. ``IMGEDIT_JOB_STEP_DELAY`` (a documented testing knob)
makes each progress step of a job take seconds, so the kill lands while the job is running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import skimage_photo
from tests.server_harness import Storage, free_port, png_bytes, serving_soon, wait_for_job


def _env(home: Path, storage: Storage | None = None, **extra: str) -> dict[str, str]:
    env = {**os.environ, "IMGEDIT_HOME": str(home), "IMGEDIT_ENGINE": "classic", "IMGEDIT_NSFW_CHECK": "0"}
    env.update(IMGEDIT_CLASSIC_WORKERS="1", HF_HUB_OFFLINE="1", **extra)
    env.update(storage.environment(home) if storage is not None else {})
    return env


def _imgedit(*args: str) -> list[str]:
    return [sys.executable, "-c", "from cli.main import main; main()", *args]


class ServerProcess:
    def __init__(self, home: Path, port: int, storage: Storage | None = None, **env: str) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            _imgedit("serve", "--port", str(port), "--log-level", "warning"),
            env=_env(home, storage, **env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if not serving_soon(self.url, self.proc):
            raise RuntimeError(f"imgedit serve did not start: {self.proc.stderr.read()!r}")  # type: ignore[union-attr]

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


def api_key(home: Path, tenant: str, storage: Storage | None = None) -> str:
    """A key made by ``imgedit keys create``, as an operator makes one."""
    return subprocess.run(
        _imgedit("keys", "create", "--tenant", tenant),
        env=_env(home, storage),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "served-home"


@pytest.fixture
def processes() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for proc in started:
        if proc.proc.poll() is None:
            proc.proc.kill()
            proc.proc.wait(10)


def test_killed_server_finishes_running_and_queued_jobs_once(
    home: Path, processes: list[ServerProcess], storage: Storage
) -> None:
    """On each storage: the embedded one, and PostgreSQL + S3 (where the job rows and the blobs
    the restarted server finds live in the servers, not in its home folder)."""
    headers = {"Authorization": f"Bearer {api_key(home, 'acme', storage)}"}
    port = free_port()
    slow = ServerProcess(home, port, storage, IMGEDIT_JOB_STEP_DELAY="30")
    processes.append(slow)
    with httpx.Client(base_url=slow.url, headers=headers, timeout=30) as client:
        session_id = client.post("/v1/sessions").json()["id"]
        photo = png_bytes(skimage_photo("coffee"))
        added = client.post(
            f"/v1/sessions/{session_id}/images", files={"file": ("c.png", photo, "image/png")}
        )
        image_id = added.json()["image_id"]
        running = client.post(f"/v1/sessions/{session_id}/edits", json={"instruction": "make it brighter"})
        queued = client.post(
            "/v1/edits", files={"file": ("c.png", photo, "image/png")}, data={"instruction": "more contrast"}
        )
        running_id, queued_id = running.json()["job_id"], queued.json()["job_id"]
        deadline = time.monotonic() + 20
        while client.get(f"/v1/jobs/{running_id}").json()["progress"]["done"] < 1:
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.1)
        assert client.get(f"/v1/jobs/{queued_id}").json()["status"] == "queued"
    # The edit runs in a worker process (more than one core here): it must not outlive the server.
    helpers = psutil.Process(slow.proc.pid).children(recursive=True)
    assert helpers, "the classic edit did not run in a worker process"
    slow.kill()  # mid-job: the engine step is done, the job is waiting in its slow progress step
    _, left = psutil.wait_procs(helpers, timeout=10)
    assert not left, f"processes outlived the killed server: {left}"

    restarted = ServerProcess(home, port, storage)
    processes.append(restarted)
    with httpx.Client(base_url=restarted.url, headers=headers, timeout=30) as client:
        first = wait_for_job(client, running_id)
        second = wait_for_job(client, queued_id)
        assert first["status"] == "done" and second["status"] == "done"
        assert first["attempts"] == 2  # started before the kill, re-queued and run again after it
        versions = client.get(f"/v1/sessions/{session_id}").json()["images"][0]["versions"]
        assert [v["number"] for v in versions] == [0, 1]  # one edit, one version: none lost, none doubled
        assert versions[1]["id"] == first["result"]["version_id"]
        head = client.get(f"/v1/sessions/{session_id}").json()["images"][0]["head_version_id"]
        assert head == versions[1]["id"]
        assert client.get(second["result_url"]).status_code == 200
        assert image_id == first["image_id"]
    restarted.stop()
