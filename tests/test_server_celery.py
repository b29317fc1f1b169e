"""The service's main job tests again, with IMGEDIT_QUEUE=celery: the API node enqueues, a real
``imgedit worker`` runs the jobs, over Redis, PostgreSQL and S3 (a few tests, not the suite
twice: the rest of the service is the same code whichever queue runs the jobs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cluster.servers import PostgresServer, RedisServer, S3Server
from tests.celery_harness import CeleryDeployment
from tests.server_harness import LiveServer
from tests.test_server import (  # noqa: F401  (fixtures and tests collected again here)
    key,
    photo,
    test_chat_message_edits_and_undo_redo_revert_move_the_head,
    test_idempotency_key_returns_the_same_job,
    test_repeated_edit_is_answered_from_the_cache,
    test_session_edit_job_records_one_version,
    test_websocket_streams_job_events_and_answers_status,
)

#: This module's Redis database (tests/test_celery_queue.py uses another).
REDIS_DB = 4


@pytest.fixture(scope="module")
def live(
    postgres: PostgresServer,
    s3_server: S3Server,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """An API node with IMGEDIT_QUEUE=celery and one cpu worker behind it."""
    deployment = CeleryDeployment.on_servers(
        postgres,
        s3_server,
        redis_server,
        tmp_path_factory.mktemp("celery-server"),
        redis_db=REDIS_DB,
        extra={"max_upload_bytes": 3_000_000, "max_image_pixels": 4_000_000},
        step_delay=0.0,
    )
    try:
        deployment.start_worker(concurrency=2)
        with deployment.node() as node:
            yield node
    finally:
        deployment.stop_workers()
