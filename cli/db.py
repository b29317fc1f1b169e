"""``imgedit db``: create and migrate the configured database (``IMGEDIT_DATABASE_URL``).

The embedded SQLite default migrates itself whenever it is opened; PostgreSQL is migrated
here, once per release, before any ``imgedit serve`` starts on it (an out-of-date database is
refused with this advice).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import command, print_json

if TYPE_CHECKING:
    from sqlalchemy import Engine

db_app = typer.Typer(help="Create and migrate the database (IMGEDIT_DATABASE_URL).", no_args_is_help=True)


def _engine() -> Engine:
    """The configured database, opened without migrating (these commands do that themselves)."""
    from sessions import create_db_engine

    return create_db_engine(migrate=False)


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


@db_app.command("upgrade")
@command
def db_upgrade(
    revision: Annotated[
        str, typer.Argument(metavar="REVISION", help="Target revision; head is the newest.")
    ] = "head",
) -> None:
    """Create the tables, or migrate them to REVISION; keeps every row (also of a database made
    before migrations). On PostgreSQL it also sets up the agent's checkpoint tables.

    Run it once per release before starting the new servers and workers.

    Example: IMGEDIT_DATABASE_URL=postgresql+psycopg://imgedit:SECRET@db:5432/imgedit imgedit db upgrade
    """
    from sessions import migrate

    engine = _engine()
    migrate.upgrade(engine, revision)
    if engine.dialect.name == "postgresql":
        from agent.checkpoints import prepare_postgres_checkpoints

        prepare_postgres_checkpoints(engine)
    typer.echo(f"{_where(engine)}: at revision {migrate.current_revision(engine)}")


@db_app.command("downgrade")
@command
def db_downgrade(
    revision: Annotated[
        str, typer.Argument(metavar="REVISION", help="Target revision; -1 is one step back, base is empty.")
    ] = "-1",
) -> None:
    """Migrate back to REVISION (dropping what later revisions added).

    Example: imgedit db downgrade -1
    """
    from sessions import migrate

    engine = _engine()
    migrate.downgrade(engine, revision)
    typer.echo(f"{_where(engine)}: at revision {migrate.current_revision(engine) or 'base (empty)'}")


@db_app.command("current")
@command
def db_current(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON line: database, revision, head, current.")
    ] = False,
) -> None:
    """Show the database, its revision and the newest revision this imgedit knows.

    Example: imgedit db current --json
    """
    from sessions import migrate

    engine = _engine()
    current, head = migrate.current_revision(engine), migrate.head_revision()
    if as_json:
        print_json(
            {"database": _where(engine), "revision": current, "head": head, "current": current == head}
        )
    else:
        state = "up to date" if current == head else "run `imgedit db upgrade`"
        typer.echo(f"{_where(engine)}: revision {current or 'none'} (newest {head}; {state})")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
