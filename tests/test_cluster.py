"""The scale-out scenarios on real processes: two API nodes (``imgedit serve`` with
``IMGEDIT_QUEUE=celery``), two CPU workers (``imgedit worker --pool cpu``), Redis, PostgreSQL and
SeaweedFS, started through cluster/ as ``make cluster`` starts them.

What a user of a scaled-out service relies on: a job submitted on one node is followed from
another; a worker killed mid-job costs a retry, never a lost or a doubled edit; a killed API node
costs a reconnect to the other one; a restarted Redis loses no accepted job; a cancel works from
any node; and no tenant sees another's jobs, sessions or events, whichever node it asks.

Each worker runs one job at a time and waits ``IMGEDIT_JOB_STEP_DELAY`` after each progress step
(a classic edit reports one), so a job is still running when a test acts on it; a lease of 3 s
lets a dead worker's job be taken up again quickly. Every edit has its own seed, so none is
answered from the result cache. The cluster is shared by the module; a test that breaks a
process puts a new one in its place before it ends.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from cluster.processes import ApiNode, checkout_env
from cluster.servers import PostgresServer, S3Server, running
from cluster.topology import Cluster, Topology
from tests.conftest import skimage_photo
from tests.server_harness import png_bytes, wait_for_job
from tests.test_server_ws_routing import Frame, frames_so_far, frames_until, is_final, new_session

pytestmark = pytest.mark.slow
FINISHED = ("done", "failed", "cancelled")
SEEDS = count(1)

SETTINGS = {
    "IMGEDIT_ENGINE": "classic",
    "IMGEDIT_NSFW_CHECK": "0",
    "IMGEDIT_RATE_LIMIT_PER_MINUTE": "0",
    "IMGEDIT_JOB_STEP_DELAY": "2",
    "IMGEDIT_JOB_LEASE_SECONDS": "3",
}


@pytest.fixture(scope="module")
def cluster(
    postgres: PostgresServer, s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    topology = Topology(api_nodes=2, cpu_workers=2, concurrency=1, settings=SETTINGS)
    root = tmp_path_factory.mktemp("cluster")
    with Cluster(root, topology, postgres=postgres, s3=s3_server, tenants=("acme", "globex")) as started:
        yield started


@pytest.fixture(scope="module")
def photo() -> bytes:
    return png_bytes(skimage_photo("astronaut").resize((96, 96)))


def client(node: ApiNode, key: str) -> httpx.Client:
    return httpx.Client(base_url=node.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def socket(node: ApiNode, key: str) -> ClientConnection:
    ws = connect(f"{node.ws_url}?token={key}")
    assert json.loads(ws.recv(timeout=10))["type"] == "ready"
    return ws


def edit(http: httpx.Client, photo: bytes, instruction: str) -> str:
    """A one-shot edit's job id (``POST /v1/edits``)."""
    form = {"instruction": instruction, "seed": str(next(SEEDS))}
    created = http.post("/v1/edits", files={"file": ("p.png", photo, "image/png")}, data=form)
    assert created.status_code == 202, created.text
    return str(created.json()["job_id"])


def session_edit(http: httpx.Client, session_id: str, instruction: str) -> str:
    """A session edit's job id (``POST /v1/sessions/{id}/edits``)."""
    body = {"instruction": instruction, "seed": next(SEEDS)}
    created = http.post(f"/v1/sessions/{session_id}/edits", json=body)
    assert created.status_code == 202, created.text
    return str(created.json()["job_id"])


def send(ws: ClientConnection, **frame: Any) -> None:
    ws.send(json.dumps(frame))


def wait_running(http: httpx.Client, job_id: str, timeout: float = 30) -> dict[str, Any]:
    """Until a worker has taken the job (it then runs for the step delay at least)."""
    deadline = time.monotonic() + timeout
    while True:
        job = http.get(f"/v1/jobs/{job_id}").json()
        if job["status"] == "running":
            return dict(job)
        assert job["status"] == "queued", job
        assert time.monotonic() < deadline, f"job {job_id} never ran: {job}"
        time.sleep(0.05)


def final_states(ws: ClientConnection, job_ids: set[str], timeout: float = 30) -> dict[str, str]:
    """How each of ``job_ids`` ended, as ``ws`` hears it (their frames come in any order)."""
    states: dict[str, str] = {}

    def heard(frame: Frame) -> bool:
        if frame["type"] == "job" and frame["job_id"] in job_ids and frame["status"] in FINISHED:
            states[frame["job_id"]] = frame["status"]
        return len(states) == len(job_ids)

    frames_until(ws, heard, timeout)
    return states


def versions(http: httpx.Client, session_id: str) -> list[int]:
    return [v["number"] for v in http.get(f"/v1/sessions/{session_id}").json()["images"][0]["versions"]]


