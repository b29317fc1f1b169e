"""Deck restyling through the service: ``POST /v1/decks``, progress over ``/v1/ws``, cancel, the
result download, bad decks, upload limits, and a server killed mid-deck that resumes where it
stopped. Real HTTP and WebSocket clients against a running app, on corpus decks, classic engine.
"""

from __future__ import annotations

import io
import json
import shutil
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from pptx import Presentation
from websockets.sync.client import ClientConnection, connect

import server.models  # noqa: F401  (the server's tables, for the key created before the server starts)
from engine import Editor
from imgedit.config import Settings
from plugins.pptx import RestyleOptions, restyle_deck
from server.auth import KeyStore
from sessions import create_db_engine, create_sessionmaker
from sessions.db import DATABASE_FILENAME
from tests.browser import chromium
from tests.deck_helpers import CORPUS, changed_parts, parts
from tests.server_harness import (
    LiveServer,
    Storage,
    free_port,
    removed_soon,
    server_settings,
    wait_for_job,
    wait_for_steps,
)
from tests.test_deck_bad import BILLION_LAUGHS
from tests.test_server_faults import ServerProcess

PPTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ECE = CORPUS / "ececapstonespring2012.pptx"
#: Its five picture parts; image1 and image5 hold the same bytes, so four go to the engine.
ECE_PICTURES = {f"ppt/media/image{n}.png" for n in (1, 2, 3, 4, 5)}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    with LiveServer(server_settings(tmp_path / "home")) as server:
        yield server


@pytest.fixture
def served(storage: Storage, tmp_path: Path) -> Iterator[LiveServer]:
    """A server on each storage (embedded, PostgreSQL + S3) for the tests of the job's life."""
    with LiveServer(storage.settings(tmp_path / "home")) as server:
        yield server


def upload(client: httpx.Client, deck: Path | bytes, name: str | None = None, **form: str) -> httpx.Response:
    data = deck.read_bytes() if isinstance(deck, Path) else deck
    filename = name or (deck.name if isinstance(deck, Path) else "deck.pptx")
    return client.post("/v1/decks", files={"file": (filename, data, PPTX_TYPE)}, data=form)


