"""The shapes the REST API answers with, as ``response_model``s: one definition per shape, shown
in the OpenAPI spec (clients and schemathesis check answers against it) and enforced on the way
out, so a route cannot leak a field it was not meant to send.

Optional fields that are sent only in some cases (a job's session) are left unset rather than
null, and the routes answer with ``response_model_exclude_unset``, so the JSON keeps the shapes
of ../shared/contract.md.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Progress(BaseModel):
    done: int
    total: int


class JobOut(BaseModel):
    """A job as ``GET /v1/jobs/{id}`` shows it."""

    job_id: str
    kind: str
    status: str
    priority: int
    progress: Progress
    error: dict[str, Any] | None = None
    cached: bool
    attempts: int
    seconds: float | None = None
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    result_url: str | None = None
    result: dict[str, Any] | None = None
    session_id: str | None = None
    image_id: str | None = None


class JobList(BaseModel):
    jobs: list[JobOut]


class JobAccepted(BaseModel):
    """``POST /v1/edits``: the job, queued (or done at once from the result cache)."""

    job_id: str
    status: str
    cached: bool


class SessionCreated(BaseModel):
    id: str
    title: str


class SessionSummary(BaseModel):
    id: str
    title: str
    created_at: str


class SessionList(BaseModel):
    sessions: list[SessionSummary]
    #: Set while more sessions follow: the ``cursor`` of the next page.
    next_cursor: str | None = None


class VersionOut(BaseModel):
    id: str
    image_id: str
    parent_id: str | None
    number: int
    instruction: str
    resolved_instruction: str
    engine: str
    width: int
    height: int
    created_at: str
    image_url: str


class ImageOut(BaseModel):
    id: str
    position: int
    name: str
    head_version_id: str | None
    can_redo: bool
    versions: list[VersionOut]


class MessageOut(BaseModel):
    id: int
    session_id: str
    role: str
    text: str
    data: dict[str, Any]
    created_at: str


class SessionOut(BaseModel):
    id: str
    title: str
    created_at: str
    images: list[ImageOut]
    #: The conversation's last messages, oldest first (``?messages=N`` of them).
    messages: list[MessageOut]
    #: Set when older messages exist: pass it as ``before`` to ``GET /v1/sessions/{id}/messages``.
    messages_before: int | None = None


class MessagePage(BaseModel):
    """A page of a session's conversation, oldest first, read from the newest end."""

    messages: list[MessageOut]
    #: Set when still older messages exist: the ``before`` of the next (older) page.
    messages_before: int | None = None


class ImageAdded(BaseModel):
    image_id: str
    version_id: str
    position: int


class HeadMoved(BaseModel):
    """Where an image's head is after undo, redo or revert."""

    image_id: str
    version_id: str
    number: int


class TurnOut(BaseModel):
    """The agent's turn, in the CLI's ``--json`` shape, and the job that ran it (fields the agent
    adds to its turn pass through)."""

    model_config = ConfigDict(extra="allow")

    reply: str
    tool_calls: list[dict[str, Any]]
    resolved_instruction: str | None = None
    image_id: str | None = None
    version_id: str | None = None
    image_path: str | None = None
    job_id: str


class BatchItemOut(BaseModel):
    """A picture of a batch under review, as it stands (after its latest redo, if any).

    ``status``: the batch report's (``edited``, ``reused``, ``unchanged``, ``partial``,
    ``failed``, ...) or ``redoing`` while a redo runs; ``before_url``/``after_url`` take
    ``?max_side=N`` for a thumbnail (``after_url`` is ``null`` when there is no edit)."""

    index: int
    name: str
    output: str
    status: str
    reason: str
    instruction: str
    before_url: str | None
    after_url: str | None
    redo_job_id: str | None = None


class BatchOut(BaseModel):
    """``GET /v1/batches/{id}``: the batch job, its pictures (for a batch kept for review) and its
    review job, whose ``result_url`` is the archive once it is built."""

    job: JobOut
    review: bool
    items: list[BatchItemOut]
    review_job: JobOut | None = None


class RedoRequest(BaseModel):
    instruction: str = Field(min_length=1, max_length=2000)


class ItemDecision(BaseModel):
    item: int = Field(ge=0)
    decision: Literal["approve", "reject"]


class ReviewRequest(BaseModel):
    """Per-picture decisions; a picture left out is approved if it has an edit, else left out."""

    decisions: list[ItemDecision] = Field(default_factory=list, max_length=100_000)