def test_make_cluster_starts_the_topology_prints_its_urls_and_key_and_stops_it_by_pid() -> None:
    """``make cluster`` / ``make cluster-down``: ``python -m cluster up`` leaves the processes
    running and prints what a person needs; ``down`` stops every one of them. (First in the
    module, before the scenarios' cluster starts: one cluster at a time on the test machine.)"""
    folder = Path(tempfile.mkdtemp(prefix="imgedit-make-cluster-"))
    folder.chmod(0o755)  # PostgreSQL may run as another user: it must reach its data folder
    root = folder / "cluster"
    env = {**os.environ, **SETTINGS}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "cluster", "--dir", str(root), *args]
        return subprocess.run(command, env=checkout_env(env), capture_output=True, text=True, timeout=300)

    try:
        up = run("up", "--api-nodes", "1", "--cpu-workers", "1", "--gpu-workers", "0")
        assert up.returncode == 0, up.stderr
        urls = re.findall(r"web page (http://127\.0\.0\.1:\d+)/", up.stdout)
        key = re.search(r"API key \(tenant 'local'\): (\S+)", up.stdout)
        assert len(urls) == 1 and key, up.stdout
        assert f"{urls[0]}/healthz" in up.stdout and f"{urls[0]}/metrics" in up.stdout
        health = httpx.get(f"{urls[0]}/healthz", timeout=10).json()
        assert health["status"] == "ok" and health["workers"]["cpu"] == 1, health
        listed = httpx.get(f"{urls[0]}/v1/jobs", headers={"Authorization": f"Bearer {key[1]}"}, timeout=10)
        assert listed.status_code == 200  # the printed key works
        assert run("status").returncode == 0
        pids = [p["pid"] for p in json.loads((root / "cluster.json").read_text())["processes"]]
        assert len(pids) == 5  # worker, API node, Redis, PostgreSQL, SeaweedFS

        down = run("down")
        assert down.returncode == 0, down.stderr
        assert [pid for pid in pids if running(pid)] == []
        assert run("status").returncode == 1
    finally:
        if (root / "cluster.json").exists():
            run("down")
        shutil.rmtree(folder, ignore_errors=True)


def test_a_job_submitted_on_one_node_is_followed_from_the_other(cluster: Cluster, photo: bytes) -> None:
    key = cluster.keys["acme"]
    a, b = cluster.api
    with client(a, key) as on_a, client(b, key) as on_b, socket(b, key) as ws_b:
        job_id = edit(on_a, photo, "make it brighter")
        send(ws_b, type="subscribe", job_id=job_id)
        frames = frames_until(ws_b, is_final(job_id))
        assert frames[-1]["status"] == "done", frames[-1]
        assert any(f["type"] == "progress" and f["job_id"] == job_id for f in frames), frames
        # The result is the same bytes whichever node serves it.
        result = on_b.get(frames[-1]["result_url"])
        assert result.status_code == 200 and result.content == on_a.get(frames[-1]["result_url"]).content
        assert result.content[:8] == b"\x89PNG\r\n\x1a\n"

        # A session: a socket on B that joined it hears the edit a client made over HTTP on A.
        session_id = new_session(on_a, photo)
        send(ws_b, type="join", session_id=session_id)
        assert frames_until(ws_b, lambda f: f["type"] == "joined")[-1]["session_id"] == session_id
        done = frames_until(ws_b, is_final(session_edit(on_a, session_id, "降低饱和度")))[-1]
        assert done["status"] == "done" and done["version_id"]
        assert versions(on_b, session_id) == [0, 1]


def test_a_worker_killed_mid_job_costs_a_retry_never_a_second_version(cluster: Cluster, photo: bytes) -> None:
    """Both workers busy with one session edit each; one is killed (``kill -9``). Its job is taken
    up again once its lease runs out and each session ends with exactly one new version."""
    key = cluster.keys["acme"]
    with client(cluster.api[0], key) as http:
        sessions = [new_session(http, photo) for _ in range(2)]
        jobs = [session_edit(http, session_id, "make it warmer") for session_id in sessions]
        for job_id in jobs:
            wait_running(http, job_id)
        victim = cluster.workers[0]
        victim.kill()
        try:
            finished = [wait_for_job(http, job_id, timeout=60) for job_id in jobs]
            assert [job["status"] for job in finished] == ["done", "done"], finished
            assert sorted(job["attempts"] for job in finished) == [1, 2]  # the killed one ran again
            for session_id, job in zip(sessions, finished, strict=True):
                assert versions(http, session_id) == [0, 1]  # one edit, one version
                head = http.get(f"/v1/sessions/{session_id}").json()["images"][0]["head_version_id"]
                assert head == job["result"]["version_id"]
        finally:
            victim.stop()  # what the kill left: its edit process, if still there
            cluster.workers.remove(victim)
            cluster.add_worker("cpu")