def frames_until_finished(ws: ClientConnection, job_id: str, timeout: float = 60) -> list[dict[str, Any]]:
    """This job's ``progress`` and ``job`` frames, up to its final status."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if frame.get("job_id") != job_id:
            continue
        seen.append(frame)
        if frame["type"] == "job" and frame["status"] in ("done", "failed", "cancelled"):
            return seen


def test_deck_job_streams_progress_per_picture_and_returns_the_restyled_deck(
    served: LiveServer, tmp_path: Path
) -> None:
    live = served
    key = live.key()
    with live.client(key) as client, connect(f"{live.ws_url}?token={key}") as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        created = upload(client, ECE, name="Capstone talk.pptx", prompt="make it warmer")
        assert created.status_code == 202, created.text
        job_id = created.json()["job_id"]
        ws.send(json.dumps({"type": "subscribe", "job_id": job_id}))
        frames = frames_until_finished(ws, job_id)

        # Subscribing answers the current state, which an event of the same step may repeat.
        progress = list(dict.fromkeys((f["done"], f["total"]) for f in frames if f["type"] == "progress"))
        assert progress == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]  # one frame per distinct picture
        assert all(set(f) == {"type", "job_id", "done", "total"} for f in frames if f["type"] == "progress")
        final = frames[-1]
        assert final["status"] == "done" and final["kind"] == "deck"
        assert final["result_url"] == f"/v1/jobs/{job_id}/result"

        result = client.get(final["result_url"])
        assert result.status_code == 200
        assert result.headers["content-type"] == PPTX_TYPE
        assert result.headers["content-disposition"] == 'attachment; filename="Capstone talk-restyled.pptx"'
        job = client.get(f"/v1/jobs/{job_id}").json()
        report = job["result"]["report"]
        assert job["progress"] == {"done": 4, "total": 4}
        assert report["input"] == "Capstone talk.pptx" and report["engine_calls"] == 4
        assert report["summary"]["edited"] == 4 and report["slide_count"] == 24

        restyled = tmp_path / "restyled.pptx"
        restyled.write_bytes(result.content)
        assert len(Presentation(io.BytesIO(result.content)).slides) == 24
        assert changed_parts(ECE, restyled) == ECE_PICTURES  # the pictures changed, nothing else
        assert {i["name"] for i in report["images"] if i["status"] in ("edited", "reused")} == ECE_PICTURES
        # The job's working folder (deck, resume store, output) goes once the job is over.
        assert removed_soon(live.app.state.ctx.settings.work_root / "jobs" / job_id)

        with live.client(live.key("other")) as stranger:
            assert stranger.get(f"/v1/jobs/{job_id}/result").status_code == 404


def test_deck_job_takes_pictures_and_theme_colors(live: LiveServer) -> None:
    """A theme keeps ececapstone's diagrams and chart by default; ``theme_colors`` recolours its
    scheme; ``pictures=all`` restyles every picture; the report says so in a sentence."""
    with live.client(live.key()) as client:
        themed = upload(client, ECE, theme="retro", theme_colors="true")
        assert themed.status_code == 202, themed.text
        job = wait_for_job(client, themed.json()["job_id"])
        report = job["result"]["report"]
        assert report["pictures"] == "photos" and report["theme_colors"]
        assert report["summary_text"].startswith("no picture restyled, 5 logos and charts kept, ")
        restyled = live.app.state.ctx.settings.home_dir / "themed.pptx"
        restyled.write_bytes(client.get(job["result_url"]).content)
        assert changed_parts(ECE, restyled) == {"ppt/theme/theme1.xml", "ppt/theme/theme2.xml"} & set(
            parts(ECE)
        )

        everything = upload(client, ECE, theme="复古", pictures="all")
        report = wait_for_job(client, everything.json()["job_id"])["result"]["report"]
        assert report["summary_text"] == "已重新设计 5 张图片" and report["theme_colors"] == []
        refused = upload(client, ECE, theme="retro", pictures="some")
        assert refused.status_code == 422
        colours_of_a_prompt = upload(client, ECE, prompt="make it warmer", theme_colors="true")
        assert (
            colours_of_a_prompt.status_code == 400
            and "--theme-colors" in colours_of_a_prompt.json()["message"]
        )


def test_a_running_deck_job_can_be_cancelled(storage: Storage, tmp_path: Path) -> None:
    with LiveServer(storage.settings(tmp_path / "home", job_step_delay=5.0)) as live:
        jobs = live.app.state.ctx.settings.work_root / "jobs"
        key = live.key()
        with live.client(key) as client, connect(f"{live.ws_url}?token={key}") as ws:
            job_id = upload(client, ECE, theme="retro").json()["job_id"]
            ws.send(json.dumps({"type": "subscribe", "job_id": job_id}))
            deadline = time.monotonic() + 20
            while True:  # the job is running once its first progress frame arrives
                frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if frame["type"] == "progress" and frame["job_id"] == job_id:
                    break
            assert client.delete(f"/v1/jobs/{job_id}").status_code == 200
            final = frames_until_finished(ws, job_id, timeout=10)[-1]
            assert final["status"] == "cancelled"
            assert client.get(f"/v1/jobs/{job_id}").json()["status"] == "cancelled"
            missing = client.get(f"/v1/jobs/{job_id}/result")
            assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        assert removed_soon(jobs / job_id)


def _zip_bomb() -> bytes:
    """A real deck plus 64 MiB of zeros in one ~64 KiB entry."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(CORPUS / "shapes.pptx") as old,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as new,
    ):
        for info in old.infolist():
            new.writestr(info, old.read(info))
        new.writestr("ppt/media/image9.png", bytes(64 << 20))
    return buffer.getvalue()


