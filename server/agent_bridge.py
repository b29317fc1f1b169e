"""Adapts the agent package (``agent.ChatAgent``) to the chat job's turn function (jobs/chat.py).

Over HTTP ``image_path`` (a file path on the server in the CLI's turn) becomes the version's
image URL: a client cannot open the server's files, and the path would reveal its layout. A turn
whose edit was refused also carries ``refusal`` (``code``, ``message``, ``hint``, ``suggestions``),
so that a client can show it as a refusal with its suggestions as buttons rather than parse the
reply sentence.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from engine import Editor
from engine.types import CancelToken
from imgedit.config import Settings
from jobs.base import TurnFunction
from sessions import SessionStore


def make_turn_function(store: SessionStore, editor: Editor, settings: Settings) -> TurnFunction:
    from agent import ChatAgent

    agent = ChatAgent(store=store, editor=editor, settings=settings)
    # One turn at a time per session: a conversation is a sequence, and two turns racing on one
    # image's head would make "undo" and "the last edit" ambiguous.
    locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    def turn(
        *,
        session_id: str,
        text: str,
        image_ids: list[str],
        turn_id: str,
        progress: Callable[[int, int], None],
        cancel: CancelToken,
    ) -> dict[str, Any]:
        with locks[session_id]:
            cancel.raise_if_cancelled()
            turn_result = agent.send(
                session_id,
                text,
                image_ids=image_ids or None,
                turn_id=turn_id,
                progress=progress,
                cancel=cancel,
            )
        data = turn_result.to_json()
        refused = [o["error"] for o in turn_result.outcomes if not o.get("ok", True) and o.get("error")]
        if refused:
            error = refused[-1]
            data["refusal"] = {
                key: error[key] for key in ("code", "message", "hint", "suggestions") if key in error
            }
        if data.get("version_id"):
            data["image_path"] = f"/v1/versions/{data['version_id']}/image"
        return data

    return turn
