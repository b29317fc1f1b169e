"""Batch edits of a picture set: a folder, a .zip or a CSV manifest of per-picture instructions.

``run_batch`` edits (resumably, in parallel, each distinct edit once); ``plan_batch`` says what
it would do. The ``imgedit batch`` command is a thin adapter over these.
"""

from batch.dryrun import plan_batch
from batch.report import BatchReport, ItemReport
from batch.runner import BatchOptions, check_batch, run_batch

__all__ = ["BatchOptions", "BatchReport", "ItemReport", "check_batch", "plan_batch", "run_batch"]
