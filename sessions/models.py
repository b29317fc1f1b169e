"""The session tables: sessions, messages, images, versions (a graph), entities, head moves.

Portable column types only (strings, integers, JSON, timezone-aware timestamps), so the same
models run on SQLite and PostgreSQL. Nothing here is ever deleted by undo, redo or revert: they
only move an image's ``head_version_id`` and log the move in ``head_moves``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sessions.db import Base, utcnow

DEFAULT_TENANT = "local"


def new_id() -> str:
    return uuid.uuid4().hex


class SessionRow(Base):
    """A conversation: its messages, its images and what its edits named."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    tenant: Mapped[str] = mapped_column(String(128), index=True, default=DEFAULT_TENANT)
    title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # The last image position handed out; ``SessionStore.add_image`` increments it atomically.
    last_position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    messages: Mapped[list[MessageRow]] = relationship(back_populates="session", order_by="MessageRow.id")
    images: Mapped[list[ImageRow]] = relationship(back_populates="session", order_by="ImageRow.position")


class MessageRow(Base):
    """One message of the conversation, as the user and the agent saw it."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # "user" | "assistant" | "system"
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    session: Mapped[SessionRow] = relationship(back_populates="messages")


class ImageRow(Base):
    """An image attached to a session; ``position`` is 1 for the first image ("第一张")."""

    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("session_id", "position"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300), default="")
    # Not a foreign key: versions point at images, and a cycle would complicate inserts.
    head_version_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Versions undone from, most recent last; ``redo`` pops it, a new edit or revert clears it.
    redo_stack: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The last version number handed out; ``SessionStore.add_version`` increments it atomically.
    last_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    session: Mapped[SessionRow] = relationship(back_populates="images")
    versions: Mapped[list[VersionRow]] = relationship(back_populates="image", order_by="VersionRow.number")


class VersionRow(Base):
    """One state of an image: the original upload (number 0, no parent) or the result of an edit.

    The parent is the version the edit started from, which need not be the newest one: an
    edit after undo or revert starts a branch.
    """

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("image_id", "number"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id"), index=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("versions.id"), nullable=True)
    number: Mapped[int] = mapped_column(Integer)
    instruction: Mapped[str] = mapped_column(Text, default="")
    resolved_instruction: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    engine: Mapped[str] = mapped_column(String(32), default="")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    timings: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    author: Mapped[str] = mapped_column(String(64), default="user")
    resolution: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    blob: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8), default="PNG")
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    image: Mapped[ImageRow] = relationship(back_populates="versions")


class EntityRow(Base):
    """An object an edit named or created ("蓝色长袖衬衫", clothing/shirt), and where it is."""

    __tablename__ = "entities"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id"), index=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("versions.id"))
    name: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(100), default="")
    box: Mapped[dict[str, float] | None] = mapped_column(JSON, nullable=True)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The version whose edit removed the object; it is still there in versions outside that
    # version's lineage (undo the removal and it is back), so this is noted, never deleted.
    removed_version_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class HeadMoveRow(Base):
    """A move of an image's head (edit, undo, redo, revert), for the audit log."""

    __tablename__ = "head_moves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id"))
    action: Mapped[str] = mapped_column(String(16))
    from_version_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    to_version_id: Mapped[str] = mapped_column(String(64))
    #: The job step that asked for this move (a chat turn's undo), so a re-run of the job finds
    #: the move it made instead of moving again; unique, so two runs at once cannot both move.
    effect: Mapped[str | None] = mapped_column(String(160), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
