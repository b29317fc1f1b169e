"""Jobs on Celery workers over Redis: any number of API nodes, CPU and GPU worker pools.

``CeleryJobQueue`` (queue.py) is the API node's ``JobQueue``; ``run_worker`` (worker.py) is
``imgedit worker``. Only the composition roots (server/app.py, cli/worker.py) import them.
docs/architecture.md ("Scale-out") tells how the parts fit.
"""

from server.scheduler.celery.queue import CeleryJobQueue

__all__ = ["CeleryJobQueue"]
