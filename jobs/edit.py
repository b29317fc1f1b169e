"""The ``edit`` job: an image through ``Editor.edit``; for a session image, a new version of it.

- One-shot edits (``POST /v1/edits``) store the result blob and answer with it; their ``cache_key``
  names the result so the same edit of the same bytes is answered at once.
- Session edits (``POST /v1/sessions/{id}/edits``, the page's ``edit`` frame) go through the one
  session-edit use case (tools/session_edit.py): the version records the resolution and the
  author, and the entities the edit named join the registry, as a chat edit's do. The version
  carries the job id, so a re-run after a crash finds it instead of adding a second one.

The image work (``perform_edit``) runs wherever the host puts it: for classic edits a worker
process (server/edit_workers.py), else the job's own thread. This module imports only the
engine and the blob store, so a worker process preloads it cheaply; the session use case is
imported when a session edit runs.

The result's ``timings`` split the job's time into ``engine_seconds`` (``Editor.edit``) and
``server_seconds`` (everything else: claiming the job, reading and decoding the input,
announcing progress, encoding and storing the output, and for a worker process ``dispatch``,
the hand-over to it and back), so the service's overhead is measured per job rather than
guessed from end-to-end figures (bench/server_load.py).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from engine import Editor
from engine.imageio import encode_image, load_image
from engine.parsing.language import reply_language
from engine.types import CancelToken
from imgedit.config import Settings
from imgedit.errors import BadInputError, answered_in
from jobs.base import JobContext, JobKind, JobOutcome, JobParams, Pool, engine_pool
from jobs.editors import Editors
from sessions.blobs import BlobStore

#: The steps of an edit job's first quarter second are recorded (``GET /v1/jobs/{id}`` shows them,
#: the final ``job`` frame carries the count) but not announced as ``progress`` events: a progress
#: bar for an edit that is over by then would only flicker, and each event costs the server a
#: hop to the event loop and a frame per follower (bench/server_load.py). A qwen edit's steps,
#: about a second each, are all announced after the first.
EDIT_QUIET_SECONDS = 0.25
MAX_PRIORITY = 10


class EditSettings(BaseModel):
    """How an edit runs, as the client may tune it (the API's form fields, the job's params)."""

    model_config = ConfigDict(frozen=True)

    seed: int | None = None
    steps: int | None = None
    cfg: float | None = None
    negative_prompt: str | None = None
    preserve: bool = True
    max_edit_area: float | None = None
    format: str | None = None


class EditParams(JobParams, EditSettings):
    """An edit job's parameters; the session fields are set for an edit of a session image."""

    RESOLVED: ClassVar[frozenset[str]] = frozenset({"image_id", "parent_version_id", "author"})

    instruction: str
    engine: str = Field(default="classic", description="The engine that runs it: classic or qwen.")
    session_id: str | None = None
    image_id: str | None = None
    parent_version_id: str | None = None
    #: Who asked (a session edit's audit record): ``key:<id>`` for an API key.
    author: str = "user"

    def session_ref(self) -> tuple[str, str | None] | None:
        return (self.session_id, self.image_id) if self.session_id else None

    def input_is_resolved(self) -> bool:
        """A session edit's input is the head chosen at submission, not something the client sent."""
        return self.session_id is not None


class EditOptions(EditSettings):
    """What a client asks of an edit, before it is checked and its engine chosen."""

    instruction: str
    engine: str | None = None
    priority: int = 0


@dataclass(frozen=True)
class SessionTarget:
    """The session image an edit starts from: its head version when the edit was asked for."""

    session_id: str
    image_id: str
    parent_version_id: str
    author: str = "user"


def normalise_instruction(text: str) -> str:
    """Runs of whitespace collapsed, ends stripped: what is executed and what keys the cache.

    Nothing more (no NFKC, no lower-casing): quoted text in an instruction is put on the image
    as written, so two instructions that differ in anything else may give different images.
    """
    return " ".join(text.split())


def edit_params(
    editors: Editors, default_engine: str, options: EditOptions, session: SessionTarget | None = None
) -> EditParams:
    """Check an edit request now (a 4xx at once, not a failed job later) and choose its engine.

    The instruction is parsed here, so an empty or impossible instruction is refused before it is
    queued."""
    if not -MAX_PRIORITY <= options.priority <= MAX_PRIORITY:
        raise BadInputError(f"priority must be between {-MAX_PRIORITY} and {MAX_PRIORITY}.")
    if options.format and options.format.upper() not in ("PNG", "JPEG", "WEBP"):
        raise BadInputError("format must be PNG, JPEG or WEBP.")
    if options.max_edit_area is not None and not 0.0 < options.max_edit_area <= 1.0:
        raise BadInputError("max_edit_area must be a fraction in (0, 1].")
    instruction = normalise_instruction(options.instruction)
    engine = editors.engine_for(options.engine or default_engine, instruction)
    settings = options.model_dump(include=set(EditSettings.model_fields))
    settings["format"] = options.format.upper() if options.format else None
    return EditParams(
        instruction=instruction,
        engine=engine,
        **settings,
        session_id=session.session_id if session else None,
        image_id=session.image_id if session else None,
        parent_version_id=session.parent_version_id if session else None,
        author=session.author if session else "user",
    )


def cache_key(params: EditParams, input_blob: str) -> str | None:
    """Names a one-shot edit's result (same bytes, same parameters: same image); a session edit
    has none, as each makes a new version."""
    if params.session_id:
        return None
    keyed = params.model_dump(mode="json", exclude={"session_id", "image_id", "parent_version_id", "author"})
    keyed["input"] = input_blob
    return hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()


