"""Jobs on Celery workers over a real Redis (IMGEDIT_QUEUE=celery): API nodes in this process,
``imgedit worker`` subprocesses, PostgreSQL and S3 (SeaweedFS) for the state.

The module shares one deployment (one database, one blob prefix, one Redis database) and one
cpu worker, stopped and started again by the tests that need it gone (a kill, a restart)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import websockets
from PIL import Image
from sqlalchemy import event
from typer.testing import CliRunner
from websockets.sync.client import connect

from cli.main import app
from cluster.servers import PostgresServer, RedisServer, S3Server
from imgedit.config import get_settings
from tests.celery_harness import LEASE_SECONDS, CeleryDeployment
from tests.conftest import TINY_AREA, TINY_CONDITION_AREA, skimage_photo
from tests.deck_helpers import CORPUS
from tests.server_harness import (
    LiveServer,
    free_port,
    png_bytes,
    removed_soon,
    wait_for_job,
)

ECE = CORPUS / "ececapstonespring2012.pptx"
PPTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
#: This module's Redis database (other modules' deployments use others).
REDIS_DB = 3


@pytest.fixture(scope="module")
def deployment(
    postgres: PostgresServer,
    s3_server: S3Server,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CeleryDeployment]:
    found = CeleryDeployment.on_servers(
        postgres, s3_server, redis_server, tmp_path_factory.mktemp("celery"), redis_db=REDIS_DB
    )
    try:
        yield found
    finally:
        found.stop_workers()


@pytest.fixture(scope="module")
def nodes(deployment: CeleryDeployment) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two API nodes on the deployment."""
    with deployment.node() as a, deployment.node() as b:
        yield a, b


@pytest.fixture
def worker(deployment: CeleryDeployment) -> CeleryDeployment:
    """One cpu worker running (started if the previous test left none)."""
    alive = [w for w in deployment.workers if w.pool == "cpu" and w.proc.poll() is None]
    if not alive:
        deployment.stop_workers("cpu")
        deployment.start_worker()
    return deployment


@pytest.fixture(scope="module")
def photo() -> bytes:
    return png_bytes(skimage_photo("astronaut").resize((96, 96), Image.Resampling.LANCZOS))


def post_edit(client: httpx.Client, photo: bytes, instruction: str, **headers: str) -> dict[str, Any]:
    created = client.post(
        "/v1/edits",
        files={"file": ("p.png", photo, "image/png")},
        data={"instruction": instruction},
        headers=headers,
    )
    assert created.status_code == 202, created.text
    return dict(created.json())


def wait_until(check: Any, timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} after {timeout} s")
        time.sleep(0.05)


def running(client: httpx.Client, job_id: str) -> dict[str, Any]:
    """The job once a worker runs it (an edit then takes ``STEP_DELAY`` more seconds at least)."""

    def check() -> dict[str, Any] | None:
        job = dict(client.get(f"/v1/jobs/{job_id}").json())
        return job if job["status"] == "running" else None

    return dict(wait_until(check, what=f"running job {job_id}"))


def session_with_image(client: httpx.Client, photo: bytes) -> str:
    session_id = str(client.post("/v1/sessions", json={"title": "celery"}).json()["id"])
    added = client.post(f"/v1/sessions/{session_id}/images", files={"file": ("p.png", photo, "image/png")})
    assert added.status_code == 201, added.text
    return session_id


def versions(client: httpx.Client, session_id: str) -> list[int]:
    return [v["number"] for v in client.get(f"/v1/sessions/{session_id}").json()["images"][0]["versions"]]


class JobReads:
    """Counts the reads of one job's row that an API node sends to PostgreSQL (SQLAlchemy's
    statement event on the node's own engine), while the ``with`` block lasts."""

    def __init__(self, node: LiveServer, job_id: str) -> None:
        self.engine = node.app.state.ctx.db_engine
        self.job_id = job_id
        self.count = 0

    def _executed(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and isinstance(parameters, dict):
            self.count += parameters.get("job_id") == self.job_id

    def __enter__(self) -> JobReads:
        event.listen(self.engine, "before_cursor_execute", self._executed)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._executed)


