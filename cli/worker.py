"""``imgedit worker``: run the jobs of one pool, taken from the broker (IMGEDIT_QUEUE=celery).

A thin adapter over ``server.scheduler.celery.worker.run_worker``: API nodes (`imgedit serve`
with IMGEDIT_QUEUE=celery) enqueue, workers on any machine with the same database, blob store
and broker settings run the jobs.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import command
from imgedit.config import get_settings


@command
def worker_command(
    pool: Annotated[
        str,
        typer.Option(
            help="Which jobs to run: cpu (classic edits, decks, batches, Figma, chat) or gpu (qwen edits)."
        ),
    ],
    concurrency: Annotated[
        int | None,
        typer.Option(help="Jobs run at once (threads) (default: one per CPU core for cpu, 1 for gpu)."),
    ] = None,
) -> None:
    """Run jobs of POOL from the broker until stopped (SIGTERM: running jobs go back to the queue).

    For API nodes started with IMGEDIT_QUEUE=celery. Needs IMGEDIT_BROKER_URL, and the same
    IMGEDIT_DATABASE_URL and IMGEDIT_BLOB_URL as the API nodes. Prints a line with "ready" once it
    takes jobs (a gpu worker loads its model first, from IMGEDIT_QWEN_MODEL).

    Example: IMGEDIT_QUEUE=celery IMGEDIT_BROKER_URL=redis://127.0.0.1:6379/0 imgedit worker --pool cpu
    """
    from server.scheduler.celery.app import broker_url
    from server.scheduler.celery.worker import run_worker

    settings = get_settings()
    broker_url(settings)  # a clear error before anything loads
    code = run_worker(settings, pool, concurrency)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker_command)
