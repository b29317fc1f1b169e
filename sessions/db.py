"""The database: one SQLAlchemy ``Base`` and an engine/sessionmaker factory.

SQLite is the default (a file under ``IMGEDIT_HOME``); the models use only portable types so
the same schema works on PostgreSQL. The server puts its own tables (tenants, API keys, jobs)
on this ``Base`` so that one ``create_all`` builds everything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, inspect
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.orm import Session as DbSession

from imgedit.config import Settings, get_settings

DATABASE_FILENAME = "imgedit.db"
#: SQLite connections kept open per engine (see ``create_db_engine``).
SQLITE_POOL_SIZE = 48


class Base(DeclarativeBase):
    """Declarative base shared by every table of imgedit."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def database_url(target: str | Path | None = None, settings: Settings | None = None) -> str:
    """A SQLAlchemy URL for ``target``: a URL as given, a file path, or the default database file."""
    if target is None:
        target = (settings or get_settings()).home_dir / DATABASE_FILENAME
    text = str(target)
    if "://" in text:
        return text
    path = Path(text).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers work while a writer commits (CLI and server on one file); foreign keys
    are off by default in SQLite and must be turned on per connection.

    ``synchronous=NORMAL`` is the setting SQLite recommends with WAL: a commit no longer waits for
    an fsync (only checkpoints do), and a committed transaction still survives the process
    crashing; only a power cut or OS crash can roll back the last few commits, never corrupt the
    file. FULL's fsync per commit made each of a job's commits cost milliseconds (bench/server_load.py).
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_db_engine(target: str | Path | None = None, *, create_tables: bool = True) -> Engine:
    """An engine for ``target`` (URL or SQLite path; default ``IMGEDIT_HOME/imgedit.db``)."""
    url = database_url(target)
    if url.startswith("sqlite"):
        # A pool as large as the server's thread pool (anyio's 40 threads plus the job workers):
        # with the default 5 (+10 overflow) connections, every burst of requests opened and
        # closed SQLite connections, and each open ran the PRAGMAs below (~6 % of the server's
        # CPU in bench/server_load.py). An idle SQLite connection costs a file handle.
        in_memory = ":memory:" in url or url.rstrip("/") == "sqlite:"
        pool = {} if in_memory else {"pool_size": SQLITE_POOL_SIZE, "max_overflow": 16}
        engine = sa_create_engine(url, connect_args={"check_same_thread": False}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = sa_create_engine(url, pool_pre_ping=True)
    if create_tables:
        # Import the models so their tables are registered on Base before create_all.
        import sessions.models  # noqa: F401

        Base.metadata.create_all(engine)
        add_missing_columns(engine)
    return engine


def add_missing_columns(engine: Engine) -> None:
    """Add the nullable columns a model gained since the database was made (``create_all`` only
    makes missing tables), so a database from an older release keeps working."""
    found = inspect(engine)
    tables = set(found.get_table_names())
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name not in tables:
                continue
            present = {column["name"] for column in found.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present and column.nullable:
                    kind = column.type.compile(dialect=engine.dialect)
                    connection.exec_driver_sql(
                        f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'
                    )


def create_sessionmaker(engine: Engine) -> sessionmaker[DbSession]:
    """A sessionmaker whose objects stay readable after commit (we return snapshots)."""
    return sessionmaker(engine, expire_on_commit=False)
