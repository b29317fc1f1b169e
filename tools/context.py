"""The per-turn context every tool receives: which session, which store, which editor.

It is passed as LangChain's runtime context (``ToolRuntime.context``), never as a tool argument,
so the model cannot name another session and one agent serves any number of sessions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine import Editor
from engine.types import CancelToken
from sessions import SessionStore


@dataclass
class ToolContext:
    session_id: str
    store: SessionStore
    editor: Editor
    #: The user's words this turn, recorded as each version's ``instruction``.
    user_text: str = ""
    #: Seed for edits when the tool call names none (repeatable generative edits).
    seed: int | None = 0
    author: str = "user"
    #: Images the message came with (ids); the first is the one "it" and "this image" mean.
    image_ids: tuple[str, ...] = ()
    #: The job running this turn, if any: each edit's effect is keyed by it and by the tool call,
    #: so a turn re-run after a crash finds the versions it made instead of editing again.
    job_id: str | None = None
    #: The engine's steps of each edit, reported to whoever runs the turn (a job's progress).
    progress: Callable[[int, int], None] | None = None
    cancel: CancelToken | None = None
