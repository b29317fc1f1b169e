"""``SessionStore``: everything the agent, the tools and the server do to sessions.

One object over the database and the blob store. Each method is one short transaction and
returns snapshots (``sessions.records``). The version graph lives here: an edit adds a child of
the version it started from and moves the image's head to it; undo moves the head to the parent,
redo back down the way undo came, revert anywhere. None of them deletes anything.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from imgedit.config import Settings, get_settings
from imgedit.errors import BadInputError, NotFoundError
from sessions.blobs import BlobStore, open_blob_store
from sessions.db import create_db_engine, create_sessionmaker
from sessions.models import (
    DEFAULT_TENANT,
    EntityRow,
    HeadMoveRow,
    ImageRow,
    MessageRow,
    SessionRow,
    VersionRow,
)
from sessions.records import EntityInfo, ImageInfo, MessageInfo, SessionInfo, VersionInfo

_ORIGINAL_WORDS = {"original", "orig", "原图", "原始", "原版", "最初", "0", "v0"}


class SessionStore:
    """Sessions, images, versions, entities and messages, in one database plus a blob store."""

    def __init__(
        self,
        database: str | Path | Engine | None = None,
        blobs: str | Path | BlobStore | None = None,
        *,
        settings: Settings | None = None,
    ) -> None:
        settings = settings or get_settings()
        self.engine = (
            database if isinstance(database, Engine) else create_db_engine(database, settings=settings)
        )
        self._sessions: sessionmaker[DbSession] = create_sessionmaker(self.engine)
        self.blobs: BlobStore = (
            blobs
            if isinstance(blobs, BlobStore)
            else open_blob_store(settings, None if blobs is None else str(blobs))
        )

    @classmethod
    def default(cls) -> SessionStore:
        """The configured store (``IMGEDIT_DATABASE_URL``, ``IMGEDIT_BLOB_URL``; by default both
        under ``IMGEDIT_HOME``)."""
        return cls()

    @contextmanager
    def _tx(self) -> Iterator[DbSession]:
        with self._sessions.begin() as db:
            yield db

    # -- sessions and messages -------------------------------------------------------------

    def create_session(
        self, *, tenant: str = DEFAULT_TENANT, title: str = "", session_id: str | None = None
    ) -> SessionInfo:
        with self._tx() as db:
            row = SessionRow(tenant=tenant, title=title)
            if session_id:
                if db.get(SessionRow, session_id) is not None:
                    raise BadInputError(f"Session {session_id} already exists.")
                row.id = session_id
            db.add(row)
            db.flush()
            return SessionInfo.of(row)

    def get_session(self, session_id: str, *, tenant: str | None = None) -> SessionInfo:
        """The session, or ``NotFoundError`` (also for another tenant's session, so ids don't leak)."""
        with self._tx() as db:
            return SessionInfo.of(self._session_row(db, session_id, tenant))

    def list_sessions(
        self, *, tenant: str = DEFAULT_TENANT, limit: int | None = None, after: str | None = None
    ) -> list[SessionInfo]:
        """``tenant``'s sessions, oldest first; a page of ``limit`` starting after session ``after``.

        Pages are keyed by (creation time, id), not offsets, so sessions created while a client
        pages through never make it skip or repeat one. ``after`` must be one of the tenant's
        sessions (``NotFoundError`` otherwise).
        """
        with self._tx() as db:
            query = select(SessionRow).where(SessionRow.tenant == tenant)
            if after is not None:
                start = self._session_row(db, after, tenant)
                query = query.where(
                    or_(
                        SessionRow.created_at > start.created_at,
                        and_(SessionRow.created_at == start.created_at, SessionRow.id > start.id),
                    )
                )
            query = query.order_by(SessionRow.created_at, SessionRow.id)
            if limit is not None:
                query = query.limit(limit)
            return [SessionInfo.of(r) for r in db.scalars(query)]

    def count_sessions(self, *, tenant: str = DEFAULT_TENANT) -> int:
        with self._tx() as db:
            query = select(func.count()).select_from(SessionRow).where(SessionRow.tenant == tenant)
            return int(db.scalar(query) or 0)

    def add_message(
        self, session_id: str, role: str, text: str, data: dict[str, Any] | None = None
    ) -> MessageInfo:
        with self._tx() as db:
            self._session_row(db, session_id)
            row = MessageRow(session_id=session_id, role=role, text=text, data=data or {})
            db.add(row)
            db.flush()
            return MessageInfo.of(row)

    def message_count(self, session_id: str, role: str) -> int:
        """How many messages of ``role`` the session has (one indexed count, no rows read)."""
        with self._tx() as db:
            query = select(func.count()).select_from(MessageRow)
            query = query.where(MessageRow.session_id == session_id, MessageRow.role == role)
            return int(db.scalar(query) or 0)

    def turn_message(self, session_id: str, role: str, turn_id: str) -> MessageInfo | None:
        """The ``role`` message recorded for the agent turn ``turn_id`` (``data["turn_id"]``), if
        any: a re-run turn finds what it recorded without reading the whole conversation."""
        with self._tx() as db:
            query = select(MessageRow).where(
                MessageRow.session_id == session_id,
                MessageRow.role == role,
                MessageRow.data["turn_id"].as_string() == turn_id,
            )
            row = db.scalars(query.order_by(MessageRow.id).limit(1)).first()
            return MessageInfo.of(row) if row is not None else None

    def messages(
        self, session_id: str, *, last: int | None = None, before: int | None = None
    ) -> list[MessageInfo]:
        """The session's messages, oldest first: all of them, or the ``last`` ones older than
        the message ``before`` (a page of a long conversation, read from the newest end)."""
        with self._tx() as db:
            query = select(MessageRow).where(MessageRow.session_id == session_id)
            if before is not None:
                query = query.where(MessageRow.id < before)
            if last is None:
                return [MessageInfo.of(r) for r in db.scalars(query.order_by(MessageRow.id))]
            rows = list(db.scalars(query.order_by(MessageRow.id.desc()).limit(last)))
            return [MessageInfo.of(r) for r in reversed(rows)]

    # -- images and versions ---------------------------------------------------------------

    def add_image(
        self, session_id: str, data: bytes, *, name: str = "", author: str = "user"
    ) -> tuple[ImageInfo, VersionInfo]:
        """Attach an image: a new image whose version 0 (the original) holds ``data``."""
        fmt, width, height = _inspect(data)
        digest = self.blobs.put(data)
        with self._tx() as db:
            # The position comes from the session's counter, incremented in the same statement
            # that reads it: concurrent uploads wait on the row (or SQLite's write lock) and
            # each gets its own. Being the transaction's first write also keeps SQLite from
            # failing a transaction whose earlier read went stale.
            position = db.scalar(
                update(SessionRow)
                .where(SessionRow.id == session_id)
                .values(last_position=SessionRow.last_position + 1)
                .returning(SessionRow.last_position)
                .execution_options(synchronize_session=False)
            )
            if position is None:
                raise NotFoundError(f"No session {session_id}.", hint="Start a new one, or list yours.")
            image = ImageRow(session_id=session_id, position=position, name=name, redo_stack=[])
            db.add(image)
            db.flush()
            version = VersionRow(
                session_id=session_id,
                image_id=image.id,
                parent_id=None,
                number=0,
                instruction="",
                author=author,
                blob=digest,
                format=fmt,
                width=width,
                height=height,
            )
            db.add(version)
            db.flush()
            image.head_version_id = version.id
            db.add(
                HeadMoveRow(
                    session_id=session_id, image_id=image.id, action="upload", to_version_id=version.id
                )
            )
            return ImageInfo.of(image), VersionInfo.of(version)

    def add_version(
        self,
        parent_id: str,
        data: bytes,
        *,
        instruction: str,
        resolved_instruction: str = "",
        plan: dict[str, Any] | None = None,
        engine: str = "",
        parameters: dict[str, Any] | None = None,
        seed: int | None = None,
        timings: dict[str, float] | None = None,
        author: str = "user",
        resolution: dict[str, Any] | None = None,
        report: dict[str, Any] | None = None,
    ) -> VersionInfo:
        """Record an edit of version ``parent_id``: a new child version, which becomes the head.

        When the parent is not the head (after undo or revert) the new version starts a branch;
        the versions past the parent stay, reachable by ``revert``.
        """
        fmt, width, height = _inspect(data)
        digest = self.blobs.put(data)
        with self._tx() as db:
            # The number comes from the image's counter, taken atomically (see ``add_image``).
            parent_image = select(VersionRow.image_id).where(VersionRow.id == parent_id).scalar_subquery()
            taken = db.execute(
                update(ImageRow)
                .where(ImageRow.id == parent_image)
                .values(last_version=ImageRow.last_version + 1)
                .returning(ImageRow.id, ImageRow.last_version)
                .execution_options(synchronize_session=False)
            ).first()
            if taken is None:
                raise NotFoundError(f"No version {parent_id}.")
            image = db.get(ImageRow, taken.id)
            parent = db.get(VersionRow, parent_id)
            assert image is not None and parent is not None
            number = taken.last_version
            version = VersionRow(
                session_id=parent.session_id,
                image_id=image.id,
                parent_id=parent.id,
                number=number,
                instruction=instruction,
                resolved_instruction=resolved_instruction or instruction,
                plan=plan,
                engine=engine,
                parameters=parameters or {},
                seed=seed,
                timings=timings or {},
                author=author,
                resolution=resolution or {},
                report=report or {},
                blob=digest,
                format=fmt,
                width=width,
                height=height,
            )
            db.add(version)
            db.flush()
            self._move_head(db, image, version.id, "edit")
            image.redo_stack = []
            return VersionInfo.of(version)

    def images(self, session_id: str) -> list[ImageInfo]:
        with self._tx() as db:
            rows = db.scalars(
                select(ImageRow).where(ImageRow.session_id == session_id).order_by(ImageRow.position)
            )
            return [ImageInfo.of(r) for r in rows]

    def image(self, image_id: str, *, session_id: str | None = None) -> ImageInfo:
        with self._tx() as db:
            return ImageInfo.of(self._image_row(db, image_id, session_id))

    def version(self, version_id: str, *, session_id: str | None = None) -> VersionInfo:
        with self._tx() as db:
            row = db.get(VersionRow, version_id)
            if row is None or (session_id is not None and row.session_id != session_id):
                raise NotFoundError(f"No version {version_id}.", hint="List them with /history.")
            return VersionInfo.of(row)

    def versions(self, image_id: str) -> list[VersionInfo]:
        with self._tx() as db:
            rows = db.scalars(
                select(VersionRow).where(VersionRow.image_id == image_id).order_by(VersionRow.number)
            )
            return [VersionInfo.of(r) for r in rows]

    def session_versions(self, session_id: str) -> list[VersionInfo]:
        """Every version of every image in the session, oldest first."""
        with self._tx() as db:
            rows = db.scalars(
                select(VersionRow)
                .where(VersionRow.session_id == session_id)
                .order_by(VersionRow.created_at, VersionRow.number)
            )
            return [VersionInfo.of(r) for r in rows]

    def head(self, image_id: str) -> VersionInfo:
        with self._tx() as db:
            image = self._image_row(db, image_id)
            row = db.get(VersionRow, image.head_version_id)
            assert row is not None
            return VersionInfo.of(row)

    def find_version(self, image_id: str, ref: str | int) -> VersionInfo:
        """A version of the image by id, by number (``3``, ``v3``) or as ``original``/``原图``."""
        text = str(ref).strip().lower()
        if text in _ORIGINAL_WORDS:
            number: int | None = 0
        elif text.lstrip("v#").isdigit():
            number = int(text.lstrip("v#"))
        else:
            number = None
        with self._tx() as db:
            if number is None:
                row = db.get(VersionRow, str(ref).strip())
                if row is not None and row.image_id != image_id:
                    row = None
            else:
                row = db.scalar(
                    select(VersionRow).where(VersionRow.image_id == image_id, VersionRow.number == number)
                )
            if row is None:
                raise NotFoundError(
                    f"Image has no version '{ref}'.",
                    hint="List the versions with /history (or list_versions).",
                )
            return VersionInfo.of(row)

    def undo(self, image_id: str, *, effect: str | None = None) -> VersionInfo:
        """Move the head to its parent; ``BadInputError`` at the original.

        ``effect`` names the job step asking (see ``head_move``): a step already done moves nothing."""
        with self._tx() as db:
            if (done := self._moved(db, effect)) is not None:
                return done
            image = self._image_row(db, image_id)
            head = db.get(VersionRow, image.head_version_id)
            assert head is not None
            if head.parent_id is None:
                raise BadInputError("Nothing to undo: this is the original image.")
            image.redo_stack = [*image.redo_stack, head.id]
            self._move_head(db, image, head.parent_id, "undo", effect)
            parent = db.get(VersionRow, head.parent_id)
            assert parent is not None
            return VersionInfo.of(parent)

    def redo(self, image_id: str, *, effect: str | None = None) -> VersionInfo:
        """Move the head back to the version the last undo left; ``BadInputError`` when none."""
        with self._tx() as db:
            if (done := self._moved(db, effect)) is not None:
                return done
            image = self._image_row(db, image_id)
            stack = list(image.redo_stack or [])
            if not stack:
                raise BadInputError("Nothing to redo.", hint="Redo works after an undo, before any new edit.")
            target = db.get(VersionRow, stack.pop())
            assert target is not None
            image.redo_stack = stack
            self._move_head(db, image, target.id, "redo", effect)
            return VersionInfo.of(target)

    def revert(self, image_id: str, version_id: str, *, effect: str | None = None) -> VersionInfo:
        """Make ``version_id`` the head (any version of the image); the next edit starts from it."""
        with self._tx() as db:
            if (done := self._moved(db, effect)) is not None:
                return done
            image = self._image_row(db, image_id)
            target = db.get(VersionRow, version_id)
            if target is None or target.image_id != image.id:
                raise NotFoundError(
                    f"Image {image.position} has no version {version_id}.",
                    hint="List the versions with /history (or list_versions).",
                )
            image.redo_stack = []
            self._move_head(db, image, target.id, "revert", effect)
            return VersionInfo.of(target)

    def select_image(self, image_id: str, *, effect: str | None = None) -> ImageInfo:
        """Make ``image_id`` the one the user works on without moving its head: a ``select`` move
        (from and to the head), so "it" and "this image" mean it until another image is touched."""
        with self._tx() as db:
            image = self._image_row(db, image_id)
            if self._moved(db, effect) is not None:
                return ImageInfo.of(image)
            assert image.head_version_id is not None
            self._move_head(db, image, image.head_version_id, "select", effect)
            return ImageInfo.of(image)

    def active_image(self, session_id: str) -> ImageInfo | None:
        """The image the user is working on: the one whose head moved (or was selected) last."""
        with self._tx() as db:
            move = db.scalar(
                select(HeadMoveRow)
                .where(HeadMoveRow.session_id == session_id)
                .order_by(HeadMoveRow.id.desc())
            )
            if move is None:
                return None
            row = db.get(ImageRow, move.image_id)
            return ImageInfo.of(row) if row is not None else None

    def read_version(self, version: VersionInfo | str) -> bytes:
        info = version if isinstance(version, VersionInfo) else self.version(version)
        return self.blobs.get(info.blob)

    def version_location(self, version: VersionInfo | str) -> str:
        """Where the version's bytes are, for people: a file path, or an ``s3://`` address."""
        info = version if isinstance(version, VersionInfo) else self.version(version)
        return self.blobs.locate(info.blob)

    # -- entities --------------------------------------------------------------------------

    def record_entity(
        self,
        session_id: str,
        *,
        image_id: str,
        version_id: str,
        name: str,
        category: str = "",
        box: dict[str, float] | None = None,
        entity_id: str | None = None,
    ) -> EntityInfo:
        """Create an entity, or (with ``entity_id``) update it, keeping its former state in ``history``."""
        with self._tx() as db:
            if entity_id is not None:
                row = db.get(EntityRow, entity_id)
                if row is None or row.session_id != session_id:
                    raise NotFoundError(f"No entity {entity_id} in this session.")
                row.history = [
                    *row.history,
                    {
                        "name": row.name,
                        "category": row.category,
                        "version_id": row.version_id,
                        "box": row.box,
                    },
                ]
                row.name, row.version_id, row.image_id = name, version_id, image_id
                row.category = category or row.category
                row.box = box if box is not None else row.box
            else:
                row = EntityRow(
                    session_id=session_id,
                    image_id=image_id,
                    version_id=version_id,
                    name=name,
                    category=category,
                    box=box,
                    history=[],
                )
                db.add(row)
            db.flush()
            return EntityInfo.of(row)

    def mark_entity_removed(self, entity_id: str, version_id: str) -> EntityInfo:
        """Note that the edit which made ``version_id`` removed the entity (versions outside that
        version's lineage still show it, so nothing is deleted)."""
        with self._tx() as db:
            # An explicit ``updated_at`` keeps its recency: a removal is not a new mention, and
            # after undoing it "that badge" still means the badge added last.
            db.execute(
                update(EntityRow)
                .where(EntityRow.id == entity_id)
                .values(removed_version_id=version_id, updated_at=EntityRow.updated_at)
            )
            row = db.get(EntityRow, entity_id, populate_existing=True)
            if row is None:
                raise NotFoundError(f"No entity {entity_id}.")
            return EntityInfo.of(row)

    def entities(self, session_id: str, *, image_id: str | None = None) -> list[EntityInfo]:
        """The session's entities, most recently named or edited first."""
        with self._tx() as db:
            query = select(EntityRow).where(EntityRow.session_id == session_id)
            if image_id is not None:
                query = query.where(EntityRow.image_id == image_id)
            rows = db.scalars(query.order_by(EntityRow.updated_at.desc(), EntityRow.created_at.desc()))
            return [EntityInfo.of(r) for r in rows]

    # -- audit -----------------------------------------------------------------------------

    def version_audit(self, version_id: str, *, session_id: str | None = None) -> dict[str, Any]:
        """Everything recorded about one version, JSON-ready: who asked what, how it was resolved
        and executed, from which parent, with which seed and timings, and the output's sha256."""
        version = self.version(version_id, session_id=session_id)
        return _audit_record(version, self.image(version.image_id))

    def session_audit(self, session_id: str, *, tenant: str | None = None) -> dict[str, Any]:
        """The whole session as JSON: messages, images with their version graphs, entities, head moves."""
        info = self.get_session(session_id, tenant=tenant)
        with self._tx() as db:
            moves = db.scalars(
                select(HeadMoveRow).where(HeadMoveRow.session_id == session_id).order_by(HeadMoveRow.id)
            )
            head_moves = [
                {
                    "image_id": m.image_id,
                    "action": m.action,
                    "from_version_id": m.from_version_id,
                    "to_version_id": m.to_version_id,
                    "at": m.created_at.isoformat(),
                }
                for m in moves
            ]
        images = []
        for image in self.images(session_id):
            versions = [_audit_record(v, image) for v in self.versions(image.id)]
            images.append({**image.to_dict(), "versions": versions})
        return {
            "session": {
                "id": info.id,
                "tenant": info.tenant,
                "title": info.title,
                "created_at": info.created_at.isoformat(),
            },
            "messages": [m.to_dict() for m in self.messages(session_id)],
            "images": images,
            "entities": [e.to_dict() for e in self.entities(session_id)],
            "head_moves": head_moves,
        }

    # -- internals -------------------------------------------------------------------------

    def _session_row(self, db: DbSession, session_id: str, tenant: str | None = None) -> SessionRow:
        row = db.get(SessionRow, session_id)
        if row is None or (tenant is not None and row.tenant != tenant):
            raise NotFoundError(f"No session {session_id}.", hint="Start a new one, or list yours.")
        return row

    def _image_row(self, db: DbSession, image_id: str, session_id: str | None = None) -> ImageRow:
        row = db.get(ImageRow, image_id)
        if row is None or (session_id is not None and row.session_id != session_id):
            raise NotFoundError(f"No image {image_id} in this session.", hint="Attach one with /attach PATH.")
        return row

    def head_move(self, effect: str) -> tuple[VersionInfo | None, VersionInfo] | None:
        """The move (from, to) that the job step ``effect`` made, or None if it made none yet.

        A chat turn re-run after a crash asks this before its undo, redo, revert or image switch,
        so it reports the move that was made; the moves themselves check again (``_moved``)."""
        with self._tx() as db:
            move = self._recorded_move(db, effect)
            if move is None:
                return None
            before = db.get(VersionRow, move.from_version_id) if move.from_version_id else None
            return (VersionInfo.of(before) if before else None), self._moved_to(db, move)

    @staticmethod
    def _recorded_move(db: DbSession, effect: str | None) -> HeadMoveRow | None:
        if effect is None:
            return None
        return db.scalar(select(HeadMoveRow).where(HeadMoveRow.effect == effect))

    @staticmethod
    def _moved_to(db: DbSession, move: HeadMoveRow) -> VersionInfo:
        to = db.get(VersionRow, move.to_version_id)
        assert to is not None
        return VersionInfo.of(to)

    def _moved(self, db: DbSession, effect: str | None) -> VersionInfo | None:
        """Where the job step ``effect`` already moved a head to (None: not yet, or no step),
        read in the move's own transaction, so a step is never applied twice."""
        move = self._recorded_move(db, effect)
        return None if move is None else self._moved_to(db, move)

    @staticmethod
    def _move_head(
        db: DbSession, image: ImageRow, to_version_id: str, action: str, effect: str | None = None
    ) -> None:
        db.add(
            HeadMoveRow(
                session_id=image.session_id,
                image_id=image.id,
                action=action,
                from_version_id=image.head_version_id,
                to_version_id=to_version_id,
                effect=effect,
            )
        )
        image.head_version_id = to_version_id


def _audit_record(version: VersionInfo, image: ImageInfo) -> dict[str, Any]:
    """One version's audit record; the image is passed in so a whole session's export reads
    each image once instead of once per version."""
    data = version.to_dict()
    data["image_position"] = image.position
    data["blob_sha256"] = data.pop("blob")
    data["is_head"] = image.head_version_id == version.id
    return data


def _inspect(data: bytes) -> tuple[str, int, int]:
    """Format and size of encoded image bytes (read from the header, pixels not decoded)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return (img.format or "PNG").upper(), img.width, img.height
    except Exception as exc:
        raise BadInputError(
            f"The image bytes could not be read ({exc}).", hint="Attach a PNG, JPEG or WebP file."
        ) from exc