def _entity_laden() -> bytes:
    """A real deck whose first slide declares a DOCTYPE with nested entities (billion laughs)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(CORPUS / "shapes.pptx") as old,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as new,
    ):
        for info in old.infolist():
            new.writestr(info, BILLION_LAUGHS if info.filename == "ppt/slides/slide1.xml" else old.read(info))
    return buffer.getvalue()


def _corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "deck", "form", "status", "message"),
    [
        (
            "notes.pptx",
            lambda: b"my notes, not a deck",
            {"prompt": "warmer"},
            400,
            "notes.pptx is not a .pptx",
        ),
        (
            "broken.pptx",
            lambda: _corpus("fuzzed-broken-zip.pptx"),
            {"prompt": "make it warmer"},
            400,
            "broken.pptx is a damaged zip archive",
        ),
        ("bomb.pptx", _zip_bomb, {"theme": "retro"}, 413, "bomb.pptx looks like a zip bomb"),
        (
            "evil.pptx",
            _entity_laden,
            {"theme": "retro"},
            400,
            "the part 'ppt/slides/slide1.xml' declares a DOCTYPE",
        ),
        ("talk.pptx", lambda: ECE.read_bytes(), {}, 400, "Give exactly one of a theme"),
        ("talk.pptx", lambda: ECE.read_bytes(), {"theme": "nope"}, 404, "There is no theme called 'nope'"),
        (
            "talk.pptx",
            lambda: ECE.read_bytes(),
            {"prompt": "warmer", "slides": "30-40"},
            400,
            "has 24 slides",
        ),
        (
            "talk.pptx",
            lambda: ECE.read_bytes(),
            {"prompt": "crop to 16:9"},
            400,
            "keeps every picture's size",
        ),
    ],
    ids=[
        "not-a-zip",
        "broken-zip",
        "zip-bomb",
        "entities",
        "no-theme-or-prompt",
        "unknown-theme",
        "slides",
        "geometry",
    ],
)
def test_bad_decks_and_requests_are_refused_with_json_naming_the_problem(
    live: LiveServer, name: str, deck: Any, form: dict[str, str], status: int, message: str
) -> None:
    with live.client(live.key()) as client:
        answer = upload(client, deck(), name=name, **form)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/json"
        body = answer.json()
        assert set(body) <= {"code", "message", "hint"} and message in body["message"], body
        assert client.get("/v1/jobs").json()["jobs"] == []  # nothing was queued


def test_decks_over_the_upload_limit_are_refused(tmp_path: Path) -> None:
    deck = CORPUS / "aptia.pptx"  # 398 kB
    settings = server_settings(tmp_path / "home", max_upload_bytes=200_000)
    with LiveServer(settings) as live, live.client(live.key()) as client:
        answer = upload(client, deck, theme="retro")
        assert answer.status_code == 413
        assert answer.json()["code"] == "payload_too_large"
        assert "0.2 MB limit" in answer.json()["message"]


def test_killed_server_resumes_a_deck_job_without_redoing_finished_pictures(tmp_path: Path) -> None:
    """SIGKILL while the third of five pictures is being done; the restarted server re-runs the job,
    sends only the unfinished pictures to the engine and returns the same deck as an uninterrupted
    run."""
    home, deck = tmp_path / "served-home", CORPUS / "backgrounds.pptx"
    home.mkdir()
    key = KeyStore(create_sessionmaker(create_db_engine(home / DATABASE_FILENAME))).create("acme").key
    headers = {"Authorization": f"Bearer {key}"}
    port = free_port()
    slow = ServerProcess(home, port, IMGEDIT_JOB_STEP_DELAY="1.5")
    restarted: ServerProcess | None = None
    try:
        with httpx.Client(base_url=slow.url, headers=headers, timeout=30) as client:
            job_id = upload(client, deck, theme="retro").json()["job_id"]
            wait_for_steps(client, job_id, 2, "deck")
        slow.kill()
        finished_before = len(list((home / "jobs" / job_id / "resume").glob("*.bin")))
        assert 2 <= finished_before < 5

        restarted = ServerProcess(home, port)
        with httpx.Client(base_url=restarted.url, headers=headers, timeout=30) as client:
            job = wait_for_job(client, job_id)
            assert job["status"] == "done" and job["attempts"] == 2
            report = job["result"]["report"]
            # Only the pictures not finished before the kill went to the engine after the restart.
            assert report["engine_calls"] == 5 - finished_before
            assert report["summary"] == {
                "resumed": finished_before,
                "edited": 5 - finished_before,
                "skipped": 1,
            }
            result = client.get(job["result_url"]).content
            assert removed_soon(home / "jobs" / job_id)  # the resume store goes once the job is over
    finally:
        for process in (slow, restarted):
            if process is not None and process.proc.poll() is None:
                process.proc.kill()
                process.proc.wait(10)

    resumed = tmp_path / "resumed.pptx"
    resumed.write_bytes(result)
    uninterrupted = tmp_path / "uninterrupted.pptx"
    editor = Editor(engine="classic", settings=Settings(home=tmp_path / "fresh", nsfw_check=False))
    restyle_deck(deck, uninterrupted, RestyleOptions(theme="retro", engine="classic"), editor=editor)
    assert result == uninterrupted.read_bytes()  # complete, and byte for byte the uninterrupted deck
    assert len(changed_parts(deck, resumed)) == 5 and parts(resumed).keys() == parts(deck).keys()
    shutil.rmtree(home, ignore_errors=True)


def test_web_page_restyles_an_uploaded_deck_with_an_instruction(live: LiveServer, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 860}, accept_downloads=True)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(live.url)
        page.fill("#api-key", live.key("local"))
        page.click("#key-form button")
        expect(page.locator("#conn")).to_have_text("connected")
        expect(page.locator("#deck-theme option").first).to_be_attached()
        page.set_input_files("#deck-file", str(ECE))
        page.fill("#deck-prompt", "make it warmer")
        page.click("#deck-form button[type=submit]")
        link = page.locator("#deck-status a")
        expect(link).to_have_text("Download ececapstonespring2012-restyled.pptx", timeout=60_000)
        expect(page.locator("#deck-status")).to_contain_text("5 pictures restyled")
        expect(page.locator("#deck-progress")).to_be_hidden()
        with page.expect_download() as download_info:
            link.click()
        restyled = tmp_path / "from-page.pptx"
        download_info.value.save_as(restyled)
    assert errors == []
    assert changed_parts(ECE, restyled) == ECE_PICTURES
    with live.client(live.key("local")) as client:
        (job,) = client.get("/v1/jobs").json()["jobs"]
        assert job["kind"] == "deck" and job["result"]["report"]["instruction"] == "make it warmer"


def test_a_restarted_server_removes_work_folders_of_jobs_that_are_over(
    storage: Storage, tmp_path: Path
) -> None:
    """A server killed between a deck job's final commit and its clean-up leaves the job's folder;
    the next start removes folders whose jobs are over (or unknown). (Folders of jobs still to run
    stay: the killed-server test above resumes from one.)"""
    home = tmp_path / "home"
    with LiveServer(storage.settings(home)) as live, live.client(live.key()) as client:
        jobs = live.app.state.ctx.settings.work_root / "jobs"
        job_id = upload(client, CORPUS / "backgrounds.pptx", theme="retro").json()["job_id"]
        assert wait_for_job(client, job_id)["status"] == "done"
    leftover = jobs / job_id / "resume"
    leftover.mkdir(parents=True)
    (leftover / "picture.bin").write_bytes(b"finished before the crash")
    stranger = jobs / "job_unknown"
    stranger.mkdir()
    with LiveServer(storage.settings(home)):
        assert not (jobs / job_id).exists() and not stranger.exists()
