"""Limits a hostile or careless client meets on a live server: fairness between tenants, bounded
memory for decode bombs and sockets that never read, clear answers to malformed input.

Real uvicorn servers (tests/server_harness.py), or an ``imgedit serve`` subprocess where the
server's own memory is what is measured, with real HTTP and WebSocket clients.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import skimage_photo
from tests.server_harness import LiveServer, png_bytes, server_settings, wait_for_job


def post_edit(client: httpx.Client, data: bytes, **form: str) -> str:
    answer = client.post("/v1/edits", files={"file": ("p.png", data, "image/png")}, data=form)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["job_id"])


# -- defect 8: priority never beats fairness between tenants ---------------------------------------


def test_a_tenants_high_priority_backlog_does_not_hold_up_another_tenant(tmp_path: Path) -> None:
    photo = png_bytes(skimage_photo("astronaut").resize((48, 48)))
    settings = server_settings(
        tmp_path / "home", classic_workers=1, classic_processes=False, job_step_delay=0.05
    )
    with (
        LiveServer(settings) as live,
        live.client(live.key("busy")) as busy,
        live.client(live.key("calm")) as calm,
    ):
        backlog = [
            post_edit(busy, photo, instruction="make it brighter", seed=str(n), priority="10")
            for n in range(12)
        ]
        single = post_edit(calm, photo, instruction="make it brighter", priority="0")
        mine = wait_for_job(calm, single)
        jobs = [busy.get(f"/v1/jobs/{job_id}").json() for job_id in backlog]
        ahead = [
            j for j in jobs if j["started_at"] and mine["created_at"] < j["started_at"] < mine["started_at"]
        ]
        for job_id in backlog:
            busy.delete(f"/v1/jobs/{job_id}")
    # Once "calm" asked, at most the one job "busy" was owed in the round robin went first.
    assert len(ahead) <= 1, f"{len(ahead)} of the busy tenant's jobs ran before the calm tenant's one"
