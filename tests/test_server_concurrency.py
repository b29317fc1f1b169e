"""Concurrent writes to one session on the real server (issue 11, defect 5), on both storages.

Positions and version numbers were ``max + 1`` read before the insert: 8 parallel uploads to one
session failed 25 of 40 with a 500, and back-to-back session edits failed jobs on the unique
version number. Each upload and each edit must now get its own number, whatever the timing.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from tests.server_harness import LiveServer, Storage, png_bytes, wait_for_job


@pytest.fixture(scope="module")
def live(storage: Storage, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("concurrency-home")
    with LiveServer(storage.settings(home, classic_workers=2)) as server:
        yield server


def small_photo(shade: int) -> bytes:
    return png_bytes(Image.new("RGB", (48, 32), (shade, 120, 200 - shade)))


def test_parallel_uploads_to_one_session_each_get_their_own_position(live: LiveServer) -> None:
    key = live.key()
    with live.client(key) as client:
        session_id = client.post("/v1/sessions", json={}).json()["id"]

    def upload(n: int) -> tuple[int, int]:
        with live.client(key) as own:
            answer = own.post(
                f"/v1/sessions/{session_id}/images", files={"file": (f"{n}.png", small_photo(n), "image/png")}
            )
            return answer.status_code, int(answer.json().get("position", 0))

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(upload, range(24)))
    assert [status for status, _ in answers] == [201] * 24
    assert sorted(position for _, position in answers) == list(range(1, 25))
    with live.client(key) as client:
        images = client.get(f"/v1/sessions/{session_id}").json()["images"]
    assert [image["position"] for image in images] == list(range(1, 25))


def test_back_to_back_session_edits_each_become_a_version(live: LiveServer) -> None:
    key = live.key()
    with live.client(key) as client:
        session_id = client.post("/v1/sessions", json={}).json()["id"]
        client.post(
            f"/v1/sessions/{session_id}/images", files={"file": ("a.png", small_photo(10), "image/png")}
        )
        instructions = ["brighter", "darker", "more saturated", "less saturated", "warmer", "cooler"]
        jobs = [
            client.post(f"/v1/sessions/{session_id}/edits", json={"instruction": text}).json()["job_id"]
            for text in instructions
        ]
        finished = [wait_for_job(client, job) for job in jobs]
        assert [job["status"] for job in finished] == ["done"] * len(jobs), finished
        numbers = sorted(job["result"]["number"] for job in finished)
        assert numbers == list(range(1, len(jobs) + 1))
        versions = client.get(f"/v1/sessions/{session_id}").json()["images"][0]["versions"]
        assert [v["number"] for v in versions] == list(range(len(jobs) + 1))


def test_nothing_is_written_to_the_home_folder_with_postgres_and_s3(
    live: LiveServer, storage: Storage
) -> None:
    home = Path(live.app.state.ctx.settings.home)
    if storage.remote:
        assert not home.exists() or not any(home.iterdir())
    else:
        assert (home / "imgedit.db").is_file() and (home / "blobs").is_dir()
