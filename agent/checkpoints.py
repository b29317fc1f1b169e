"""Where the agent's LangGraph checkpoints (each session's conversation state) are kept.

Beside the session store's database: with the embedded SQLite default, a second SQLite file in
``IMGEDIT_HOME`` (as always); with PostgreSQL, the same PostgreSQL database through
``langgraph-checkpoint-postgres``, so a service on PostgreSQL and S3 keeps nothing on local disk
and any API node can continue any conversation.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from sqlalchemy import Engine

from imgedit.config import Settings

CHECKPOINT_FILENAME = "agent-checkpoints.db"
#: PostgreSQL advisory lock held while the checkpointer creates or migrates its tables.
_SETUP_LOCK = 0x16ED18


def sqlite_checkpointer(path: str | Path) -> SqliteSaver:
    """A persistent checkpointer on a SQLite file (WAL, shared by the threads of this process)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(str(path), check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    saver = SqliteSaver(connection)
    saver.setup()
    return saver


def libpq_url(engine: Engine) -> str:
    """The engine's database as a libpq connection string (psycopg's own, without ``+psycopg``)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def prepare_postgres_checkpoints(engine: Engine) -> None:
    """Create or migrate LangGraph's checkpoint tables in the PostgreSQL database of ``engine``.

    The tables are LangGraph's own, versioned by its ``checkpoint_migrations`` table rather than
    by imgedit's Alembic revisions. ``imgedit db upgrade`` runs this; each server runs it again
    (a no-op once done) under an advisory lock, so nodes starting together never race on it.
    """
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg import Connection
    from psycopg.rows import dict_row

    with Connection.connect(
        libpq_url(engine), autocommit=True, prepare_threshold=0, row_factory=dict_row
    ) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK,))
        try:
            PostgresSaver(conn).setup()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))


def postgres_checkpointer(engine: Engine, *, pool_size: int = 8) -> BaseCheckpointSaver:
    """A checkpointer on the PostgreSQL database of ``engine`` (a connection pool of its own)."""
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg import Connection
    from psycopg.rows import DictRow, dict_row
    from psycopg_pool import ConnectionPool

    prepare_postgres_checkpoints(engine)
    pool: ConnectionPool[Connection[DictRow]] = ConnectionPool(
        libpq_url(engine),
        connection_class=Connection[DictRow],
        min_size=1,
        max_size=pool_size,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        open=True,
    )
    return PostgresSaver(pool)


def default_checkpointer(engine: Engine, settings: Settings) -> BaseCheckpointSaver:
    """The checkpointer that goes with the session store's database ``engine``."""
    if engine.dialect.name == "postgresql":
        return postgres_checkpointer(engine)
    return sqlite_checkpointer(settings.home_dir / CHECKPOINT_FILENAME)
