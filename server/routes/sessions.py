"""Sessions over ``sessions.SessionStore``, every object checked against the caller's tenant.

Another tenant's id answers 404 exactly like an id that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, File, Header, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from engine.parsing.language import reply_language
from imgedit.errors import BadInputError, InChinese, NotFoundError, answered_in
from jobs.edit import EditOptions, SessionTarget
from server.context import ServerContext
from server.deps import Caller, Ctx, OwnedSession
from server.edits import job_json, submit_edit
from server.errors import QuotaExceededError
from server.routes.jobs import MEDIA_TYPES, idempotency
from server.schemas import (
    HeadMoved,
    ImageAdded,
    ImageOut,
    JobOut,
    MessageOut,
    MessagePage,
    SessionCreated,
    SessionList,
    SessionOut,
    SessionSummary,
    TurnOut,
    VersionOut,
)
from server.uploads import check_image, read_upload, thumbnail
from sessions import ImageInfo, SessionInfo, SessionStore, VersionInfo
from sessions.models import HeadMoveRow

router = APIRouter(prefix="/v1", tags=["sessions"])

MESSAGE_TIMEOUT = 600.0
#: Sessions per page of ``GET /v1/sessions``: by default, and at most.
DEFAULT_PAGE = 100
MAX_PAGE = 500


class NewSession(BaseModel):
    title: str = Field(default="", max_length=200)


class NewMessage(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    image_ids: list[str] | None = Field(default=None, max_length=3)


class ImageChoice(BaseModel):
    image_id: str | None = Field(default=None, max_length=64, description="Default: the last image edited.")


class RevertTo(BaseModel):
    version_id: str = Field(max_length=64)


class NewSessionEdit(BaseModel):
    instruction: str = Field(min_length=1, max_length=2000)
    image_id: str | None = Field(default=None, max_length=64, description="Default: the last image edited.")
    engine: str | None = Field(default=None, pattern="^(auto|classic|qwen)$")
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    priority: int = Field(default=0, ge=-10, le=10)


def version_out(version: VersionInfo, request: Request) -> VersionOut:
    return VersionOut(
        id=version.id,
        image_id=version.image_id,
        parent_id=version.parent_id,
        number=version.number,
        instruction=version.instruction,
        resolved_instruction=version.resolved_instruction,
        engine=version.engine,
        width=version.width,
        height=version.height,
        created_at=version.created_at.isoformat(),
        image_url=request.app.url_path_for("version_image", version_id=version.id),
    )


def message_page(store: SessionStore, session_id: str, limit: int, before: int | None = None) -> MessagePage:
    """The ``limit`` messages before ``before`` (or the last ones), and the cursor to older ones."""
    found = store.messages(session_id, last=limit + 1, before=before)
    older = len(found) > limit
    page = found[1:] if older else found
    return MessagePage(
        messages=[MessageOut.model_validate(m.to_dict()) for m in page],
        # With limit 0 the page is empty: the cursor then leads to the newest message.
        messages_before=(page[0].id if page else found[0].id + 1) if older else None,
    )


def session_out(
    store: SessionStore, session: SessionInfo, request: Request, messages: int = DEFAULT_PAGE
) -> SessionOut:
    images = [
        ImageOut(
            id=image.id,
            position=image.position,
            name=image.name,
            head_version_id=image.head_version_id,
            can_redo=bool(image.redo_stack),
            versions=[version_out(v, request) for v in store.versions(image.id)],
        )
        for image in store.images(session.id)
    ]
    conversation = message_page(store, session.id, messages)
    return SessionOut(
        id=session.id,
        title=session.title,
        created_at=session.created_at.isoformat(),
        images=images,
        messages=conversation.messages,
        messages_before=conversation.messages_before,
    )


def owned_version(ctx: Ctx, version_id: str, tenant: str) -> VersionInfo:
    try:
        version = ctx.store.version(version_id)
        ctx.store.get_session(version.session_id, tenant=tenant)
    except NotFoundError:
        raise NotFoundError(f"No version {version_id}.") from None
    return version


def pick_image(ctx: ServerContext, session_id: str, image_id: str | None) -> ImageInfo:
    """The image a command means: the one named, else the one whose head moved last."""
    store = ctx.store
    if image_id:
        return store.image(image_id, session_id=session_id)
    with ctx.db() as db:
        last = db.scalar(
            select(HeadMoveRow.image_id)
            .where(HeadMoveRow.session_id == session_id)
            .order_by(HeadMoveRow.id.desc())
            .limit(1)
        )
    if last is None:
        raise BadInputError(
            "This session has no image yet.",
            hint="Upload one first (POST /v1/sessions/{id}/images).",
            zh=InChinese("这个会话里还没有图片。", "请先上传一张（POST /v1/sessions/{id}/images）。"),
        )
    return store.image(last)


@router.post("/sessions", status_code=201, response_model=SessionCreated, summary="Start a session")
def create_session(ctx: Ctx, who: Caller, body: NewSession | None = None) -> SessionCreated:
    cap = ctx.settings.max_sessions_per_tenant
    if ctx.store.count_sessions(tenant=who.tenant) >= cap:
        raise QuotaExceededError(
            f"This tenant has {cap:,} sessions, the most the service keeps for one tenant.",
            hint="Raise IMGEDIT_MAX_SESSIONS_PER_TENANT on the server, or use another tenant.",
        )
    info = ctx.store.create_session(tenant=who.tenant, title=(body.title if body else ""))
    return SessionCreated(id=info.id, title=info.title)


@router.get(
    "/sessions", response_model=SessionList, summary="The caller's sessions, oldest first, a page at a time"
)
def list_sessions(
    ctx: Ctx,
    who: Caller,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Sessions per page.")] = DEFAULT_PAGE,
    cursor: Annotated[
        str | None, Query(max_length=64, description="`next_cursor` of the previous page.")
    ] = None,
) -> SessionList:
    """``next_cursor`` is set while more sessions follow; pass it as ``cursor`` for the next page."""
    try:
        page = ctx.store.list_sessions(tenant=who.tenant, limit=limit + 1, after=cursor)
    except NotFoundError:
        raise BadInputError(
            f"'{cursor}' is not a cursor of yours.", hint="Pass the next_cursor of the previous page."
        ) from None
    more = len(page) > limit
    page = page[:limit]
    return SessionList(
        sessions=[SessionSummary(id=s.id, title=s.title, created_at=s.created_at.isoformat()) for s in page],
        next_cursor=page[-1].id if more else None,
    )


@router.get(
    "/sessions/{session_id}",
    response_model=SessionOut,
    summary="A session: its images with their versions, its messages",
)
def get_session(
    session: OwnedSession,
    request: Request,
    ctx: Ctx,
    messages: Annotated[
        int, Query(ge=0, le=MAX_PAGE, description="How many of the last messages to include.")
    ] = DEFAULT_PAGE,
) -> SessionOut:
    """A long conversation comes a page at a time: ``messages_before`` leads to the older ones."""
    return session_out(ctx.store, session, request, messages)


@router.get(
    "/sessions/{session_id}/messages",
    response_model=MessagePage,
    summary="A page of the session's conversation, oldest first, read from the newest end",
)
def list_messages(
    session: OwnedSession,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Messages per page.")] = DEFAULT_PAGE,
    before: Annotated[
        int | None, Query(ge=1, description="`messages_before` of the previous answer: older messages.")
    ] = None,
) -> MessagePage:
    return message_page(ctx.store, session.id, limit, before)


@router.post(
    "/sessions/{session_id}/images",
    status_code=201,
    response_model=ImageAdded,
    summary="Attach an image (multipart `file`)",
)
async def add_image(session: OwnedSession, ctx: Ctx, file: Annotated[UploadFile, File()]) -> ImageAdded:
    data = await read_upload(file, ctx.settings.max_upload_bytes)

    def attach() -> ImageAdded:
        check_image(
            data, name=file.filename or "", max_pixels=ctx.settings.max_image_pixels, decoder=ctx.decoder
        )
        image, version = ctx.store.add_image(session.id, data, name=file.filename or "")
        return ImageAdded(image_id=image.id, version_id=version.id, position=image.position)

    return await run_in_threadpool(attach)


@router.post(
    "/sessions/{session_id}/edits",
    status_code=202,
    response_model=JobOut,
    response_model_exclude_unset=True,
    summary="Queue an edit of a session image",
)
def create_session_edit(
    session: OwnedSession,
    body: NewSessionEdit,
    request: Request,
    ctx: Ctx,
    who: Caller,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JobOut:
    """The edit starts from the image's head and, when done, becomes its new version, recorded
    like a chat edit (resolution, author, entities: tools/session_edit.py)."""
    key = idempotency(idempotency_key)
    with answered_in(reply_language(body.instruction)):
        image = pick_image(ctx, session.id, body.image_id)
        head = ctx.store.head(image.id)
        options = EditOptions(
            instruction=body.instruction, engine=body.engine, seed=body.seed, priority=body.priority
        )
        target = SessionTarget(session.id, image.id, head.id, author=f"key:{who.key_id}")
        info = submit_edit(
            ctx, who.tenant, options, input_blob=head.blob, session=target, idempotency_key=key
        )
    return job_json(info, request)


def _move(ctx: Ctx, session: SessionInfo, action: str, image_id: str | None) -> HeadMoved:
    image = pick_image(ctx, session.id, image_id)
    version = ctx.store.undo(image.id) if action == "undo" else ctx.store.redo(image.id)
    return HeadMoved(image_id=image.id, version_id=version.id, number=version.number)


@router.post(
    "/sessions/{session_id}/undo", response_model=HeadMoved, summary="Move an image's head back to its parent"
)
def undo(session: OwnedSession, ctx: Ctx, body: ImageChoice | None = None) -> HeadMoved:
    return _move(ctx, session, "undo", body.image_id if body else None)


@router.post("/sessions/{session_id}/redo", response_model=HeadMoved, summary="Undo the last undo")
def redo(session: OwnedSession, ctx: Ctx, body: ImageChoice | None = None) -> HeadMoved:
    return _move(ctx, session, "redo", body.image_id if body else None)


@router.post(
    "/sessions/{session_id}/revert", response_model=HeadMoved, summary="Make any version of an image its head"
)
def revert(session: OwnedSession, body: RevertTo, ctx: Ctx) -> HeadMoved:
    try:
        target = ctx.store.version(body.version_id, session_id=session.id)
    except NotFoundError:
        raise NotFoundError(f"No version {body.version_id} in this session.") from None
    version = ctx.store.revert(target.image_id, target.id)
    return HeadMoved(image_id=version.image_id, version_id=version.id, number=version.number)


@router.get("/versions/{version_id}", summary="A version's audit record")
def get_version(version_id: str, ctx: Ctx, who: Caller) -> dict[str, Any]:
    version = owned_version(ctx, version_id, who.tenant)
    return ctx.store.version_audit(version.id)


@router.get(
    "/versions/{version_id}/image",
    summary="A version's image; `max_side` gives a thumbnail",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}}},
)
def version_image(
    version_id: str,
    ctx: Ctx,
    who: Caller,
    max_side: Annotated[int | None, Query(ge=16, le=2048)] = None,
) -> Response:
    version = owned_version(ctx, version_id, who.tenant)
    data = ctx.store.read_version(version)
    fmt = version.format
    if max_side and max(version.width, version.height) > max_side:
        data, fmt = ctx.decoder.run(lambda: thumbnail(data, version.format, max_side))
    return Response(
        data,
        media_type=MEDIA_TYPES.get(fmt, "application/octet-stream"),
        headers={"Cache-Control": "private, max-age=86400, immutable"},
    )


@router.post(
    "/sessions/{session_id}/messages",
    response_model=TurnOut,
    summary="Send a chat message; returns the agent's turn",
)
async def send_message(
    session_id: str,
    body: NewMessage,
    ctx: Ctx,
    who: Caller,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> TurnOut:
    """Runs the turn as a job (fair-shared with edits) and waits for it; the answer has the CLI's
    ``--json`` shape: ``reply``, ``tool_calls``, ``resolved_instruction``, ``image_id``,
    ``version_id``, ``image_path``.

    With an ``Idempotency-Key`` a retried request (its answer was lost) gets the first request's
    turn, run once; the same key with another message is a 409."""
    from server.chat import submit_chat

    key = idempotency(idempotency_key)
    info = await run_in_threadpool(
        partial(submit_chat, idempotency_key=key),
        ctx,
        who.tenant,
        session_id,
        body.text,
        list(body.image_ids or []),
    )
    await run_in_threadpool(ctx.queue.wait, info.id, MESSAGE_TIMEOUT)
    info = await run_in_threadpool(ctx.queue.get, info.id, who.tenant)
    if info.status == "done":
        return TurnOut.model_validate({**info.result, "job_id": info.id})
    if info.status in ("queued", "running"):
        return JSONResponse({"job_id": info.id, "status": info.status}, status_code=202)  # type: ignore[return-value]
    error = info.error or {"code": "internal_error", "message": "The turn failed."}
    status = int(error.get("http_status", 500))
    body_out = {k: v for k, v in error.items() if k in ("code", "message", "hint", "suggestions")}
    return JSONResponse({**body_out, "job_id": info.id}, status_code=status)  # type: ignore[return-value]
