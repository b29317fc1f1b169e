"""Read-only snapshots of the rows, handed out by ``SessionStore``.

Callers (tools, the agent, the server) get plain frozen dataclasses instead of ORM objects, so
nothing they hold is tied to a database session or can be changed behind the store's back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sessions.models import EntityRow, ImageRow, MessageRow, SessionRow, VersionRow


def _iso(value: datetime) -> str:
    return value.isoformat()


@dataclass(frozen=True)
class SessionInfo:
    id: str
    tenant: str
    title: str
    created_at: datetime

    @classmethod
    def of(cls, row: SessionRow) -> SessionInfo:
        return cls(id=row.id, tenant=row.tenant, title=row.title, created_at=row.created_at)


@dataclass(frozen=True)
class MessageInfo:
    id: int
    session_id: str
    role: str
    text: str
    data: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, row: MessageRow) -> MessageInfo:
        return cls(row.id, row.session_id, row.role, row.text, dict(row.data or {}), row.created_at)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "created_at": _iso(self.created_at)}


@dataclass(frozen=True)
class ImageInfo:
    id: str
    session_id: str
    position: int
    name: str
    head_version_id: str | None
    redo_stack: tuple[str, ...] = ()

    @classmethod
    def of(cls, row: ImageRow) -> ImageInfo:
        return cls(
            row.id, row.session_id, row.position, row.name, row.head_version_id, tuple(row.redo_stack or ())
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["redo_stack"] = list(self.redo_stack)
        return data


@dataclass(frozen=True)
class VersionInfo:
    id: str
    session_id: str
    image_id: str
    parent_id: str | None
    number: int
    instruction: str
    resolved_instruction: str
    plan: dict[str, Any] | None
    engine: str
    parameters: dict[str, Any]
    seed: int | None
    timings: dict[str, float]
    author: str
    resolution: dict[str, Any]
    report: dict[str, Any]
    blob: str
    format: str
    width: int
    height: int
    created_at: datetime

    @classmethod
    def of(cls, row: VersionRow) -> VersionInfo:
        return cls(
            id=row.id,
            session_id=row.session_id,
            image_id=row.image_id,
            parent_id=row.parent_id,
            number=row.number,
            instruction=row.instruction,
            resolved_instruction=row.resolved_instruction,
            plan=row.plan,
            engine=row.engine,
            parameters=dict(row.parameters or {}),
            seed=row.seed,
            timings=dict(row.timings or {}),
            author=row.author,
            resolution=dict(row.resolution or {}),
            report=dict(row.report or {}),
            blob=row.blob,
            format=row.format,
            width=row.width,
            height=row.height,
            created_at=row.created_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "created_at": _iso(self.created_at)}


@dataclass(frozen=True)
class EntityInfo:
    id: str
    session_id: str
    image_id: str
    version_id: str
    name: str
    category: str
    box: dict[str, float] | None
    history: list[dict[str, Any]] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    removed_version_id: str | None = None

    @classmethod
    def of(cls, row: EntityRow) -> EntityInfo:
        return cls(
            id=row.id,
            session_id=row.session_id,
            image_id=row.image_id,
            version_id=row.version_id,
            name=row.name,
            category=row.category,
            box=row.box,
            history=list(row.history or []),
            created_at=row.created_at,
            updated_at=row.updated_at,
            removed_version_id=row.removed_version_id,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = _iso(self.created_at) if self.created_at else None
        data["updated_at"] = _iso(self.updated_at) if self.updated_at else None
        return data
