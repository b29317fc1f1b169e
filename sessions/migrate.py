"""Run the Alembic migrations of imgedit's database: ``imgedit db upgrade``, and at start for SQLite.

The migrations ship inside the package (``sessions/migrations``) and run on a connection made
from imgedit's own settings, so an installed imgedit migrates without an ``alembic.ini``.

Each run holds a lock for its whole transaction, so two processes starting at once (a CLI and a
server on one SQLite file, two API nodes on PostgreSQL) migrate once and never interleave:
``BEGIN IMMEDIATE`` on SQLite (whose DDL is then transactional too), an advisory transaction
lock on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

from imgedit.errors import ImgEditError

SCRIPTS = Path(__file__).parent / "migrations"
#: The revision that describes the schema of databases made before migrations existed.
BASELINE = "0001"
#: PostgreSQL advisory lock id held while migrating ("imgedit" in hex-ish digits).
_PG_LOCK = 0x16ED17


class SchemaError(ImgEditError):
    """The database's schema is not the one this imgedit needs (run ``imgedit db upgrade``)."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision this imgedit knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def current_revision(engine: Engine) -> str | None:
    """The database's revision; ``None`` for an empty database or one made before migrations."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the migration lock (see the module's docstring)."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
            yield connection
        return
    # pysqlite begins transactions itself, and not before DDL: take that over, per SQLAlchemy's
    # recipe, so the whole migration is one IMMEDIATE transaction. Foreign keys stay off while a
    # table is rebuilt (Alembic's batch mode copies it into a new table).
    migrating = create_engine(engine.url, poolclass=NullPool)

    @event.listens_for(migrating, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA busy_timeout=30000")
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")

    @event.listens_for(migrating, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with migrating.begin() as connection:
            yield connection
    finally:
        migrating.dispose()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``: from empty, from any earlier revision, or from a
    database made before migrations (the baseline revision completes and adopts it)."""
    try:
        with _locked(engine) as connection:
            command.upgrade(_config(connection), revision)
    except CommandError as exc:
        raise SchemaError(f"Cannot upgrade the database: {exc}.") from exc


def downgrade(engine: Engine, revision: str = "-1") -> None:
    """Take the database back to ``revision`` (``-1``: one step; ``base``: empty)."""
    try:
        with _locked(engine) as connection:
            command.downgrade(_config(connection), revision)
    except CommandError as exc:
        raise SchemaError(f"Cannot downgrade the database: {exc}.") from exc


def ensure_current(engine: Engine, *, migrate: bool) -> None:
    """Return when the schema is current; else upgrade it (``migrate``) or refuse with advice."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is not None and current not in revisions():
        raise SchemaError(
            f"The database is at revision {current}, newer than this imgedit knows ({head}).",
            hint="Upgrade imgedit, or point IMGEDIT_DATABASE_URL at another database.",
        )
    if migrate:
        upgrade(engine)
        return
    raise SchemaError(
        f"The database is at revision {current or 'none'}, not {head}.",
        hint="Run `imgedit db upgrade` with the same IMGEDIT_DATABASE_URL first.",
    )
