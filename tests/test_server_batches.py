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
from typing import Any

import httpx
import pytest
from PIL import Image
from websockets.sync.client import connect

import server.models  # noqa: F401  (the server's tables, for the key created before the server starts)
from tests.batch_helpers import product
from tests.server_harness import (
    LiveServer,
    free_port,
    removed_soon,
    server_settings,
    wait_for_job,
    wait_for_steps,
)
from tests.test_server_decks import frames_until_finished
from tests.test_server_faults import ServerProcess, api_key, home, processes

__all__ = ["home", "processes"]  # the fixtures, used by name

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


def test_a_killed_server_resumes_a_batch_without_editing_finished_pictures_again(
    home: Path, processes: list[ServerProcess]
) -> None:
    """SIGKILL once two of five pictures are done; the restarted server re-runs the job and sends
    only the unfinished pictures to the engine."""
    headers = {"Authorization": f"Bearer {api_key(home, 'acme')}"}
    archive = _archive({f"p{n}.png": _png(photo, (96 + 8 * n, 72)) for n, photo in enumerate(PHOTOS)})
    port = free_port()
    slow = ServerProcess(home, port, IMGEDIT_JOB_STEP_DELAY="1.5")
    processes.append(slow)
    with httpx.Client(base_url=slow.url, headers=headers, timeout=30) as client:
        job_id = upload(client, archive, theme="retro").json()["job_id"]
        wait_for_steps(client, job_id, 2, "batch")
    slow.kill()
    journal = home / "jobs" / job_id / ".result.zip.imgedit-batch" / "journal.jsonl"
    finished_before = len(journal.read_text().splitlines())
    assert 2 <= finished_before < 5

    restarted = ServerProcess(home, port)
    processes.append(restarted)
    with httpx.Client(base_url=restarted.url, headers=headers, timeout=30) as client:
        job = wait_for_job(client, job_id)
        assert job["status"] == "done" and job["attempts"] == 2
        report = job["result"]["report"]
        assert report["engine_calls"] == 5 - finished_before
        assert report["summary"] == {"resumed": finished_before, "edited": 5 - finished_before}
        with zipfile.ZipFile(io.BytesIO(client.get(job["result_url"]).content)) as zf:
            assert sorted(zf.namelist()) == [f"p{n}.png" for n in range(5)]
        assert removed_soon(home / "jobs" / job_id)


def _reviewed_batch(client: httpx.Client, archive: bytes, prompt: str) -> tuple[str, dict[str, Any]]:
    created = upload(client, archive, prompt=prompt, review="true")
    assert created.status_code == 202, created.text
    job_id = created.json()["job_id"]
    assert wait_for_job(client, job_id)["status"] == "done"
    batch = client.get(f"/v1/batches/{job_id}")
    assert batch.status_code == 200, batch.text
    return job_id, batch.json()