# -- the image work -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EditTask:
    """One edit as it crosses to a worker: its parameters and its input blob's name.

    ``keep_bytes``: send the encoded output back instead of storing it (a session edit, whose
    version is recorded with the bytes); otherwise the worker stores the result blob.
    """

    input_blob: str
    params: EditParams
    keep_bytes: bool = False


@dataclass
class EditProduct:
    """What an edit produced, wherever it ran: the stored blob or the bytes, and its timings.

    ``timings`` are the seconds of the steps outside ``Editor.edit`` (``decode``, ``encode``,
    ``store``); ``engine_seconds`` is ``Editor.edit`` less the time spent announcing progress.
    """

    format: str
    report: dict[str, Any]
    engine_seconds: float
    timings: dict[str, float]
    digest: str | None = None
    data: bytes | None = None
    wall_seconds: float = 0.0


def perform_edit(
    editor: Editor,
    blobs: BlobStore,
    settings: Settings,
    task: EditTask,
    *,
    progress: Any,
    cancel: CancelToken,
) -> EditProduct:
    """Read and decode the input blob, run ``Editor.edit``, encode, and store (or keep) the output.

    The one implementation of an edit job's image work, used in a worker process and, where
    processes are off or for qwen jobs, in the job's own thread.
    """
    started = time.perf_counter()
    params = task.params
    with answered_in(reply_language(params.instruction)):
        loaded = load_image(blobs.get(task.input_blob), max_pixels=settings.max_image_pixels)
    decoded = time.perf_counter()
    announcing = 0.0

    def announce(done: int, total: int) -> None:
        # Announcing a step is the host's work, even though it happens inside the edit.
        nonlocal announcing
        mark = time.perf_counter()
        progress(done, total)
        announcing += time.perf_counter() - mark

    result = editor.edit(
        image=loaded.image,
        prompt=params.instruction,
        seed=params.seed,
        negative_prompt=params.negative_prompt or " ",
        num_inference_steps=params.steps,
        true_cfg_scale=params.cfg,
        enable_semantic_preserve=params.preserve,
        max_edit_area=params.max_edit_area,
        progress=announce,
        cancel=cancel,
    )
    cancel.raise_if_cancelled()
    edited = time.perf_counter()
    fmt = (params.format or loaded.format).upper()
    data = encode_image(result.image, fmt)
    encoded = time.perf_counter()
    digest = None if task.keep_bytes else blobs.put(data)
    stored = time.perf_counter()
    return EditProduct(
        format=fmt,
        report=result.report.to_dict(),
        engine_seconds=edited - decoded - announcing,
        timings={
            "decode": decoded - started,
            "progress": announcing,
            "encode": encoded - edited,
            "store": stored - encoded,
        },
        digest=digest,
        data=data if task.keep_bytes else None,
        wall_seconds=stored - started,
    )


# -- the job kind -------------------------------------------------------------------------------


def pool(params: EditParams) -> Pool:
    return engine_pool(params.engine)


def run(params: EditParams, ctx: JobContext) -> JobOutcome:
    if not ctx.input_blob:
        raise BadInputError("This job has no input image.")
    claim = time.perf_counter() - ctx.started
    if params.session_id:
        return _run_session_edit(params, ctx, claim)
    product = ctx.perform_edit(EditTask(input_blob=ctx.input_blob, params=params))
    ctx.cancel.raise_if_cancelled()
    assert product.digest is not None
    return _outcome(product.digest, product.format, product.report, None, product, claim)


def _run_session_edit(params: EditParams, ctx: JobContext, claim: float) -> JobOutcome:
    """A session image's edit through the one use case, at most one version per job."""
    from tools.session_edit import EditEffect, SessionEdit, SessionEdits

    assert params.image_id and params.parent_version_id and ctx.input_blob
    edits = SessionEdits(ctx.store)
    edit = edits.prepare(
        SessionEdit(
            image=ctx.store.image(params.image_id),
            base=ctx.store.version(params.parent_version_id),
            instruction=params.instruction,
            user_text=params.instruction,
            author=params.author,
            seed=params.seed,
            effect=EditEffect(ctx.job_id),
        )
    )
    found = edits.done_before(edit)
    if found is not None:
        version = found.version
        return _outcome(version.blob, version.format, version.report, version)
    product = ctx.perform_edit(EditTask(input_blob=ctx.input_blob, params=params, keep_bytes=True))
    ctx.cancel.raise_if_cancelled()
    assert product.data is not None
    mark = time.perf_counter()
    version = edits.record(edit, product.data, product.report).version
    product.timings["store"] += time.perf_counter() - mark
    return _outcome(version.blob, product.format, product.report, version, product, claim)


def _outcome(
    digest: str,
    fmt: str,
    report: dict[str, Any],
    version: Any,
    product: EditProduct | None = None,
    claim: float = 0.0,
) -> JobOutcome:
    result: dict[str, Any] = {"report": report}
    if version is not None:
        result.update(version_id=version.id, image_id=version.image_id, number=version.number)
    if product is not None:
        timings = {"claim": claim, **product.timings}
        result["timings"] = {
            "engine_seconds": round(product.engine_seconds, 6),
            "server_seconds": round(sum(timings.values()), 6),
            **{key: round(value, 6) for key, value in timings.items()},
        }
    return JobOutcome(result_blob=digest, result_format=fmt, result=result)


EDIT = JobKind("edit", EditParams, pool, run, quiet_seconds=EDIT_QUIET_SECONDS)