def test_a_client_of_a_killed_api_node_reconnects_to_the_other_and_finds_its_jobs(
    cluster: Cluster, photo: bytes
) -> None:
    key = cluster.keys["acme"]
    a, b = cluster.api
    try:
        with client(a, key) as on_a, socket(a, key) as ws_a:
            job_ids = [edit(on_a, photo, "increase contrast"), edit(on_a, photo, "make it warmer")]
            for job_id in job_ids:
                send(ws_a, type="subscribe", job_id=job_id)
            wait_running(on_a, job_ids[0])
            a.kill()
            with pytest.raises(ConnectionClosed):  # after the frames already on their way
                while True:
                    ws_a.recv(timeout=10)
        # The client reconnects to the other node: its jobs are there and they finish.
        with client(b, key) as on_b, socket(b, key) as ws_b:
            send(ws_b, type="jobs")
            listed = frames_until(ws_b, lambda f: f["type"] == "jobs")[-1]["jobs"]
            assert set(job_ids) <= {job["job_id"] for job in listed}
            for job_id in job_ids:
                send(ws_b, type="subscribe", job_id=job_id)
            assert final_states(ws_b, set(job_ids), timeout=60) == dict.fromkeys(job_ids, "done")
            for job_id in job_ids:
                assert on_b.get(f"/v1/jobs/{job_id}/result").status_code == 200
    finally:
        cluster.restart_api_node(0)


def test_a_restarted_redis_loses_no_accepted_job(cluster: Cluster, photo: bytes) -> None:
    """Jobs accepted (queued and running) before Redis stops and starts again all finish, once
    each; the nodes and workers reconnect by themselves and take new jobs."""
    assert cluster.redis is not None
    key = cluster.keys["acme"]
    with client(cluster.api[0], key) as http:
        sessions = [new_session(http, photo) for _ in range(4)]
        jobs = [session_edit(http, session_id, "make it brighter") for session_id in sessions]
        wait_running(http, jobs[0])
        cluster.redis.restart()
        finished = [wait_for_job(http, job_id, timeout=90) for job_id in jobs]
        assert [job["status"] for job in finished] == ["done"] * 4, finished
        assert all(versions(http, s) == [0, 1] for s in sessions)
        after = edit(http, photo, "more contrast")
        assert wait_for_job(http, after, timeout=60)["status"] == "done"


def test_a_job_is_cancelled_from_the_other_node(cluster: Cluster, photo: bytes) -> None:
    """A running job stops at its next step; a queued one never starts. The socket on the node
    that took the job hears it."""
    key = cluster.keys["acme"]
    a, b = cluster.api
    with client(a, key) as on_a, client(b, key) as on_b, socket(a, key) as ws_a:
        running, also_running, queued = (edit(on_a, photo, "make it warmer") for _ in range(3))
        send(ws_a, type="subscribe", job_id=running)
        send(ws_a, type="subscribe", job_id=queued)
        wait_running(on_a, running)
        wait_running(on_a, also_running)
        assert on_a.get(f"/v1/jobs/{queued}").json()["status"] == "queued"
        for job_id in (queued, running):
            cancelled = on_b.delete(f"/v1/jobs/{job_id}")
            assert cancelled.status_code in (200, 202), cancelled.text
        assert final_states(ws_a, {running, queued}) == {running: "cancelled", queued: "cancelled"}
        assert wait_for_job(on_a, also_running)["status"] == "done"  # the other job ran on
        never = on_b.get(f"/v1/jobs/{queued}").json()
        assert never["status"] == "cancelled" and never["attempts"] == 0  # it never started
        assert on_b.get(f"/v1/jobs/{running}/result").status_code == 404


def test_a_tenant_sees_nothing_of_another_tenant_on_any_node(cluster: Cluster, photo: bytes) -> None:
    acme, globex = cluster.keys["acme"], cluster.keys["globex"]
    a, b = cluster.api
    with (
        client(a, acme) as acme_http,
        client(b, globex) as globex_http,
        socket(a, acme) as acme_ws,
        socket(b, globex) as globex_ws,
    ):
        session_id = new_session(acme_http, photo)
        send(acme_ws, type="join", session_id=session_id)
        frames_until(acme_ws, lambda f: f["type"] == "joined")
        job_id = session_edit(acme_http, session_id, "make it brighter")

        # Over HTTP, on the other node: another tenant's objects do not exist.
        for path in (
            f"/v1/jobs/{job_id}",
            f"/v1/jobs/{job_id}/result",
            f"/v1/sessions/{session_id}",
        ):
            assert globex_http.get(path).status_code == 404, path
        assert globex_http.delete(f"/v1/jobs/{job_id}").status_code == 404
        assert job_id not in {j["job_id"] for j in globex_http.get("/v1/jobs").json()["jobs"]}

        # Over the WebSocket: asking for them is an error, and none of their events arrive.
        send(globex_ws, type="subscribe", job_id=job_id)
        send(globex_ws, type="join", session_id=session_id)
        answers = frames_until(globex_ws, lambda f: f.get("request") == "join")
        assert [f["type"] for f in answers] == ["error", "error"], answers
        assert all(f["code"] == "not_found" for f in answers)
        assert frames_until(acme_ws, is_final(job_id), timeout=60)[-1]["status"] == "done"
        heard: list[Frame] = frames_so_far(globex_ws)
        assert not [f for f in heard if job_id in json.dumps(f) or session_id in json.dumps(f)], heard
        send(globex_ws, type="jobs")
        listed = frames_until(globex_ws, lambda f: f["type"] == "jobs")[-1]["jobs"]
        assert job_id not in {j["job_id"] for j in listed}