def test_a_batch_kept_for_review_is_redone_then_zipped_as_decided(live: LiveServer) -> None:
    """Review mode: no archive until the review; each picture's before and after (and thumbnails);
    a redo with another instruction replaces one picture's after, and asking again redoes nothing;
    the archive holds the approved edit and the rejected picture's original, and the failure is
    left out. A repeated review is the same job; other decisions, or a redo, after it are a 409."""
    mug, cat = _png("coffee", (160, 120)), _png("chelsea", (160, 120))
    archive = _archive(
        {"shop/mug.png": mug, "shop/cat.png": cat, "shop/broken.png": b"\x89PNG\r\n\x1a\n bad"}
    )
    with live.client(live.key()) as client:
        job_id, batch = _reviewed_batch(client, archive, "make it warmer")
        assert batch["review"] is True and batch["review_job"] is None
        assert client.get(f"/v1/jobs/{job_id}/result").status_code == 404  # no archive yet
        items = {item["name"]: item for item in batch["items"]}
        assert [items[n]["status"] for n in ("shop/broken.png", "shop/cat.png", "shop/mug.png")] == [
            "failed",
            "edited",
            "edited",
        ]
        assert items["shop/broken.png"]["after_url"] is None
        cat_item = items["shop/cat.png"]
        assert client.get(cat_item["before_url"]).content == cat
        warmer = client.get(cat_item["after_url"])
        assert warmer.headers["content-type"] == "image/png" and warmer.content != cat
        thumb = client.get(cat_item["after_url"], params={"max_side": 64})
        assert Image.open(io.BytesIO(thumb.content)).size == (64, 48)

        redo_url = f"/v1/batches/{job_id}/items/{cat_item['index']}/redo"
        redo = client.post(redo_url, json={"instruction": "make it brighter"})
        assert redo.status_code == 202, redo.text
        redo_job = redo.json()["redo_job_id"]
        assert (
            client.post(redo_url, json={"instruction": "make it brighter"}).json()["redo_job_id"] == redo_job
        )
        assert wait_for_job(client, redo_job)["status"] == "done"
        redone = {item["name"]: item for item in client.get(f"/v1/batches/{job_id}").json()["items"]}
        brighter = client.get(redone["shop/cat.png"]["after_url"]).content
        assert redone["shop/cat.png"]["instruction"] == "make it brighter" and brighter not in (
            cat,
            warmer.content,
        )
        assert len([j for j in client.get("/v1/jobs").json()["jobs"] if j["kind"] == "batch"]) == 2

        decisions = {"decisions": [{"item": items["shop/mug.png"]["index"], "decision": "reject"}]}
        reviewed = client.post(f"/v1/batches/{job_id}/review", json=decisions)
        assert reviewed.status_code == 202, reviewed.text
        review_id = reviewed.json()["job_id"]
        assert client.post(f"/v1/batches/{job_id}/review", json=decisions).json()["job_id"] == review_id
        other = client.post(f"/v1/batches/{job_id}/review", json={"decisions": []})
        assert other.status_code == 409 and "already reviewed" in other.json()["message"]
        late = client.post(redo_url, json={"instruction": "make it darker"})
        assert late.status_code == 409 and "reviewed already" in late.json()["message"]

        done = wait_for_job(client, review_id)
        assert done["status"] == "done" and done["result"]["summary"] == {
            "left_out": 1,
            "approved": 1,
            "rejected": 1,
        }
        assert client.get(f"/v1/batches/{job_id}").json()["review_job"]["job_id"] == review_id
        result = client.get(done["result_url"])
        assert 'filename="spring-edited.zip"' in result.headers["content-disposition"]
        with zipfile.ZipFile(io.BytesIO(result.content)) as zf:
            assert sorted(zf.namelist()) == ["shop/cat.png", "shop/mug.png"]
            assert zf.read("shop/cat.png") == brighter and zf.read("shop/mug.png") == mug


def test_a_review_is_refused_clearly_in_the_batch_language_and_hidden_from_other_tenants(
    live: LiveServer,
) -> None:
    archive = _archive({"a.png": _png("coffee", (96, 72)), "b.png": b"\x89PNG\r\n\x1a\n bad"})
    with live.client(live.key("acme")) as client, live.client(live.key("rival")) as rival:
        job_id, batch = _reviewed_batch(client, archive, "提亮一点")
        broken = next(item for item in batch["items"] if item["name"] == "b.png")
        good = next(item for item in batch["items"] if item["name"] == "a.png")
        approve = client.post(
            f"/v1/batches/{job_id}/review",
            json={"decisions": [{"item": broken["index"], "decision": "approve"}]},
        )
        assert approve.status_code == 400 and "没有可批准的修改结果" in approve.json()["message"]
        missing = client.post(f"/v1/batches/{job_id}/items/9/redo", json={"instruction": "提高对比度"})
        assert missing.status_code == 404 and "没有第 9 张图片" in missing.json()["message"]
        vague = client.post(
            f"/v1/batches/{job_id}/items/{good['index']}/redo", json={"instruction": "让它更好看"}
        )
        assert vague.status_code == 422

        for response in (
            rival.get(f"/v1/batches/{job_id}"),
            rival.get(good["before_url"]),
            rival.post(
                f"/v1/batches/{job_id}/items/{good['index']}/redo", json={"instruction": "提高对比度"}
            ),
            rival.post(f"/v1/batches/{job_id}/review", json={"decisions": []}),
        ):
            assert response.status_code == 404, response.text

        plain = upload(client, archive, prompt="make it warmer").json()["job_id"]
        assert wait_for_job(client, plain)["status"] == "done"
        refused = client.post(f"/v1/batches/{plain}/review", json={"decisions": []})
        assert refused.status_code == 409 and "not submitted for review" in refused.json()["message"]
