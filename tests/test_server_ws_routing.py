"""Who receives which job events on ``/v1/ws``: only the sockets that follow a job or its session.

Real server (uvicorn on a free port), real classic engine, real SQLite, real WebSockets. A socket
follows a job it submitted (``edit``, ``message``), subscribed to (``subscribe``), or whose session
it joined (``join``); another socket of the same tenant hears nothing of it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.conftest import skimage_photo
from tests.server_harness import LiveServer, Storage, png_bytes, server_settings, wait_for_job

Frame = dict[str, Any]


@pytest.fixture(scope="module")
def live(storage: Storage, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module, once per storage (embedded, PostgreSQL + S3)."""
    with LiveServer(storage.settings(tmp_path_factory.mktemp("ws-home"))) as server:
        yield server


@pytest.fixture(scope="module")
def key(live: LiveServer) -> str:
    return live.key("acme")


@pytest.fixture(scope="module")
def photo() -> bytes:
    return png_bytes(skimage_photo("astronaut").resize((256, 256)))


def open_socket(live: LiveServer, key: str) -> ClientConnection:
    ws = connect(f"{live.ws_url}?token={key}")
    assert json.loads(ws.recv(timeout=10))["type"] == "ready"
    return ws


def frames_until(
    ws: ClientConnection, predicate: Callable[[Frame], bool], timeout: float = 30
) -> list[Frame]:
    """Every frame received up to and including the first one ``predicate`` accepts."""
    frames: list[Frame] = []
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        frames.append(frame)
        if predicate(frame):
            return frames


def frames_so_far(ws: ClientConnection) -> list[Frame]:
    """What the server had queued for ``ws`` before it answered a ping (the queue keeps order)."""
    ws.send(json.dumps({"type": "ping"}))
    return frames_until(ws, lambda f: f["type"] == "pong")[:-1]


def is_final(job_id: str) -> Callable[[Frame], bool]:
    return lambda f: f["type"] == "job" and f["job_id"] == job_id and f["status"] in ("done", "failed")


def post_edit(client: httpx.Client, photo: bytes, instruction: str) -> str:
    created = client.post(
        "/v1/edits", files={"file": ("p.png", photo, "image/png")}, data={"instruction": instruction}
    )
    assert created.status_code == 202, created.text
    return str(created.json()["job_id"])


def new_session(client: httpx.Client, photo: bytes) -> str:
    session_id = str(client.post("/v1/sessions", json={"title": "ws"}).json()["id"])
    added = client.post(f"/v1/sessions/{session_id}/images", files={"file": ("p.png", photo, "image/png")})
    assert added.status_code == 201, added.text
    return session_id


def test_a_socket_hears_nothing_of_jobs_it_does_not_follow(live: LiveServer, key: str, photo: bytes) -> None:
    with live.client(key) as client, open_socket(live, key) as mine, open_socket(live, key) as other:
        job_id = post_edit(client, photo, "make it brighter")
        mine.send(json.dumps({"type": "subscribe", "job_id": job_id}))
        final = frames_until(mine, is_final(job_id))[-1]
        assert final["status"] == "done" and final["result_url"] == f"/v1/jobs/{job_id}/result"

        # A job submitted over a socket goes to that socket only.
        session_id = new_session(client, photo)
        mine.send(json.dumps({"type": "edit", "session_id": session_id, "instruction": "increase contrast"}))
        edited = frames_until(mine, lambda f: f["type"] == "job" and f["status"] == "done")[-1]
        assert edited["session_id"] == session_id and edited["version_id"]

        # The other socket of the same tenant was sent none of it, only the answer to its ping.
        assert frames_so_far(other) == []
        # Once the job is over, `job_status` and `jobs` still answer it for a reconnecting client.
        other.send(json.dumps({"type": "job_status", "job_id": job_id}))
        assert frames_until(other, lambda f: f["type"] == "job")[-1]["status"] == "done"


def test_subscribing_to_a_finished_job_answers_its_final_state_at_once(
    live: LiveServer, key: str, photo: bytes
) -> None:
    with live.client(key) as client:
        job_id = post_edit(client, photo, "make it warmer")
        assert wait_for_job(client, job_id)["status"] == "done"
        with open_socket(live, key) as ws:
            ws.send(json.dumps({"type": "subscribe", "job_id": job_id}))
            first = json.loads(ws.recv(timeout=10))
            assert first["type"] == "job" and first["job_id"] == job_id and first["status"] == "done"
            assert first["result_url"] == f"/v1/jobs/{job_id}/result" and first["done"] == first["total"]
            assert client.get(first["result_url"]).status_code == 200
            ws.send(json.dumps({"type": "unsubscribe", "job_id": job_id}))
            assert json.loads(ws.recv(timeout=10)) == {"type": "unsubscribed", "job_id": job_id}


