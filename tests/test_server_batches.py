"""Batch edits through the service: ``POST /v1/batches`` with a .zip (and a manifest inside),
progress per picture over ``/v1/ws``, the edited .zip, a bad picture named in the report, cancel,
refusals at submission, and a server killed mid-batch that resumes where it stopped. Real HTTP and
WebSocket clients against a running app, classic engine."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from websockets.sync.client import connect

import server.models  # noqa: F401  (the server's tables, for the key created before the server starts)
from server.auth import KeyStore
from sessions import create_db_engine, create_sessionmaker
from sessions.db import DATABASE_FILENAME
from tests.batch_helpers import product
from tests.server_harness import LiveServer, free_port, removed_soon, server_settings, wait_for_job
from tests.test_server_decks import frames_until_finished
from tests.test_server_faults import ServerProcess

PHOTOS = ["coffee", "chelsea", "astronaut", "rocket", "coffee"]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    with LiveServer(server_settings(tmp_path / "home")) as server:
        yield server


def _png(photo: str, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    product(photo, size).save(buffer, "PNG")
    return buffer.getvalue()


def _archive(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def upload(client: httpx.Client, data: bytes, name: str = "spring.zip", **form: str) -> httpx.Response:
    return client.post("/v1/batches", files={"file": (name, data, "application/zip")}, data=form)


def test_a_batch_job_streams_progress_per_picture_and_returns_the_edited_zip(live: LiveServer) -> None:
    archive = _archive(
        {
            "shop/mug.png": _png("coffee", (160, 120)),
            "shop/cat.png": _png("chelsea", (160, 120)),
            "shop/mug_copy.png": _png("coffee", (160, 120)),
            "shop/broken.png": b"\x89PNG\r\n\x1a\n not a picture",
        }
    )
    key = live.key()
    with live.client(key) as client, connect(f"{live.ws_url}?token={key}") as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        created = upload(client, archive, prompt="make it warmer")
        assert created.status_code == 202, created.text
        job_id = created.json()["job_id"]
        ws.send(json.dumps({"type": "subscribe", "job_id": job_id}))
        frames = frames_until_finished(ws, job_id)

        progress = [(f["done"], f["total"]) for f in frames if f["type"] == "progress"]
        assert progress[-1] == (4, 4) and all(total == 4 for _, total in progress)
        final = frames[-1]
        assert final["status"] == "done" and final["kind"] == "batch"
        result = client.get(final["result_url"])
        assert result.status_code == 200 and result.headers["content-type"] == "application/zip"
        assert 'filename="spring-edited.zip"' in result.headers["content-disposition"]
        with zipfile.ZipFile(io.BytesIO(result.content)) as zf:
            assert sorted(zf.namelist()) == ["shop/cat.png", "shop/mug.png", "shop/mug_copy.png"]
            assert Image.open(io.BytesIO(zf.read("shop/mug.png"))).size == (160, 120)
        report = client.get(f"/v1/jobs/{job_id}").json()["result"]["report"]
        items = {item["name"]: item for item in report["items"]}
        assert items["shop/broken.png"]["status"] == "failed"
        assert "shop/broken.png is not a readable" in items["shop/broken.png"]["reason"]
        assert items["shop/mug_copy.png"]["status"] == "reused" and report["engine_calls"] == 3
        assert removed_soon(live.app.state.ctx.settings.home_dir / "jobs" / job_id)


def test_a_batch_is_refused_at_submission_when_it_cannot_run(live: LiveServer) -> None:
    with live.client(live.key()) as client:
        assert upload(client, b"not a zip", prompt="make it warmer").status_code == 400
        empty = upload(client, _archive({"notes.txt": b"hello"}), prompt="make it warmer")
        assert empty.status_code == 400 and "holds no pictures" in empty.json()["message"]
        vague = upload(client, _archive({"a.png": _png("coffee", (64, 48))}), prompt="让它更好看")
        assert vague.status_code == 422


def test_a_running_batch_can_be_cancelled(tmp_path: Path) -> None:
    with LiveServer(server_settings(tmp_path / "home", job_step_delay=5.0)) as live:
        key = live.key()
        archive = _archive(
            {f"{n}.png": _png(photo, (96, 72)) for n, photo in enumerate(["coffee", "chelsea", "rocket"])}
        )
        with live.client(key) as client, connect(f"{live.ws_url}?token={key}") as ws:
            job_id = upload(client, archive, theme="retro").json()["job_id"]
            ws.send(json.dumps({"type": "subscribe", "job_id": job_id}))
            deadline = time.monotonic() + 20
            while True:
                frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if frame["type"] == "progress" and frame["job_id"] == job_id:
                    break
            assert client.delete(f"/v1/jobs/{job_id}").status_code == 200
            assert frames_until_finished(ws, job_id, timeout=20)[-1]["status"] == "cancelled"
            assert wait_for_job(client, job_id)["status"] == "cancelled"


def test_a_killed_server_resumes_a_batch_without_editing_finished_pictures_again(tmp_path: Path) -> None:
    """SIGKILL once two of five pictures are done; the restarted server re-runs the job and sends
    only the unfinished pictures to the engine."""
    home = tmp_path / "served-home"
    home.mkdir()
    key = KeyStore(create_sessionmaker(create_db_engine(home / DATABASE_FILENAME))).create("acme").key
    headers = {"Authorization": f"Bearer {key}"}
    archive = _archive({f"p{n}.png": _png(photo, (96 + 8 * n, 72)) for n, photo in enumerate(PHOTOS)})
    port = free_port()
    slow = ServerProcess(home, port, IMGEDIT_JOB_STEP_DELAY="1.5")
    restarted: ServerProcess | None = None
    try:
        with httpx.Client(base_url=slow.url, headers=headers, timeout=30) as client:
            job_id = upload(client, archive, theme="retro").json()["job_id"]
            deadline = time.monotonic() + 30
            while client.get(f"/v1/jobs/{job_id}").json()["progress"]["done"] < 2:
                assert time.monotonic() < deadline, "the batch job never got going"
                time.sleep(0.05)
        slow.kill()
        journal = home / "jobs" / job_id / ".result.zip.imgedit-batch" / "journal.jsonl"
        finished_before = len(journal.read_text().splitlines())
        assert 2 <= finished_before < 5

        restarted = ServerProcess(home, port)
        with httpx.Client(base_url=restarted.url, headers=headers, timeout=30) as client:
            job = wait_for_job(client, job_id)
            assert job["status"] == "done" and job["attempts"] == 2
            report = job["result"]["report"]
            assert report["engine_calls"] == 5 - finished_before
            assert report["summary"] == {"resumed": finished_before, "edited": 5 - finished_before}
            with zipfile.ZipFile(io.BytesIO(client.get(job["result_url"]).content)) as zf:
                assert sorted(zf.namelist()) == [f"p{n}.png" for n in range(5)]
            assert removed_soon(home / "jobs" / job_id)
    finally:
        for process in (slow, restarted):
            if process is not None and process.proc.poll() is None:
                process.proc.kill()
                process.proc.wait(10)
