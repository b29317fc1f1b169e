"""Job leases, for jobs run by Celery workers on other machines.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

A worker that takes a job records itself in ``jobs.worker`` and renews ``jobs.lease_until``
every few seconds while the job runs; a job whose lease ran out (its worker was killed) is put
back in the queue by any node within seconds, rather than after the broker's visibility timeout.
The workers' fair claim orders tenants by when each was last served in a pool, which the index
on (pool, tenant, started_at) answers with one look-up per tenant.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("worker", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_jobs_pool_tenant_started", "jobs", ["pool", "tenant", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_pool_tenant_started", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("worker")