def follow_answer(node: LiveServer, key: str, job_id: str) -> dict[str, Any]:
    """What a WebSocket client of ``node`` is answered when it subscribes to ``job_id``."""
    with connect(f"{node.ws_url}?token={key}") as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        ws.send(json.dumps({"type": "subscribe", "job_id": job_id}))
        return dict(json.loads(ws.recv(timeout=10)))


# -- the tests ------------------------------------------------------------------------------------


def test_fairness_across_tenants_through_one_worker(
    deployment: CeleryDeployment, nodes: tuple[LiveServer, LiveServer], photo: bytes
) -> None:
    """Jobs queued before any worker runs are taken by the embedded queue's rule: the tenant
    served least recently first, then that tenant's highest priority, then its oldest."""
    deployment.stop_workers()
    a, b = nodes
    heavy, light = a.key("fair-heavy"), b.key("fair-light")
    with a.client(heavy) as first, b.client(light) as second:
        h1 = post_edit(first, photo, "make it brighter")["job_id"]
        h2 = post_edit(first, photo, "make it darker")["job_id"]
        urgent = first.post(
            "/v1/edits",
            files={"file": ("p.png", photo, "image/png")},
            data={"instruction": "increase contrast", "priority": "5"},
        ).json()["job_id"]
        l1 = post_edit(second, photo, "make it warmer")["job_id"]
        assert first.get(f"/v1/jobs/{h1}").json()["status"] == "queued"
        deployment.start_worker()
        done = {job: wait_for_job(first, job) for job in (h1, h2, urgent)} | {l1: wait_for_job(second, l1)}
    assert {job["status"] for job in done.values()} == {"done"}
    order = sorted(done, key=lambda job: done[job]["started_at"])
    assert order == [urgent, l1, h1, h2]


def test_a_deck_submitted_on_one_node_is_followed_on_another_with_its_progress(
    worker: CeleryDeployment, nodes: tuple[LiveServer, LiveServer]
) -> None:
    """The worker's progress and job events reach a WebSocket on the other API node; the
    worker removes the deck's work folder (it is on the worker's machine) once the job is over."""
    a, b = nodes
    key = a.key("follow")

    async def scenario() -> list[dict[str, Any]]:
        async with websockets.connect(f"{b.ws_url}?token={key}") as ws:
            assert json.loads(await ws.recv())["type"] == "ready"
            with a.client(key) as client:
                created = client.post(
                    "/v1/decks",
                    files={"file": ("talk.pptx", ECE.read_bytes(), PPTX_TYPE)},
                    data={"prompt": "make it warmer"},
                )
                assert created.status_code == 202, created.text
            job_id = created.json()["job_id"]
            await ws.send(json.dumps({"type": "subscribe", "job_id": job_id}))
            frames = []
            while not frames or frames[-1].get("status") not in ("done", "failed", "cancelled"):
                frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if frame.get("job_id") == job_id:
                    frames.append(frame)
            return frames

    frames = asyncio.run(scenario())
    final = frames[-1]
    assert final["status"] == "done" and final["kind"] == "deck", final
    steps = list(dict.fromkeys((f["done"], f["total"]) for f in frames if f["type"] == "progress"))
    assert steps[-3:] == [(2, 4), (3, 4), (4, 4)], frames  # one frame per distinct picture
    with b.client(key) as client:
        assert client.get(final["result_url"]).headers["content-type"] == PPTX_TYPE
    assert removed_soon(worker.settings().work_root / "jobs" / final["job_id"])


