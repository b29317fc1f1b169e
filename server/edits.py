"""Turning an edit request into a job: validate early, pick the pool, key the result cache.

The instruction is parsed at submission, so an empty or impossible instruction is answered
with a 4xx at once instead of becoming a failed job minutes later.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from imgedit.errors import BadInputError
from server.context import ServerContext
from server.scheduler import JobInfo, JobSpec

MAX_PRIORITY = 10


@dataclass(frozen=True)
class EditOptions:
    instruction: str
    engine: str | None = None
    seed: int | None = None
    steps: int | None = None
    cfg: float | None = None
    negative_prompt: str | None = None
    preserve: bool = True
    max_edit_area: float | None = None
    format: str | None = None
    priority: int = 0


def normalise_instruction(text: str) -> str:
    """Runs of whitespace collapsed, ends stripped: what is executed and what keys the cache.

    Nothing more (no NFKC, no lower-casing): quoted text in an instruction is put on the image
    as written, so two instructions that differ in anything else may give different images.
    """
    return " ".join(text.split())


def submit_edit(
    ctx: ServerContext,
    tenant: str,
    options: EditOptions,
    *,
    input_blob: str,
    session: dict[str, str] | None = None,
    idempotency_key: str | None = None,
) -> JobInfo:
    if not -MAX_PRIORITY <= options.priority <= MAX_PRIORITY:
        raise BadInputError(f"priority must be between {-MAX_PRIORITY} and {MAX_PRIORITY}.")
    if options.format and options.format.upper() not in ("PNG", "JPEG", "WEBP"):
        raise BadInputError("format must be PNG, JPEG or WEBP.")
    if options.max_edit_area is not None and not 0.0 < options.max_edit_area <= 1.0:
        raise BadInputError("max_edit_area must be a fraction in (0, 1].")
    options = replace(options, instruction=normalise_instruction(options.instruction))
    pool = ctx.editors.pool_for(options.engine or ctx.settings.engine, options.instruction)
    params: dict[str, Any] = {
        "instruction": options.instruction,
        "engine": pool,
        "seed": options.seed,
        "steps": options.steps,
        "cfg": options.cfg,
        "negative_prompt": options.negative_prompt,
        "preserve": options.preserve,
        "max_edit_area": options.max_edit_area,
        "format": options.format.upper() if options.format else None,
    }
    cache_key = None
    if session:
        params.update(session)
    else:
        keyed = {**params, "input": input_blob}
        cache_key = hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()
    spec = JobSpec(
        tenant=tenant,
        kind="edit",
        pool=pool,
        params=params,
        input_blob=input_blob,
        priority=options.priority,
        cache_key=cache_key,
        idempotency_key=idempotency_key,
    )
    return ctx.queue.submit(spec)


def job_json(info: JobInfo) -> dict[str, Any]:
    """The job as ``GET /v1/jobs/{id}`` shows it."""
    data: dict[str, Any] = {
        "job_id": info.id,
        "kind": info.kind,
        "status": info.status,
        "priority": info.priority,
        "progress": {"done": info.progress_done, "total": info.progress_total},
        "error": info.error and {k: v for k, v in info.error.items() if k in ("code", "message", "hint")},
        "cached": info.cached,
        "attempts": info.attempts,
        "seconds": info.seconds,
        "created_at": info.created_at.isoformat(),
        "started_at": info.started_at.isoformat() if info.started_at else None,
        "finished_at": info.finished_at.isoformat() if info.finished_at else None,
        "result_url": f"/v1/jobs/{info.id}/result" if info.status == "done" and info.result_blob else None,
        "result": info.result or None,
    }
    if info.params.get("session_id"):
        data["session_id"] = info.params["session_id"]
        data["image_id"] = info.params.get("image_id")
    return data
