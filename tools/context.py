"""The per-turn context every tool receives: which session, which store, which editor.

It is passed as LangChain's runtime context (``ToolRuntime.context``), never as a tool argument,
so the model cannot name another session and one agent serves any number of sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine import Editor
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