def test_an_ended_job_is_answered_from_the_events_heard_and_a_running_one_from_the_database(
    worker: CeleryDeployment, nodes: tuple[LiveServer, LiveServer], photo: bytes
) -> None:
    """Every API node hears every job's end on the event channel; from then on the job's state,
    its result and a follower's subscription cost that node no database read, on the node that
    took the job and on the other alike. A job still running is read each time (another node
    may have changed it a moment ago), and another tenant still finds nothing."""
    a, b = nodes
    key, stranger = a.key("heard"), a.key("heard-other")
    with a.client(key) as on_a, b.client(key) as on_b, b.client(stranger) as other:
        job_id = post_edit(on_a, photo, "make it brighter")["job_id"]
        running(on_a, job_id)
        with JobReads(b, job_id) as reads:
            assert on_b.get(f"/v1/jobs/{job_id}").json()["status"] == "running"
        assert reads.count == 1
        assert wait_for_job(on_a, job_id)["status"] == "done"

        def from_memory(node: LiveServer, client: httpx.Client) -> bool:
            with JobReads(node, job_id) as reads:
                job = client.get(f"/v1/jobs/{job_id}").json()
                result = client.get(f"/v1/jobs/{job_id}/result")
                followed = follow_answer(node, key, job_id)
            assert job["status"] == "done" and result.status_code == 200, (job, result.text)
            assert followed["type"] == "job" and followed["status"] == "done", followed
            return reads.count == 0

        for node, client in ((a, on_a), (b, on_b)):
            wait_until(partial(from_memory, node, client), timeout=5, what="an answer without a job read")
        assert other.get(f"/v1/jobs/{job_id}").status_code == 404
        assert other.get(f"/v1/jobs/{job_id}/result").status_code == 404
        refused = follow_answer(b, stranger, job_id)
        assert (refused["type"], refused["code"]) == ("error", "not_found"), refused


def test_idempotency_key_and_result_cache_are_shared_by_the_nodes(
    worker: CeleryDeployment, nodes: tuple[LiveServer, LiveServer], photo: bytes
) -> None:
    a, b = nodes
    key = a.key("idem")
    with a.client(key) as on_a, b.client(key) as on_b:
        one = post_edit(on_a, photo, "sharpen it", **{"Idempotency-Key": "order-7"})["job_id"]
        two = post_edit(on_b, photo, "sharpen it", **{"Idempotency-Key": "order-7"})["job_id"]
        assert one == two
        first = wait_for_job(on_a, one)
        assert first["status"] == "done"
        again = post_edit(on_b, photo, "sharpen   it")
        assert again["status"] == "done" and again["cached"] is True
        cached = on_b.get(f"/v1/jobs/{again['job_id']}").json()
        assert on_b.get(cached["result_url"]).content == on_a.get(first["result_url"]).content


def test_cancel_from_the_other_node_queued_and_running(
    worker: CeleryDeployment, nodes: tuple[LiveServer, LiveServer], photo: bytes
) -> None:
    a, b = nodes
    key = a.key("cancel")
    with a.client(key) as on_a, b.client(key) as on_b:
        busy = post_edit(on_a, photo, "make it brighter")["job_id"]
        waiting = post_edit(on_a, photo, "make it darker")["job_id"]
        running(on_a, busy)  # the one worker thread is taken: the second job waits
        assert on_b.delete(f"/v1/jobs/{waiting}").json()["status"] == "cancelled"
        on_b.delete(f"/v1/jobs/{busy}")
        stopped = wait_for_job(on_a, busy, timeout=20)
        assert stopped["status"] == "cancelled" and stopped["error"]["code"] == "cancelled"
        never = wait_for_job(on_a, waiting)
        assert never["status"] == "cancelled" and never["started_at"] is None
        # The worker goes on with the next job.
        assert wait_for_job(on_a, post_edit(on_a, photo, "make it warmer")["job_id"])["status"] == "done"


def test_a_killed_workers_job_runs_again_and_makes_one_version(
    worker: CeleryDeployment, nodes: tuple[LiveServer, LiveServer], photo: bytes
) -> None:
    a, b = nodes
    key = a.key("killed")
    with a.client(key) as on_a, b.client(key) as on_b:
        session_id = session_with_image(on_a, photo)
        job_id = on_a.post(f"/v1/sessions/{session_id}/edits", json={"instruction": "降低饱和度"}).json()[
            "job_id"
        ]
        assert running(on_a, job_id)["attempts"] == 1
        killed_at = time.monotonic()
        worker.workers[-1].kill()
        # The API nodes' reaper puts it back once its lease runs out, for the next worker.
        wait_until(
            lambda: on_b.get(f"/v1/jobs/{job_id}").json()["status"] == "queued",
            timeout=10,
            what="re-queued job",
        )
        assert time.monotonic() - killed_at < LEASE_SECONDS * 4
        worker.start_worker()
        done = wait_for_job(on_b, job_id)
        assert done["status"] == "done" and done["attempts"] == 2 and done["result"]["number"] == 1
        assert versions(on_b, session_id) == [0, 1]


