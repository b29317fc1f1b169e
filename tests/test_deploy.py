"""The deployment issue 12 asks for, end to end: ``imgedit db upgrade && imgedit serve`` on
PostgreSQL and S3 runs the whole API with nothing local, and a restart finds every session,
version and result intact (the agent's conversation too, from PostgreSQL's checkpoints)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx

from cluster.servers import PostgresServer, S3Server
from tests.conftest import skimage_photo
from tests.deck_helpers import CORPUS
from tests.server_harness import free_port, png_bytes, wait_for_job
from tests.test_server_faults import ServerProcess, _env, _imgedit

PPTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def snapshot(client: httpx.Client, session_id: str, job_ids: list[str]) -> dict[str, Any]:
    """Everything a user would check after a restart: the session, each version's bytes, each
    job's state and result bytes."""
    session = client.get(f"/v1/sessions/{session_id}").json()
    images = {
        v["id"]: client.get(f"/v1/versions/{v['id']}/image").content
        for image in session["images"]
        for v in image["versions"]
    }
    jobs = {job_id: client.get(f"/v1/jobs/{job_id}").json() for job_id in job_ids}
    results = {job_id: client.get(f"/v1/jobs/{job_id}/result").content for job_id in job_ids}
    return {"session": session, "images": images, "jobs": jobs, "results": results}


def test_db_upgrade_and_serve_on_postgres_and_s3_keep_nothing_local_and_survive_a_restart(
    postgres: PostgresServer, s3_server: S3Server, tmp_path: Path
) -> None:
    home = tmp_path / "home"  # never created: nothing may be written there
    storage = {
        "IMGEDIT_DATABASE_URL": postgres.new_database(migrated=False),
        "IMGEDIT_BLOB_URL": s3_server.new_url(),
        "IMGEDIT_S3_ENDPOINT_URL": s3_server.endpoint_url,
    }

    def imgedit(*args: str) -> str:
        done = subprocess.run(_imgedit(*args), env=_env(home, **storage), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert "at revision" in imgedit("db", "upgrade")
    key = imgedit("keys", "create", "--tenant", "acme")
    port = free_port()
    photo = png_bytes(skimage_photo("coffee").resize((160, 120)))
    first = ServerProcess(home, port, **storage)
    try:
        with httpx.Client(
            base_url=first.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client:
            session_id = client.post("/v1/sessions", json={"title": "促销"}).json()["id"]
            client.post(f"/v1/sessions/{session_id}/images", files={"file": ("c.png", photo, "image/png")})
            turn = client.post(f"/v1/sessions/{session_id}/messages", json={"text": "make it brighter"})
            assert turn.status_code == 200 and turn.json()["version_id"], turn.text
            edit = client.post(f"/v1/sessions/{session_id}/edits", json={"instruction": "降低饱和度"}).json()
            one_shot = client.post(
                "/v1/edits",
                files={"file": ("c.png", photo, "image/png")},
                data={"instruction": "more contrast"},
            ).json()
            deck = client.post(
                "/v1/decks",
                files={"file": ("bg.pptx", (CORPUS / "backgrounds.pptx").read_bytes(), PPTX_TYPE)},
                data={"theme": "retro"},
            ).json()
            job_ids = [edit["job_id"], one_shot["job_id"], deck["job_id"]]
            assert [wait_for_job(client, job)["status"] for job in job_ids] == ["done"] * 3
            before = snapshot(client, session_id, job_ids)
        first.stop()
        assert not home.exists(), sorted(str(p) for p in home.rglob("*"))

        # A new process, presigned result URLs on: results come straight from the S3 store.
        second = ServerProcess(home, port, **storage, IMGEDIT_PRESIGNED_RESULTS="1")
        try:
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(
                base_url=second.url, headers=headers, timeout=60, follow_redirects=True
            ) as client:
                after = snapshot(client, session_id, job_ids)
                assert after == before
                assert [v["number"] for v in after["session"]["images"][0]["versions"]] == [0, 1, 2]
                redirect = client.get(f"/v1/jobs/{deck['job_id']}/result", follow_redirects=False)
                assert redirect.status_code == 307
                assert redirect.headers["location"].startswith(s3_server.endpoint_url)
                # The conversation goes on where it was: "undo" undoes the last edit.
                undo = client.post(f"/v1/sessions/{session_id}/messages", json={"text": "undo"})
                assert undo.status_code == 200, undo.text
                head = client.get(f"/v1/sessions/{session_id}").json()["images"][0]["head_version_id"]
                numbers = {v["id"]: v["number"] for v in after["session"]["images"][0]["versions"]}
                assert numbers[head] == 1
        finally:
            second.stop()
    finally:
        if first.proc.poll() is None:
            first.proc.kill()
            first.proc.wait(10)
    assert not home.exists()
