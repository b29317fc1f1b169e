"""Alembic's entry point: runs the migrations on the connection ``sessions.migrate`` hands over.

``imgedit db ...`` never goes through ``alembic.ini``: the URL comes from imgedit's settings and
the migrations ship inside the package, so an installed imgedit can migrate its database.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    # No models here (sessions must not import the server's): tests/test_migrations.py checks
    # that the migrated schema matches every model.
    target_metadata=None,
    # SQLite cannot alter most of a table in place: Alembic rebuilds it (batch mode) instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