def test_a_paused_worker_that_lost_its_job_makes_no_second_version(
    worker: CeleryDeployment, nodes: tuple[LiveServer, LiveServer], photo: bytes
) -> None:
    """A worker frozen mid-job (SIGSTOP: a long GC pause, a VM stall) loses its lease; another
    worker runs the job again. When the first one wakes up and finishes its run, the job's
    effect is already recorded (one version per job id) and its late final state is refused."""
    a, _ = nodes
    key = a.key("paused")
    paused = worker.workers[-1]
    with a.client(key) as client:
        session_id = session_with_image(client, photo)
        job_id = client.post(
            f"/v1/sessions/{session_id}/edits", json={"instruction": "make it warmer"}
        ).json()["job_id"]
        running(client, job_id)
        os.kill(paused.proc.pid, signal.SIGSTOP)
        try:
            wait_until(
                lambda: client.get(f"/v1/jobs/{job_id}").json()["status"] == "queued", what="re-queued job"
            )
            worker.start_worker()
            done = wait_for_job(client, job_id)
        finally:
            os.kill(paused.proc.pid, signal.SIGCONT)
        assert done["status"] == "done" and done["attempts"] == 2 and versions(client, session_id) == [0, 1]
        wait_until(lambda: "lost its lease" in paused.output(), what="the paused worker's late ending")
        assert versions(client, session_id) == [0, 1]
        assert client.get(f"/v1/jobs/{job_id}").json()["result"]["version_id"] == done["result"]["version_id"]
    paused.stop()
    worker.workers.remove(paused)


def test_a_job_that_kills_its_worker_every_time_fails_after_the_attempts(
    worker: CeleryDeployment, nodes: tuple[LiveServer, LiveServer], photo: bytes
) -> None:
    a, _ = nodes
    key = a.key("crash")
    with a.client(key) as client:
        job_id = post_edit(client, photo, "make it brighter")["job_id"]
        for attempt in (1, 2):
            assert running(client, job_id)["attempts"] == attempt
            worker.workers[-1].kill()
            if attempt == 1:
                worker.start_worker()
        failed = wait_for_job(client, job_id, timeout=20)
    assert failed["status"] == "failed" and failed["error"]["code"] == "worker_lost"


def test_a_stopped_worker_and_a_restarted_redis_lose_no_job(
    worker: CeleryDeployment, nodes: tuple[LiveServer, LiveServer], photo: bytes, redis_server: RedisServer
) -> None:
    """SIGTERM puts the worker's running job back in the queue at once; Redis restarted (its
    append-only file keeps the tokens), then its data lost (tokens gone: the reaper sends them
    again from the job rows): every accepted job still runs, once."""
    a, b = nodes
    key = a.key("restart")
    with a.client(key) as on_a, b.client(key) as on_b:
        interrupted = post_edit(on_a, photo, "make it cooler")["job_id"]
        running(on_a, interrupted)
        assert worker.workers[-1].stop() == 0
        assert on_a.get(f"/v1/jobs/{interrupted}").json()["status"] == "queued"
        worker.stop_workers()
        before = post_edit(on_a, photo, "make it brighter")["job_id"]
        redis_server.restart()
        lost = post_edit(on_b, photo, "make it darker")["job_id"]
        redis.Redis.from_url(worker.broker_url).flushdb()  # as if restarted without its file
        after = post_edit(on_a, photo, "make it warmer")["job_id"]
        worker.start_worker()
        finished = [wait_for_job(on_a, job) for job in (interrupted, before, lost, after)]
        assert [job["status"] for job in finished] == ["done"] * 4
        assert finished[0]["attempts"] == 2 and {job["attempts"] for job in finished[1:]} == {1}