def test_another_tenants_job_or_session_is_not_found(live: LiveServer, key: str, photo: bytes) -> None:
    with live.client(key) as client:
        job_id = post_edit(client, photo, "make it brighter")
        session_id = new_session(client, photo)
    with open_socket(live, live.key("rival")) as stranger:
        stranger.send(json.dumps({"type": "subscribe", "job_id": job_id}))
        error = json.loads(stranger.recv(timeout=10))
        assert error["type"] == "error" and error["code"] == "not_found" and error["request"] == "subscribe"
        stranger.send(json.dumps({"type": "join", "session_id": session_id}))
        error = json.loads(stranger.recv(timeout=10))
        assert error["type"] == "error" and error["code"] == "not_found" and error["request"] == "join"
        stranger.send(json.dumps({"type": "subscribe"}))
        assert json.loads(stranger.recv(timeout=10))["code"] == "bad_input"
        # Refused requests subscribed to nothing: the job's events never reach the stranger.
        with live.client(key) as client:
            wait_for_job(client, job_id)
        assert frames_so_far(stranger) == []


def test_every_socket_that_joined_a_session_gets_its_jobs_and_replies(
    live: LiveServer, key: str, photo: bytes
) -> None:
    with live.client(key) as client:
        session_id = new_session(client, photo)
    with (
        open_socket(live, key) as first,
        open_socket(live, key) as second,
        open_socket(live, key) as speaker,
        open_socket(live, key) as bystander,
    ):
        for ws in (first, second):
            ws.send(json.dumps({"type": "join", "session_id": session_id}))
            assert frames_until(ws, lambda f: f["type"] == "joined")[-1]["session_id"] == session_id
        # Sending a message joins its session implicitly.
        speaker.send(json.dumps({"type": "message", "session_id": session_id, "text": "make it brighter"}))
        replies = []
        for ws in (first, second, speaker):
            frames = frames_until(ws, lambda f: f["type"] == "reply")
            jobs = [f for f in frames if f["type"] == "job"]
            assert jobs and jobs[-1]["status"] == "done" and jobs[-1]["session_id"] == session_id
            replies.append(frames[-1])
        assert replies[0]["version_id"] and replies[0]["reply"]
        assert replies[0] == replies[1] == replies[2]
        assert frames_so_far(bystander) == []
        # A socket that left hears no more of the session.
        second.send(json.dumps({"type": "leave", "session_id": session_id}))
        assert frames_until(second, lambda f: f["type"] == "left")[-1]["session_id"] == session_id
        speaker.send(json.dumps({"type": "edit", "session_id": session_id, "instruction": "make it warmer"}))
        frames_until(first, lambda f: f["type"] == "job" and f["status"] == "done")
        frames_until(speaker, lambda f: f["type"] == "job" and f["status"] == "done")
        assert frames_so_far(second) == []


def test_a_late_subscriber_gets_the_running_jobs_state_and_progress(tmp_path: Path, photo: bytes) -> None:
    with LiveServer(server_settings(tmp_path / "home", job_step_delay=1.5)) as live:
        key = live.key()
        with live.client(key) as client:
            job_id = post_edit(client, photo, "make it brighter")
            deadline = time.monotonic() + 20
            while not client.get(f"/v1/jobs/{job_id}").json()["progress"]["total"]:  # its first step waits
                assert time.monotonic() < deadline
                time.sleep(0.05)
            with open_socket(live, key) as ws:
                ws.send(json.dumps({"type": "subscribe", "job_id": job_id}))
                state, progress = json.loads(ws.recv(timeout=10)), json.loads(ws.recv(timeout=10))
                assert state["type"] == "job" and state["status"] == "running" and state["total"] >= 1
                assert progress == {
                    "type": "progress",
                    "job_id": job_id,
                    "done": state["done"],
                    "total": state["total"],
                }
                assert frames_until(ws, is_final(job_id))[-1]["status"] == "done"
