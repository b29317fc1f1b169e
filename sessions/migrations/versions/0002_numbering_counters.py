"""Counters for image positions and version numbers, taken atomically under concurrency.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Positions and version numbers were ``max + 1`` read before the insert, so two uploads (or two
edits) committing at once read the same maximum and one failed on the unique constraint (issue
11, defect 5). Each session now counts its images and each image its versions in a column that
an ``UPDATE ... RETURNING`` increments: the row lock (PostgreSQL) or the write lock (SQLite)
orders concurrent writers, and each gets its own number. Existing rows start from their maxima.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("last_position", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("images") as batch:
        batch.add_column(sa.Column("last_version", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE sessions SET last_position = COALESCE("
        "(SELECT MAX(images.position) FROM images WHERE images.session_id = sessions.id), 0)"
    )
    op.execute(
        "UPDATE images SET last_version = COALESCE("
        "(SELECT MAX(versions.number) FROM versions WHERE versions.image_id = images.id), 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.drop_column("last_version")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("last_position")
