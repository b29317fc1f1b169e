"""A long conversation stays bounded: the agent's state keeps the last few turns, its checkpoints
a few a session, while the session itself keeps every message and every reference still resolves.

Real agent (rules planner, create_agent, classic engine) on the SQLite default and on a real
PostgreSQL server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg

from agent import ChatAgent
from agent.checkpoints import CHECKPOINT_FILENAME
from agent.memory import PRUNE_AFTER
from cluster.servers import PostgresServer
from engine import Editor
from imgedit.config import Settings
from sessions import SessionStore
from tests.agent_helpers import Step, png_bytes, run_script, scene

#: Earlier turns the agent keeps in these tests (the default is 20: long to reach in a test).
KEEP = 2


def long_conversation(agent: ChatAgent) -> str:
    """A session of ten turns whose last two are a question and its answer, then a reference
    back to an edit five turns earlier ("that shirt") that only the session's entities remember."""
    session = agent.new_session()
    agent.attach(session, png_bytes(scene()), name="scene.png")
    run_script(
        agent,
        session,
        [
            Step("Make the red dress purple", "edit_image", version=1),
            Step("Make the blue shirt green", "edit_image", version=2),
            Step("make it brighter", "edit_image", version=3),
            Step("undo", "undo", version=2),
            Step("make it darker", "edit_image", version=4),
            Step("undo", "undo", version=2),
            Step("show the history", "list_versions"),
            Step("describe the image", "describe_image"),
            Step("Make that piece of clothing yellow", None, reply=("Which one do you mean?",)),
            Step("the shirt", "edit_image", resolved="Make the green shirt yellow", version=5, parent=2),
        ],
    )
    return session


def human_turns(agent: ChatAgent, session: str) -> list[str]:
    return [str(m.content) for m in agent.history(session) if m.type == "human"]


def test_a_long_conversation_keeps_a_few_turns_and_few_checkpoints_on_sqlite(
    classic: Editor, imgedit_home: Path
) -> None:
    agent = ChatAgent(editor=classic, settings=Settings(agent_memory_turns=KEEP))
    session = long_conversation(agent)

    # What the planner sees next: the kept turns and the last one, nothing older.
    assert human_turns(agent, session) == [
        "describe the image",
        "Make that piece of clothing yellow",
        "the shirt",
    ]
    # The session itself has every message, as the web page and the API show them.
    said = [m.text for m in agent.store.messages(session) if m.role == "user"]
    assert len(said) == 11 and said[1] == "Make the red dress purple"
    assert len([m for m in agent.store.messages(session) if m.role == "assistant"]) == 10

    with sqlite3.connect(imgedit_home / CHECKPOINT_FILENAME) as db:
        count = db.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?", (session,)).fetchone()
    assert count is not None and count[0] <= PRUNE_AFTER  # ten turns wrote about forty

    # A new process on the same home continues from what is left.
    agent.checkpointer.conn.close()  # type: ignore[attr-defined]
    again = ChatAgent(editor=classic, store=SessionStore(), settings=Settings(agent_memory_turns=KEEP))
    run_script(again, session, [Step("make it brighter", "edit_image", version=6, parent=5)])
    assert human_turns(again, session) == [
        "Make that piece of clothing yellow",
        "the shirt",
        "make it brighter",
    ]


def test_a_long_conversation_keeps_few_checkpoints_on_postgresql(
    classic: Editor, postgres: PostgresServer, imgedit_home: Path
) -> None:
    settings = Settings(database_url=postgres.new_database(), agent_memory_turns=KEEP)
    agent = ChatAgent(editor=classic, store=SessionStore(settings=settings), settings=settings)
    session = long_conversation(agent)

    assert len(human_turns(agent, session)) == KEEP + 1
    url = settings.database_url
    assert url is not None
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as db:
        count = db.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = %s", (session,)).fetchone()
    assert count is not None and count[0] <= PRUNE_AFTER
    assert not (imgedit_home / CHECKPOINT_FILENAME).exists()  # nothing on local disk
