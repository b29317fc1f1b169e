"""The server's tables (tenants, API keys, jobs), declared on ``sessions.db.Base``.

They share the sessions' ``Base`` so that one database and one ``create_all`` hold everything:
a job can name the session version it produced in the same file that holds the version.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sessions.db import Base, utcnow


def new_job_id() -> str:
    return "job_" + uuid.uuid4().hex


class TenantRow(Base):
    """A customer; every object the server hands out belongs to exactly one tenant."""

    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKeyRow(Base):
    """An API key: only its sha256 is stored, so a leaked database does not leak keys.

    ``id`` is the public part of the key (``ik_<id>_<secret>``) and lets us find the row
    without scanning, and lets an operator revoke a key without ever seeing it.
    """

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(ForeignKey("tenants.name"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class JobRow(Base):
    """A unit of scheduled work (an edit, a chat turn, a deck), persisted so restarts lose nothing."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("tenant", "idempotency_key"),
        # The Celery workers' claim orders a pool's tenants by when each was last served
        # (server/scheduler/rows.py): one index look-up per tenant instead of a scan of its jobs.
        Index("ix_jobs_pool_tenant_started", "pool", "tenant", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_job_id)
    seq: Mapped[int] = mapped_column(Integer, index=True, default=0)
    tenant: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "edit" | "chat" | "deck"
    pool: Mapped[str] = mapped_column(String(16))  # "classic" | "qwen"
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    input_blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cache_key: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    result_blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    result_format: Mapped[str | None] = mapped_column(String(16), nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    cached: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: With Celery workers: who runs the job and until when its lease holds (renewed while it
    #: runs); a job whose lease ran out is queued again (server/scheduler/celery/reaper.py).
    worker: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
