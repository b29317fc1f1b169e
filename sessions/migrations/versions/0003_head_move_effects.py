"""Head moves keyed by the job step that made them, so a re-run chat turn undoes once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

A chat turn's edits were already made once per job (the version records its job and tool call),
but its undo, redo, revert and image switch were not: a turn killed after its undo committed and
before the agent's checkpoint saved the tool's answer undid a second time when it was run again.
Each such move now records the job step that asked for it in ``head_moves.effect`` (unique), and
the store answers a repeated step with the move it made. Older moves have no effect (NULL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("head_moves") as batch:
        batch.add_column(sa.Column("effect", sa.String(length=160), nullable=True))
        batch.create_unique_constraint("uq_head_moves_effect", ["effect"])


def downgrade() -> None:
    with op.batch_alter_table("head_moves") as batch:
        batch.drop_constraint("uq_head_moves_effect", type_="unique")
        batch.drop_column("effect")
