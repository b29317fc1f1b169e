"""Baseline: every table as imgedit made them before migrations (``create_all``).

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Upgrading an empty database creates them. Upgrading a database made before migrations (an
existing ``IMGEDIT_HOME/imgedit.db``, which has no ``alembic_version``) keeps every row: the
tables already there stay, only missing tables are created and the nullable columns that older
releases added on the fly (``add_missing_columns``) are added where absent. From here on every
change is a revision of its own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The schema as of this revision, written out (not imported from the models, which move on).
metadata = sa.MetaData()

sa.Table(
    "figma_results",
    metadata,
    sa.Column("job_id", sa.String(length=64), nullable=False),
    sa.Column("upload_id", sa.String(length=64), nullable=False),
    sa.Column("status", sa.String(length=8), nullable=False),
    sa.Column("result_blob", sa.String(length=64), nullable=True),
    sa.Column("format", sa.String(length=8), nullable=True),
    sa.Column("width", sa.Integer(), nullable=True),
    sa.Column("height", sa.Integer(), nullable=True),
    sa.Column("error", sa.JSON(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("job_id", "upload_id", name="pk_figma_results"),
)
sa.Table(
    "figma_uploads",
    metadata,
    sa.Column("tenant", sa.String(length=128), nullable=False),
    sa.Column("blob", sa.String(length=64), nullable=False),
    sa.Column("format", sa.String(length=8), nullable=False),
    sa.Column("width", sa.Integer(), nullable=False),
    sa.Column("height", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("tenant", "blob", name="pk_figma_uploads"),
)
sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(length=64), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("tenant", sa.String(length=128), nullable=False),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("pool", sa.String(length=16), nullable=False),
    sa.Column("priority", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("params", sa.JSON(), nullable=False),
    sa.Column("input_blob", sa.String(length=64), nullable=True),
    sa.Column("cache_key", sa.String(length=64), nullable=True),
    sa.Column("idempotency_key", sa.String(length=200), nullable=True),
    sa.Column("progress_done", sa.Integer(), nullable=False),
    sa.Column("progress_total", sa.Integer(), nullable=False),
    sa.Column("result_blob", sa.String(length=64), nullable=True),
    sa.Column("result_format", sa.String(length=16), nullable=True),
    sa.Column("result", sa.JSON(), nullable=False),
    sa.Column("error", sa.JSON(), nullable=True),
    sa.Column("cached", sa.Integer(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("seconds", sa.Float(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    sa.UniqueConstraint("tenant", "idempotency_key", name="uq_jobs_tenant_idempotency_key"),
    sa.Index("ix_jobs_cache_key", "cache_key"),
    sa.Index("ix_jobs_seq", "seq"),
    sa.Index("ix_jobs_status", "status"),
    sa.Index("ix_jobs_tenant", "tenant"),
)
sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(length=64), nullable=False),
    sa.Column("tenant", sa.String(length=128), nullable=False),
    sa.Column("title", sa.String(length=200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id", name="pk_sessions"),
    sa.Index("ix_sessions_tenant", "tenant"),
)
sa.Table(
    "tenants",
    metadata,
    sa.Column("name", sa.String(length=128), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("name", name="pk_tenants"),
)
sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("tenant", sa.String(length=128), nullable=False),
    sa.Column("key_hash", sa.String(length=64), nullable=False),
    sa.Column("label", sa.String(length=200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(["tenant"], ["tenants.name"], name="fk_api_keys_tenant_tenants"),
    sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
    sa.Index("ix_api_keys_tenant", "tenant"),
)
sa.Table(
    "images",
    metadata,
    sa.Column("id", sa.String(length=64), nullable=False),
    sa.Column("session_id", sa.String(length=64), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(length=300), nullable=False),
    sa.Column("head_version_id", sa.String(length=64), nullable=True),
    sa.Column("redo_stack", sa.JSON(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name="fk_images_session_id_sessions"),
    sa.PrimaryKeyConstraint("id", name="pk_images"),
    sa.UniqueConstraint("session_id", "position", name="uq_images_session_id_position"),
    sa.Index("ix_images_session_id", "session_id"),
)
sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("session_id", sa.String(length=64), nullable=False),
    sa.Column("role", sa.String(length=16), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name="fk_messages_session_id_sessions"),
    sa.PrimaryKeyConstraint("id", name="pk_messages"),
    sa.Index("ix_messages_session_id", "session_id"),
)
sa.Table(
    "head_moves",
    metadata,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("session_id", sa.String(length=64), nullable=False),
    sa.Column("image_id", sa.String(length=64), nullable=False),
    sa.Column("action", sa.String(length=16), nullable=False),
    sa.Column("from_version_id", sa.String(length=64), nullable=True),
    sa.Column("to_version_id", sa.String(length=64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["image_id"], ["images.id"], name="fk_head_moves_image_id_images"),
    sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name="fk_head_moves_session_id_sessions"),
    sa.PrimaryKeyConstraint("id", name="pk_head_moves"),
    sa.Index("ix_head_moves_session_id", "session_id"),
)
sa.Table(
    "versions",
    metadata,
    sa.Column("id", sa.String(length=64), nullable=False),
    sa.Column("session_id", sa.String(length=64), nullable=False),
    sa.Column("image_id", sa.String(length=64), nullable=False),
    sa.Column("parent_id", sa.String(length=64), nullable=True),
    sa.Column("number", sa.Integer(), nullable=False),
    sa.Column("instruction", sa.Text(), nullable=False),
    sa.Column("resolved_instruction", sa.Text(), nullable=False),
    sa.Column("plan", sa.JSON(), nullable=True),
    sa.Column("engine", sa.String(length=32), nullable=False),
    sa.Column("parameters", sa.JSON(), nullable=False),
    sa.Column("seed", sa.Integer(), nullable=True),
    sa.Column("timings", sa.JSON(), nullable=False),
    sa.Column("author", sa.String(length=64), nullable=False),
    sa.Column("resolution", sa.JSON(), nullable=False),
    sa.Column("report", sa.JSON(), nullable=False),
    sa.Column("blob", sa.String(length=64), nullable=False),
    sa.Column("format", sa.String(length=8), nullable=False),
    sa.Column("width", sa.Integer(), nullable=False),
    sa.Column("height", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["image_id"], ["images.id"], name="fk_versions_image_id_images"),
    sa.ForeignKeyConstraint(["parent_id"], ["versions.id"], name="fk_versions_parent_id_versions"),
    sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name="fk_versions_session_id_sessions"),
    sa.PrimaryKeyConstraint("id", name="pk_versions"),
    sa.UniqueConstraint("image_id", "number", name="uq_versions_image_id_number"),
    sa.Index("ix_versions_image_id", "image_id"),
    sa.Index("ix_versions_session_id", "session_id"),
)
sa.Table(
    "entities",
    metadata,
    sa.Column("id", sa.String(length=64), nullable=False),
    sa.Column("session_id", sa.String(length=64), nullable=False),
    sa.Column("image_id", sa.String(length=64), nullable=False),
    sa.Column("version_id", sa.String(length=64), nullable=False),
    sa.Column("name", sa.String(length=300), nullable=False),
    sa.Column("category", sa.String(length=100), nullable=False),
    sa.Column("box", sa.JSON(), nullable=True),
    sa.Column("history", sa.JSON(), nullable=False),
    sa.Column("removed_version_id", sa.String(length=64), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["image_id"], ["images.id"], name="fk_entities_image_id_images"),
    sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name="fk_entities_session_id_sessions"),
    sa.ForeignKeyConstraint(["version_id"], ["versions.id"], name="fk_entities_version_id_versions"),
    sa.PrimaryKeyConstraint("id", name="pk_entities"),
    sa.Index("ix_entities_image_id", "image_id"),
    sa.Index("ix_entities_session_id", "session_id"),
)


def upgrade() -> None:
    bind = op.get_bind()
    present = set(sa.inspect(bind).get_table_names())
    for table in metadata.sorted_tables:
        if table.name not in present:
            table.create(bind)
            continue
        columns = {column["name"] for column in sa.inspect(bind).get_columns(table.name)}
        for column in table.columns:
            if column.name not in columns and column.nullable:
                op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(metadata.sorted_tables):
        table.drop(bind, checkfirst=True)
