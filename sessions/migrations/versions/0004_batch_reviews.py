"""The review of a batch: each picture's redos and the batch's review job.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

A batch submitted with ``review`` keeps its pictures' befores and afters until a person approves,
rejects or redoes each (issue 18). ``batch_redos`` records each redo (a ``batch`` job of one
picture; a picture's latest is the one with the highest id) and ``batch_reviews`` the one
``batch_review`` job that builds a batch's archive (jobs/batch_review.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_redos",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_job_id", sa.String(length=64), nullable=False),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("instruction", sa.String(length=2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_batch_redos"),
    )
    op.create_index("ix_batch_redos_batch_job_id", "batch_redos", ["batch_job_id"])
    op.create_table(
        "batch_reviews",
        sa.Column("batch_job_id", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("batch_job_id", name="pk_batch_reviews"),
    )


def downgrade() -> None:
    op.drop_table("batch_reviews")
    op.drop_index("ix_batch_redos_batch_job_id", table_name="batch_redos")
    op.drop_table("batch_redos")