def test_a_generative_edit_goes_to_the_gpu_pool_and_its_worker(
    worker: CeleryDeployment, photo: bytes, tiny_model: Path
) -> None:
    """An API node with the qwen model set (and no GPU of its own) sends a generative edit to the
    gpu queue; a gpu worker (here the tiny pipeline on the CPU) loads the model before it says
    it is ready, and runs it."""
    qwen = {
        "IMGEDIT_ENGINE": "qwen",
        "IMGEDIT_QWEN_MODEL": str(tiny_model),
        "IMGEDIT_QWEN_DEVICE": "cpu",
        "IMGEDIT_QWEN_STEPS": "2",
        "IMGEDIT_QWEN_TARGET_AREA": str(TINY_AREA),
        "IMGEDIT_QWEN_VAE_IMAGE_AREA": str(TINY_AREA),
        "IMGEDIT_QWEN_CONDITION_IMAGE_AREA": str(TINY_CONDITION_AREA),
        "IMGEDIT_MAX_EDIT_AREA": "1.0",
        "IMGEDIT_JOB_STEP_DELAY": "0",
    }
    gpu = worker.start_worker("gpu", **qwen)
    assert "warmed up" in gpu.output().split("ready")[0]  # the model ran once before any job
    try:
        with (
            worker.node(engine="auto", qwen_model=str(tiny_model)) as node,
            node.client(node.key("painter")) as client,
        ):
            job = post_edit(client, photo, "把背景换成海边")
            assert job["status"] == "queued"
            done = wait_for_job(client, job["job_id"], timeout=120)
            assert done["status"] == "done", done
            assert done["result"]["report"]["engine"] == "qwen"
            assert httpx.get(f"{node.url}/healthz").json()["workers"] == {"cpu": 1, "gpu": 1}
    finally:
        worker.stop_workers("gpu")
    assert gpu.proc.returncode == 0


def test_healthz_reports_database_storage_broker_and_workers(
    worker: CeleryDeployment, nodes: tuple[LiveServer, LiveServer], tmp_path: Path
) -> None:
    a, _ = nodes
    health = httpx.get(f"{a.url}/healthz").json()
    assert health["status"] == "ok"
    assert (health["database"], health["storage"], health["broker"]) == ("ok", "ok", "ok")
    assert health["workers"] == {"cpu": 1, "gpu": 0}
    metrics = httpx.get(f"{a.url}/metrics").text
    assert 'imgedit_workers_alive{pool="cpu"} 1.0' in metrics and 'imgedit_queue_depth{pool="gpu"}' in metrics
    # A node whose broker is down cannot queue jobs: the load balancer must take it out.
    with worker.node(broker_url=f"redis://127.0.0.1:{free_port()}/0") as cut:
        answer = httpx.get(f"{cut.url}/healthz", timeout=20)
        assert answer.status_code == 503
        assert answer.json()["broker"] == "unreachable" and answer.json()["database"] == "ok"


def test_worker_without_a_broker_or_with_a_wrong_pool_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMGEDIT_QUEUE", "celery")
    missing = CliRunner().invoke(app, ["worker", "--pool", "cpu"])
    assert missing.exit_code == 2 and "IMGEDIT_BROKER_URL" in missing.output, missing.output
    monkeypatch.setenv("IMGEDIT_BROKER_URL", "amqp://127.0.0.1/")
    get_settings.cache_clear()
    wrong = CliRunner().invoke(app, ["worker", "--pool", "cpu"])
    assert wrong.exit_code == 2 and "redis://" in wrong.output, wrong.output
    monkeypatch.setenv("IMGEDIT_BROKER_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    pool = CliRunner().invoke(app, ["worker", "--pool", "tpu"])
    assert pool.exit_code == 2 and "cpu, gpu" in pool.output, pool.output
    gpu = CliRunner().invoke(app, ["worker", "--pool", "gpu", "--concurrency", "2"])
    assert gpu.exit_code == 2 and "one job at a time" in gpu.output, gpu.output
