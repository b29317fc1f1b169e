"""``/v1/ws``: chat turns and job events over one WebSocket per client.

The key comes as ``?token=KEY`` (checked before the handshake is accepted) or as the first
frame ``{"type": "auth", "token"}`` within ``AUTH_TIMEOUT`` seconds (nothing else is read or sent
before it). Every frame is JSON ``{"type", ...}``; see docs/api.md for each type.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from imgedit.errors import BadInputError, ImgEditError
from server.auth import Principal
from server.context import ServerContext, ws_ctx
from server.edits import EditOptions, submit_edit
from server.events import Connection, job_frame
from server.routes.sessions import pick_image

log = logging.getLogger("imgedit.server.ws")
router = APIRouter()

AUTH_TIMEOUT = 10.0
POLICY_VIOLATION = 1008
UNAUTHORIZED = 4401
TRY_AGAIN_LATER = 1013
MAX_FRAME_CHARS = 64 * 1024


def error_frame(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, **extra}


async def _authenticate(websocket: WebSocket, ctx: ServerContext) -> Principal | None:
    token = websocket.query_params.get("token")
    if token is not None:
        who = await run_in_threadpool(ctx.keys.authenticate, token)
        if who is None:
            await websocket.close(code=UNAUTHORIZED, reason="unknown or revoked API key")
            return None
        await websocket.accept()
        return who
    await websocket.accept()
    try:
        frame = json.loads(await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT))
    except (TimeoutError, ValueError, WebSocketDisconnect, KeyError):
        frame = None
    token = frame.get("token") if isinstance(frame, dict) and frame.get("type") == "auth" else None
    who = await run_in_threadpool(ctx.keys.authenticate, token) if isinstance(token, str) else None
    if who is None:
        await websocket.send_json(
            error_frame("unauthorized", 'Send {"type": "auth", "token": KEY} first, with a valid key.')
        )
        await websocket.close(code=UNAUTHORIZED)
    return who


async def _send_loop(websocket: WebSocket, conn: Connection) -> None:
    """The only writer of this socket: drains the connection's queue in order."""
    while True:
        frame = await conn.queue.get()
        if frame is None or conn.too_slow:
            await websocket.close(code=TRY_AGAIN_LATER, reason="client too slow")
            return
        await websocket.send_json(frame)


@router.websocket("/v1/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    ctx = ws_ctx(websocket)
    who = await _authenticate(websocket, ctx)
    if who is None:
        return
    conn = Connection(who.tenant, asyncio.get_running_loop())
    ctx.hub.add(conn)
    conn.offer({"type": "ready", "tenant": who.tenant})
    sender = asyncio.create_task(_send_loop(websocket, conn))
    try:
        while True:
            text = await websocket.receive_text()
            reply = await _handle(ctx, who, text)
            if reply is not None:
                conn.offer(reply)
    except WebSocketDisconnect:
        pass
    except RuntimeError:  # the sender closed the socket (client too slow)
        pass
    finally:
        ctx.hub.remove(conn)
        sender.cancel()


async def _handle(ctx: ServerContext, who: Principal, text: str) -> dict[str, Any] | None:
    if len(text) > MAX_FRAME_CHARS:
        return error_frame("bad_frame", f"Frames are limited to {MAX_FRAME_CHARS} characters.")
    try:
        frame = json.loads(text)
    except ValueError:
        return error_frame("bad_frame", "Frames must be JSON objects with a 'type'.")
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        return error_frame("bad_frame", "Frames must be JSON objects with a 'type'.")
    kind = frame["type"]
    handler = _HANDLERS.get(kind)
    if handler is None:
        return error_frame("bad_frame", f"Unknown frame type '{kind}'.", known=sorted(_HANDLERS))
    try:
        ctx.limiter.check(who.key_id)
        return await run_in_threadpool(handler, ctx, who, frame)
    except ImgEditError as exc:
        return {"type": "error", **exc.to_dict(), "request": kind}
    except Exception:
        log.exception("websocket frame %s failed", kind)
        return error_frame("internal_error", "Something went wrong on our side; it has been logged.")


def _text(frame: dict[str, Any], key: str, *, required: bool = True, limit: int = 2000) -> str | None:
    value = frame.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadInputError(f"'{key}' must be a non-empty string of at most {limit} characters.")
    return value


def _message(ctx: ServerContext, who: Principal, frame: dict[str, Any]) -> dict[str, Any]:
    session_id = _text(frame, "session_id", limit=64)
    text = _text(frame, "text")
    image_ids = frame.get("image_ids") or []
    if (
        not isinstance(image_ids, list)
        or not all(isinstance(i, str) for i in image_ids)
        or len(image_ids) > 3
    ):
        raise BadInputError("'image_ids' must be a list of at most 3 image ids.")
    from server.chat import submit_chat

    info = submit_chat(ctx, who.tenant, str(session_id), str(text), image_ids)
    return job_frame(info)


def _edit(ctx: ServerContext, who: Principal, frame: dict[str, Any]) -> dict[str, Any]:
    session_id = str(_text(frame, "session_id", limit=64))
    instruction = str(_text(frame, "instruction"))
    ctx.store.get_session(session_id, tenant=who.tenant)
    image = pick_image(ctx, session_id, _text(frame, "image_id", required=False, limit=64))
    head = ctx.store.head(image.id)
    seed = frame.get("seed")
    options = EditOptions(instruction=instruction, seed=seed if isinstance(seed, int) else None)
    session = {"session_id": session_id, "image_id": image.id, "parent_version_id": head.id}
    return job_frame(submit_edit(ctx, who.tenant, options, input_blob=head.blob, session=session))


def _jobs(ctx: ServerContext, who: Principal, frame: dict[str, Any]) -> dict[str, Any]:
    return {"type": "jobs", "jobs": [job_frame(j) for j in ctx.queue.list(who.tenant, limit=50)]}


def _job_status(ctx: ServerContext, who: Principal, frame: dict[str, Any]) -> dict[str, Any]:
    return job_frame(ctx.queue.get(str(_text(frame, "job_id", limit=64)), who.tenant))


def _cancel(ctx: ServerContext, who: Principal, frame: dict[str, Any]) -> dict[str, Any]:
    return job_frame(ctx.queue.cancel(str(_text(frame, "job_id", limit=64)), who.tenant))


def _ping(ctx: ServerContext, who: Principal, frame: dict[str, Any]) -> dict[str, Any]:
    return {"type": "pong"}


def _auth(ctx: ServerContext, who: Principal, frame: dict[str, Any]) -> dict[str, Any]:
    return {"type": "ready", "tenant": who.tenant}


_HANDLERS = {
    "message": _message,
    "edit": _edit,
    "jobs": _jobs,
    "job_status": _job_status,
    "cancel": _cancel,
    "ping": _ping,
    "auth": _auth,
}
