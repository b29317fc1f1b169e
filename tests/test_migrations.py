"""The schema under Alembic: from an empty database (SQLite and PostgreSQL), from a database made
before migrations (an existing IMGEDIT_HOME keeps its data), one step down and up again, and the
``imgedit db`` commands against whichever database is configured."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from PIL import Image
from sqlalchemy import Engine, create_engine, inspect
from typer.testing import CliRunner

import server.app  # noqa: F401  (the app's modules declare every table on Base)
from cli.main import app
from cluster.servers import PostgresServer
from server.auth import KeyStore
from sessions import SessionStore, create_db_engine, create_sessionmaker
from sessions.db import Base
from sessions.migrate import BASELINE, current_revision, downgrade, head_revision, revisions, upgrade

LEGACY_SQL = Path(__file__).parent / "data" / "legacy_home.sql"
#: The API key stored (hashed) in tests/data/legacy_home.sql.
LEGACY_KEY = "ik_20b0621fc727_zseyIXoOgxUsowk-FcF4HY7tLXrgSOWLcYqgpYVyMmQ"
TABLES = {
    "sessions",
    "messages",
    "images",
    "versions",
    "entities",
    "head_moves",
    "tenants",
    "api_keys",
    "jobs",
    "figma_uploads",
    "figma_results",
    "batch_redos",
    "batch_reviews",
}


def png(color: tuple[int, int, int], size: tuple[int, int] = (8, 6)) -> bytes:
    """The same bytes the legacy database's blobs were made from."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def schema_differences(engine: Engine) -> list[object]:
    """What differs between the migrated database and the models (nothing, when in step).

    A unique constraint counts as present when one on the same columns exists, named or not: a
    database made before migrations has unnamed ones, which Alembic does not compare.
    """
    with engine.connect() as connection:
        found = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    reflected = inspect(engine)

    def present(diff: object) -> bool:
        if not (isinstance(diff, tuple) and diff[0] == "add_constraint"):
            return False
        table, columns = diff[1].table.name, [c.name for c in diff[1].columns]
        return any(u["column_names"] == columns for u in reflected.get_unique_constraints(table))

    return [diff for diff in found if not present(diff)]


def test_upgrading_an_empty_sqlite_database_makes_every_table_as_the_models_say(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'new.db'}")
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert schema_differences(engine) == []


def test_upgrading_an_empty_postgres_database_makes_every_table_as_the_models_say(
    postgres: PostgresServer,
) -> None:
    engine = create_engine(postgres.new_database(migrated=False))
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert schema_differences(engine) == []
    engine.dispose()


def legacy_home(home: Path) -> Path:
    """An IMGEDIT_HOME as a release before migrations left it (database and blob files)."""
    home.mkdir(parents=True)
    with sqlite3.connect(home / "imgedit.db") as connection:
        connection.executescript(LEGACY_SQL.read_text())
    return home


def test_an_existing_home_made_before_migrations_upgrades_keeping_its_data(imgedit_home: Path) -> None:
    legacy_home(imgedit_home)
    store = SessionStore.default()  # the embedded default migrates when it opens the database
    for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255), (9, 9, 9)):
        store.blobs.put(png(color))
    assert current_revision(store.engine) == head_revision()
    assert schema_differences(store.engine) == []

    session = store.get_session("legacy-session", tenant="acme")
    assert session.title == "旧海报"
    first, second = store.images(session.id)
    assert [v.number for v in store.versions(first.id)] == [0, 1, 2]
    head = store.head(first.id)
    assert head.number == 1  # the undo before the upgrade holds
    assert store.read_version(head) == png((0, 255, 0))
    assert [m.text for m in store.messages(session.id)] == ["把它变绿"]
    assert [e.name for e in store.entities(session.id)] == ["徽章"]
    assert KeyStore(create_sessionmaker(store.engine)).authenticate(LEGACY_KEY).tenant == "acme"  # type: ignore[union-attr]

    # The counters start from what was there: the next image is 3rd, the next edit version 3.
    third, _ = store.add_image(session.id, png((1, 1, 1)))
    v3 = store.add_version(head.id, png((2, 2, 2)), instruction="again")
    assert (third.position, v3.number) == (3, 3)
    assert store.add_version(second.head_version_id or "", png((3, 3, 3)), instruction="x").number == 1


def test_downgrade_one_step_and_upgrade_again_keep_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "imgedit.db"
    store = SessionStore(path, tmp_path / "blobs")
    session = store.create_session()
    _, v0 = store.add_image(session.id, png((255, 0, 0)))
    store.add_version(v0.id, png((0, 255, 0)), instruction="green")
    store.engine.dispose()

    engine = create_engine(f"sqlite:///{path}")
    downgrade(engine, "-1")
    assert current_revision(engine) == revisions()[-2]
    columns = {c["name"] for c in inspect(engine).get_columns("jobs")}
    assert not {"worker", "lease_until"} & columns  # the newest revision (0005) undone
    downgrade(engine, "-1")
    tables = set(inspect(engine).get_table_names())
    assert not {"batch_redos", "batch_reviews"} & tables  # and the one before (0004)
    with sqlite3.connect(path) as connection:
        assert connection.execute("select count(*) from versions").fetchone() == (2,)

    again = SessionStore(path, tmp_path / "blobs")  # migrates back up on open
    assert current_revision(again.engine) == head_revision()
    assert again.add_version(v0.id, png((0, 0, 255)), instruction="blue").number == 2
    assert again.add_image(session.id, png((1, 2, 3)))[0].position == 2
    downgrade(again.engine, "base")
    assert not TABLES & set(inspect(again.engine).get_table_names())


def test_db_commands_migrate_the_configured_postgres_database_and_keys_use_it(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch, imgedit_home: Path
) -> None:
    from imgedit.config import get_settings

    monkeypatch.setenv("IMGEDIT_DATABASE_URL", postgres.new_database(migrated=False))
    get_settings.cache_clear()
    runner = CliRunner()

    before = runner.invoke(app, ["db", "current", "--json"])
    assert before.exit_code == 0, before.output
    assert json.loads(before.stdout) | {"database": ""} == {
        "database": "",
        "revision": None,
        "head": head_revision(),
        "current": False,
    }
    refused = runner.invoke(app, ["keys", "list"])
    assert refused.exit_code != 0 and "imgedit db upgrade" in refused.output

    done = runner.invoke(app, ["db", "upgrade"])
    assert done.exit_code == 0, done.output
    assert f"at revision {head_revision()}" in done.stdout
    created = runner.invoke(app, ["keys", "create", "--tenant", "acme", "--json"])
    assert created.exit_code == 0, created.output
    listed = runner.invoke(app, ["keys", "list", "--json"])
    assert json.loads(listed.stdout.splitlines()[0])["tenant"] == "acme"
    # The key is in PostgreSQL, and the agent's checkpoint tables beside imgedit's.
    engine = create_db_engine(settings=get_settings())
    assert {"checkpoints", "checkpoint_migrations"} <= set(inspect(engine).get_table_names())
    engine.dispose()

    down = runner.invoke(app, ["db", "downgrade"])
    assert down.exit_code == 0 and f"at revision {revisions()[-2]}" in down.stdout
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert not (imgedit_home / "imgedit.db").exists()  # nothing local in PostgreSQL mode


def test_the_baseline_is_the_first_revision() -> None:
    assert revisions()[0] == BASELINE
