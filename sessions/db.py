"""The database: one SQLAlchemy ``Base`` and an engine/sessionmaker factory.

``IMGEDIT_DATABASE_URL`` picks the database: by default a SQLite file under ``IMGEDIT_HOME``,
or PostgreSQL (``postgresql+psycopg://...``). The models use only portable types so the same
schema works on both. The server puts its own tables (tenants, API keys, jobs, Figma uploads)
on this ``Base``; the schema itself is made and changed by the Alembic migrations in
``sessions/migrations`` (``sessions.migrate``), never by ``create_all``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.orm import Session as DbSession

from imgedit.config import Settings, get_settings

DATABASE_FILENAME = "imgedit.db"
#: SQLite connections kept open per engine (see ``create_db_engine``).
SQLITE_POOL_SIZE = 48


#: Constraint names the migrations can refer to, the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every table of imgedit."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def database_url(target: str | Path | None = None, settings: Settings | None = None) -> str:
    """A SQLAlchemy URL for ``target``: a URL as given, a file path, or the configured database
    (``IMGEDIT_DATABASE_URL``, else the file ``imgedit.db`` in ``IMGEDIT_HOME``)."""
    if target is None:
        settings = settings or get_settings()
        target = settings.database_url or settings.home_dir / DATABASE_FILENAME
    text = str(target)
    if "://" in text:
        # libpq's own spelling means psycopg 3 here (the driver imgedit ships with).
        for plain in ("postgres://", "postgresql://"):
            if text.startswith(plain):
                return "postgresql+psycopg://" + text[len(plain) :]
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


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_db_engine(
    target: str | Path | None = None, *, settings: Settings | None = None, migrate: bool = True
) -> Engine:
    """An engine for ``target`` (URL or SQLite path; default ``IMGEDIT_DATABASE_URL`` or
    ``IMGEDIT_HOME/imgedit.db``) whose schema is current.

    ``migrate``: a SQLite database is brought up to date here (the embedded default needs no
    separate step); any other database must have been upgraded with ``imgedit db upgrade``, and
    an out-of-date one is refused with that advice rather than used half-migrated.
    """
    url = database_url(target, settings)
    if is_sqlite(url):
        # A pool as large as the server's thread pool (anyio's 40 threads plus the job workers):
        # with the default 5 (+10 overflow) connections, every burst of requests opened and
        # closed SQLite connections, and each open ran the PRAGMAs below (~6 % of the server's
        # CPU in bench/server_load.py). An idle SQLite connection costs a file handle.
        in_memory = ":memory:" in url or url.rstrip("/") == "sqlite:"
        pool = {} if in_memory else {"pool_size": SQLITE_POOL_SIZE, "max_overflow": 16}
        engine = sa_create_engine(url, connect_args={"check_same_thread": False}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        # Enough connections for the server's request threads and job slots on one node.
        engine = sa_create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=20)
    if migrate:
        from sessions.migrate import ensure_current

        ensure_current(engine, migrate=is_sqlite(url))
    return engine


def create_sessionmaker(engine: Engine) -> sessionmaker[DbSession]:
    """A sessionmaker whose objects stay readable after commit (we return snapshots)."""
    return sessionmaker(engine, expire_on_commit=False)
