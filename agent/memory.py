"""How much of a conversation the agent keeps: a bounded window of turns, one checkpoint a thread.

LangGraph's ``add_messages`` state keeps every message of a session for ever, and the checkpointer
stores that whole list again at every step of every turn: measured on the SQLite default, 100 short
turns of one session left 400 messages in the state and 51 MB of checkpoints, growing with the
square of the turn count, and a language-model planner would be sent all of it at each call. Two
things bound it:

- ``forget_old_turns``: before a new message goes in, the turns older than the last
  ``keep_turns`` are removed from the graph's state (``RemoveMessage``), whole turns at a time, so
  no tool result loses the call it answers. The planner needs no more: the system prompt is built
  from the session store (images, versions, entities) at every call, and the session store keeps
  every message for the web page and the API (``GET /v1/sessions/{id}``).
- ``prune_checkpoints``: once a turn is finished and recorded, and the thread has gathered more
  than ``PRUNE_AFTER`` checkpoints, only its latest checkpoint is kept. Older ones serve time
  travel, which imgedit does not offer (the version graph is its undo); a turn that is re-run
  after a crash resumes from the latest one, which stays.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from langchain_core.messages import BaseMessage, HumanMessage, RemoveMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver


def forget_old_turns(messages: Sequence[BaseMessage], keep_turns: int) -> list[RemoveMessage]:
    """Removals of every message before the last ``keep_turns`` user messages (``keep_turns``
    counts the turns kept before the one about to start, so the planner sees that many earlier
    turns). A turn is a user message and everything up to the next one."""
    starts = [i for i, message in enumerate(messages) if isinstance(message, HumanMessage)]
    if len(starts) <= keep_turns:
        return []
    first_kept = starts[len(starts) - keep_turns] if keep_turns > 0 else len(messages)
    return [RemoveMessage(id=message.id) for message in messages[:first_kept] if message.id]


#: Checkpoints a thread may gather before it is pruned to its latest: a turn writes three to six,
#: so pruning runs every few turns, not at each (each prune is a commit, an fsync on SQLite).
PRUNE_AFTER = 16


def prune_checkpoints(checkpointer: BaseCheckpointSaver, thread_id: str) -> None:
    """Keep only ``thread_id``'s latest checkpoint (and its pending writes) in each namespace,
    once it has more than ``PRUNE_AFTER``. Counting is one indexed query, no deserialising."""
    if isinstance(checkpointer, SqliteSaver):
        with checkpointer.lock:
            count = "SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?"
            (gathered,) = checkpointer.conn.execute(count, (thread_id,)).fetchone()
            if gathered > PRUNE_AFTER:
                _prune_sqlite(checkpointer.conn, thread_id)
        return
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg_pool import ConnectionPool

    if isinstance(checkpointer, PostgresSaver) and isinstance(checkpointer.conn, ConnectionPool):
        # The pool agent/checkpoints.py made: dict rows.
        count = "SELECT COUNT(*) AS gathered FROM checkpoints WHERE thread_id = %s"
        with checkpointer.conn.connection() as connection:
            row = connection.execute(count, (thread_id,)).fetchone()
        if row is not None and row["gathered"] > PRUNE_AFTER:
            checkpointer.prune([thread_id], strategy="keep_latest")


def _prune_sqlite(connection: sqlite3.Connection, thread_id: str) -> None:
    """``keep_latest`` for ``SqliteSaver``, which has no ``prune`` of its own: checkpoint ids are
    time-ordered (uuid6), so the latest of a namespace is its greatest id. One transaction, so a
    reader sees the thread before or after, never half pruned."""
    latest = """
        SELECT checkpoint_ns, MAX(checkpoint_id) FROM checkpoints
        WHERE thread_id = ? GROUP BY checkpoint_ns
    """
    with connection:
        kept = connection.execute(latest, (thread_id,)).fetchall()
        for namespace, checkpoint_id in kept:
            for table in ("checkpoints", "writes"):
                connection.execute(
                    f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id < ?",
                    (thread_id, namespace, checkpoint_id),
                )
