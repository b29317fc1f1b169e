"""Exactly-once effects of a chat turn: the server is killed (SIGKILL) mid-turn, after the turn's
edit was recorded, and started again. The client's request, whose answer was lost with the
server, is retried with the same ``Idempotency-Key``.

Real ``imgedit serve`` subprocesses (tests/test_server_faults.py); ``IMGEDIT_JOB_STEP_DELAY``
makes each progress step take seconds, so the kill lands inside the turn."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx

from engine.samples import sample_photo
from tests.server_harness import Storage, free_port, png_bytes
from tests.test_server_faults import ServerProcess, api_key, home, processes

__all__ = ["home", "processes"]  # the fixtures, used by name


def test_chat_turn_killed_after_its_edit_runs_once_on_restart(
    home: Path, processes: list[ServerProcess], storage: Storage
) -> None:
    """On each storage: with PostgreSQL the agent's checkpoints are in the database too."""
    headers = {"Authorization": f"Bearer {api_key(home, 'acme', storage)}"}
    port = free_port()
    slow = ServerProcess(home, port, storage, IMGEDIT_JOB_STEP_DELAY="2")
    processes.append(slow)
    photo = png_bytes(sample_photo("coffee").convert("RGB").resize((240, 160)))
    with httpx.Client(base_url=slow.url, headers=headers, timeout=30) as client:
        session_id = client.post("/v1/sessions").json()["id"]
        files = {"file": ("coffee.png", photo, "image/png")}
        assert client.post(f"/v1/sessions/{session_id}/images", files=files).status_code == 201
    url = f"/v1/sessions/{session_id}/messages"
    retry = {"Idempotency-Key": "turn-brighter-1", **headers}
    lost: list[BaseException] = []

    def send() -> None:  # the client whose answer is lost: its server dies mid-turn
        try:
            httpx.post(f"{slow.url}{url}", json={"text": "make it brighter"}, headers=retry, timeout=120)
        except httpx.TransportError as exc:
            lost.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    with httpx.Client(base_url=slow.url, headers=headers, timeout=30) as client:
        deadline = time.monotonic() + 60
        while len(versions(client, session_id)) < 2:  # the edit is recorded; the turn goes on
            assert time.monotonic() < deadline, "the turn never recorded its edit"
            time.sleep(0.1)
        [job] = client.get("/v1/jobs", params={"active": True}).json()["jobs"]
        assert job["kind"] == "chat" and job["status"] == "running"
    slow.kill()
    sender.join(30)
    assert lost, "the request should have lost its answer with the server"

    restarted = ServerProcess(home, port, storage)
    processes.append(restarted)
    with httpx.Client(base_url=restarted.url, headers=headers, timeout=60) as client:
        answer = client.post(
            url, json={"text": "make it brighter"}, headers={"Idempotency-Key": "turn-brighter-1"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["job_id"] == job["job_id"] and answer.json()["reply"]
        assert client.get(f"/v1/jobs/{job['job_id']}").json()["attempts"] == 2
        recorded = versions(client, session_id)
        assert [v["number"] for v in recorded] == [0, 1]  # the edit applied once, not chained twice
        assert answer.json()["version_id"] == recorded[1]["id"]
        messages = client.get(f"/v1/sessions/{session_id}").json()["messages"]
        # The user's message recorded once, and the turn's reply once.
        assert [(m["role"], m["text"]) for m in messages] == [
            ("user", "make it brighter"),
            ("assistant", answer.json()["reply"]),
        ]
    restarted.stop()


def versions(client: httpx.Client, session_id: str) -> list[dict[str, Any]]:
    return list(client.get(f"/v1/sessions/{session_id}").json()["images"][0]["versions"])
