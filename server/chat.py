"""Chat turns as jobs: the agent runs in a worker slot like any edit, so chat shares the fair,
prioritised scheduler (a chat turn usually runs an edit) instead of bypassing it.

The agent package is imported when the first turn runs; if it is missing or broken the turn
fails with ``agent_unavailable`` (503) and everything else keeps working.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from imgedit.errors import ImgEditError
from server.context import ServerContext
from server.errors import AgentUnavailableError
from server.scheduler import JobInfo, JobSpec
from server.scheduler.local import JobContext, JobOutcome

TurnFunction = Callable[..., dict[str, Any]]


def chat_pool(ctx: ServerContext) -> str:
    """Chat turns run where their edits will: the GPU pool when qwen serves, else classic."""
    editor = ctx.editors.get(ctx.settings.engine)
    return "qwen" if ctx.settings.engine == "qwen" or editor.qwen_available() else "classic"


def submit_chat(ctx: ServerContext, tenant: str, session_id: str, text: str, image_ids: list[str]) -> JobInfo:
    ctx.store.get_session(session_id, tenant=tenant)
    for image_id in image_ids:
        ctx.store.image(image_id, session_id=session_id)
    spec = JobSpec(
        tenant=tenant,
        kind="chat",
        pool=chat_pool(ctx),
        params={"session_id": session_id, "text": text, "image_ids": image_ids},
    )
    return ctx.queue.submit(spec)


class ChatRunner:
    """Runs ``chat`` jobs through the agent's turn function (found on first use)."""

    def __init__(self, agent_factory: Callable[[], TurnFunction]) -> None:
        self.agent_factory = agent_factory
        self._turn: TurnFunction | None = None
        self._lock = threading.Lock()

    def turn_function(self) -> TurnFunction:
        with self._lock:
            if self._turn is None:
                try:
                    self._turn = self.agent_factory()
                except ImgEditError:
                    raise
                except Exception as exc:
                    raise AgentUnavailableError(
                        f"The chat agent is not available on this server ({type(exc).__name__}: {exc}).",
                        hint="Use POST /v1/sessions/{id}/edits for direct edits meanwhile.",
                    ) from exc
            return self._turn

    def __call__(self, job: JobInfo, ctx: JobContext) -> JobOutcome:
        params = job.params
        turn = self.turn_function()(
            session_id=params["session_id"],
            text=params["text"],
            image_ids=params.get("image_ids") or [],
            progress=ctx.progress,
            cancel=ctx.cancel,
        )
        return JobOutcome(result=dict(turn))
