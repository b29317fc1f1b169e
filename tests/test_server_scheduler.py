"""The in-process scheduler on a real SQLite database: fair share, priorities, cancel, restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import server.models
from imgedit.errors import NotFoundError
from server.scheduler import JobInfo, JobSpec
from server.scheduler.base import JobOutcome, RunControl
from server.scheduler.local import LocalJobQueue
from sessions import create_db_engine, create_sessionmaker


def make_queue(path: Path, runner, slots: int = 1) -> LocalJobQueue:  # type: ignore[no-untyped-def]
    db = create_sessionmaker(create_db_engine(path / "jobs.db"))
    return LocalJobQueue(db, {"edit": runner}, {"classic": slots})


def test_round_robin_across_tenants_then_priority_within_a_tenant(tmp_path: Path) -> None:
    order: list[str] = []
    gate = threading.Event()

    def runner(job: JobInfo, ctx: RunControl) -> JobOutcome:
        gate.wait(10)
        order.append(job.params["name"])
        return JobOutcome()

    queue = make_queue(tmp_path, runner)
    queue.start()
    try:
        blocker = queue.submit(JobSpec(tenant="z", kind="edit", pool="classic", params={"name": "blocker"}))
        time.sleep(0.2)  # the one worker now holds the blocker; everything else queues
        for index in range(4):
            queue.submit(JobSpec(tenant="big", kind="edit", pool="classic", params={"name": f"big{index}"}))
        queue.submit(JobSpec(tenant="small", kind="edit", pool="classic", params={"name": "small0"}))
        queue.submit(
            JobSpec(tenant="small", kind="edit", pool="classic", params={"name": "urgent"}, priority=5)
        )
        ids = [j.id for j in queue.list("big")]
        gate.set()
        for job_id in [blocker.id, *ids]:
            assert queue.wait(job_id, 10)
    finally:
        queue.stop()
    # Tenants alternate instead of "big" draining its backlog first; priority orders only a
    # tenant's own jobs ("urgent" before "small0"), never one tenant's before another's.
    assert order == ["blocker", "big0", "urgent", "big1", "small0", "big2", "big3"]


def test_cancel_queued_and_running_jobs(tmp_path: Path) -> None:
    started = threading.Event()

    def runner(job: JobInfo, ctx: RunControl) -> JobOutcome:
        started.set()
        for step in range(200):
            ctx.cancel.raise_if_cancelled()
            ctx.progress(step + 1, 200)
            time.sleep(0.01)
        return JobOutcome()

    queue = make_queue(tmp_path, runner)
    queue.start()
    try:
        running = queue.submit(JobSpec(tenant="a", kind="edit", pool="classic"))
        waiting = queue.submit(JobSpec(tenant="a", kind="edit", pool="classic"))
        assert started.wait(5)
        assert queue.cancel(waiting.id, "a").status == "cancelled"
        queue.cancel(running.id, "a")
        assert queue.wait(running.id, 5)
        final = queue.get(running.id, "a")
        assert final.status == "cancelled" and 0 < final.progress_done < 200
    finally:
        queue.stop()


def test_jobs_left_running_are_requeued_on_start(tmp_path: Path) -> None:
    def runner(job: JobInfo, ctx: RunControl) -> JobOutcome:
        return JobOutcome(result={"ran": True})

    first = make_queue(tmp_path, runner)  # never started: the job stays queued
    job = first.submit(JobSpec(tenant="a", kind="edit", pool="classic", idempotency_key="k1"))
    with first.db.begin() as db:  # as if a process died while running it
        row = db.get(server.models.JobRow, job.id)
        assert row is not None
        row.status = "running"
    second = make_queue(tmp_path, runner)
    second.start()
    try:
        assert second.wait(job.id, 10)
        assert second.get(job.id, "a").result == {"ran": True}
        again = second.submit(JobSpec(tenant="a", kind="edit", pool="classic", idempotency_key="k1"))
        assert again.id == job.id
    finally:
        second.stop()


def test_progress_is_shown_at_once_and_stored_with_the_final_status(tmp_path: Path) -> None:
    """Fast steps are not committed one by one, yet ``get`` shows the latest and the row keeps it."""
    stepped, release = threading.Event(), threading.Event()

    def runner(job: JobInfo, ctx: RunControl) -> JobOutcome:
        ctx.progress(1, 3)
        ctx.progress(2, 3)
        stepped.set()
        release.wait(10)
        return JobOutcome(result={"ran": True})

    queue = make_queue(tmp_path, runner)
    queue.start()
    try:
        job = queue.submit(JobSpec(tenant="a", kind="edit", pool="classic"))
        assert stepped.wait(5)
        running = queue.get(job.id, "a")
        assert (running.status, running.progress_done, running.progress_total) == ("running", 2, 3)
        assert [j.progress_done for j in queue.list("a")] == [2]
        release.set()
        assert queue.wait(job.id, 5)
    finally:
        queue.stop()
    reopened = make_queue(tmp_path, runner)  # a fresh process sees only what was committed
    final = reopened.get(job.id, "a")
    assert (final.status, final.progress_done, final.progress_total) == ("done", 3, 3)


def test_quiet_kinds_announce_only_the_steps_after_their_first_seconds(tmp_path: Path) -> None:
    """An edit over within its quiet time sends no progress events; a longer one sends the later
    steps; the final state carries the steps either way."""
    events: list[tuple[str, str, int]] = []

    def runner(job: JobInfo, ctx: RunControl) -> JobOutcome:
        ctx.progress(1, 3)
        if job.params.get("slow"):
            time.sleep(0.4)
        ctx.progress(2, 3)
        ctx.progress(3, 3)
        return JobOutcome(result={"ran": True})

    db = create_sessionmaker(create_db_engine(tmp_path / "jobs.db"))
    queue = LocalJobQueue(db, {"edit": runner}, {"classic": 1}, quiet_seconds={"edit": 0.25})
    queue.subscribe(lambda event: events.append((event.type, event.job.id, event.job.progress_done)))
    queue.start()
    try:
        fast = queue.submit(JobSpec(tenant="a", kind="edit", pool="classic"))
        assert queue.wait(fast.id, 5)
        slow = queue.submit(JobSpec(tenant="a", kind="edit", pool="classic", params={"slow": True}))
        assert queue.wait(slow.id, 5)
    finally:
        queue.stop()
    assert [e for e in events if e[:2] == ("progress", fast.id)] == []
    assert [done for kind, job_id, done in events if (kind, job_id) == ("progress", slow.id)] == [2, 3]
    for job in (fast, slow):
        final = queue.get(job.id, "a")
        assert (final.status, final.progress_done, final.progress_total) == ("done", 3, 3)


def test_get_answers_the_committed_state_and_hides_other_tenants_jobs(tmp_path: Path) -> None:
    """``get`` answers from memory what was committed: the same as a fresh process reads."""

    def runner(job: JobInfo, ctx: RunControl) -> JobOutcome:
        ctx.progress(1, 1)
        return JobOutcome(result={"ran": True})

    queue = make_queue(tmp_path, runner)
    queue.start()
    try:
        job = queue.submit(JobSpec(tenant="a", kind="edit", pool="classic"))
        assert queue.wait(job.id, 5)
        remembered = queue.get(job.id, "a")
        with pytest.raises(NotFoundError):
            queue.get(job.id, "b")
    finally:
        queue.stop()
    fresh = make_queue(tmp_path, runner).get(job.id, "a")
    assert remembered == fresh
    assert remembered.status == "done" and remembered.result == {"ran": True}
