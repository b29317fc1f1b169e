"""``/v1/ws``: chat turns and job events over one WebSocket per client.

The key comes as ``?token=KEY`` (checked before the handshake is accepted) or as the first
frame ``{"type": "auth", "token"}`` within ``AUTH_TIMEOUT`` seconds (nothing else is read or sent
before it). Every frame is JSON ``{"type", ...}``; see docs/api.md for each type.

A connection receives the events of the jobs it submitted, subscribed to or whose session it
joined, never the whole tenant's (server/events.py says why). Whenever it starts following a job
it is sent the job's current state at once, so a client that subscribes late misses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from engine.parsing.language import reply_language
from imgedit.errors import BadInputError, ImgEditError, answered_in
from jobs.edit import EditOptions, SessionTarget
from server.auth import Principal
from server.context import ServerContext, ws_ctx
from server.deps import client_address, login, login_close_code
from server.edits import submit_edit
from server.events import Connection, job_frame, state_frames
from server.routes.sessions import pick_image
from server.scheduler.base import FINISHED
from server.sockets import KEY_REVOKED, FrameError, parse_frame, receive_text, send_loop, watch_key, wind_up

log = logging.getLogger("imgedit.server.ws")
router = APIRouter()

AUTH_TIMEOUT = 10.0
MAX_FRAME_BYTES = 64 * 1024


def error_frame(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, **extra}


async def _authenticate(websocket: WebSocket, ctx: ServerContext) -> Principal | None:
    address = client_address(websocket)
    token = websocket.query_params.get("token")
    if token is not None:
        try:
            who = login(ctx, token, address)  # on the loop, as server/deps.py explains
        except ImgEditError as exc:
            await websocket.close(code=login_close_code(exc), reason=exc.message[:120])
            return None
        await websocket.accept()
        return who
    await websocket.accept()
    try:
        frame = parse_frame(await asyncio.wait_for(receive_text(websocket), AUTH_TIMEOUT), MAX_FRAME_BYTES)
    except WebSocketDisconnect:
        return None
    except (TimeoutError, FrameError):
        frame = {"type": "none"}
    token = frame.get("token") if frame["type"] == "auth" else None
    try:
        return login(ctx, token if isinstance(token, str) else None, address)
    except ImgEditError as exc:
        message = 'Send {"type": "auth", "token": KEY} first, with a valid key.'
        if exc.code != "unauthorized":
            message = exc.message
        await websocket.send_json(error_frame(exc.code, message))
        await websocket.close(code=login_close_code(exc))
        return None


@router.websocket("/v1/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    ctx = ws_ctx(websocket)
    who = await _authenticate(websocket, ctx)
    if who is None:
        return
    conn = Connection(who.tenant, asyncio.get_running_loop())
    ctx.hub.add(conn)
    conn.offer({"type": "ready", "tenant": who.tenant})
    sender = asyncio.create_task(send_loop(websocket, conn.out))
    watcher = asyncio.create_task(watch_key(ctx.keys, who, conn.out))
    client = Client(who, conn)
    try:
        # Once the send queue is closing (client too slow, key revoked), nothing more is read:
        # the sender closes the socket and the next receive sees the disconnect.
        while conn.out.closing is None:
            text = await receive_text(websocket)
            for reply in await _handle(ctx, client, text):
                conn.offer(reply)
    except WebSocketDisconnect:
        pass
    finally:
        ctx.hub.remove(conn)
        await wind_up(conn.out, sender, watcher)


@dataclass(frozen=True)
class Client:
    """Who sent a frame, and the connection their answers and followed events go to."""

    who: Principal
    conn: Connection

    @property
    def tenant(self) -> str:
        return self.who.tenant


Frame = dict[str, Any]
Answer = Frame | list[Frame]


async def _handle(ctx: ServerContext, client: Client, text: str | None) -> list[Frame]:
    try:
        frame = parse_frame(text, MAX_FRAME_BYTES)
    except FrameError as exc:
        return [error_frame("bad_frame", exc.message)]
    kind = frame["type"]
    handler = _HANDLERS.get(kind)
    if handler is None:
        return [error_frame("bad_frame", f"Unknown frame type '{kind}'.", known=sorted(_HANDLERS))]
    if kind != "ping" and not ctx.keys.still_active(client.who):
        client.conn.out.close(KEY_REVOKED, "API key revoked")
        return []
    try:
        ctx.limiter.check(client.who.key_id)
        if kind in _ON_THE_LOOP:
            answer = handler(ctx, client, frame)
        else:
            answer = await run_in_threadpool(handler, ctx, client, frame)
    except ImgEditError as exc:
        return [{"type": "error", **exc.to_dict(), "request": kind}]
    except Exception:
        log.exception("websocket frame %s failed", kind)
        return [error_frame("internal_error", "Something went wrong on our side; it has been logged.")]
    return answer if isinstance(answer, list) else [answer]


def _text(frame: dict[str, Any], key: str, *, required: bool = True, limit: int = 2000) -> str | None:
    value = frame.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadInputError(f"'{key}' must be a non-empty string of at most {limit} characters.")
    return value


def _follow(ctx: ServerContext, client: Client, job_id: str) -> list[Frame]:
    """Subscribe ``client`` to ``job_id``, then answer its current state.

    Ownership is checked before any subscription exists: subscribing first and undoing it on
    ``not_found`` let another tenant's events through in between (a loop of such subscribes
    received a running job's progress). The state is then read again after subscribing, so any
    later change arrives as an event: nothing falls in between, even for a job that started (or
    finished) before the client asked.
    """
    ctx.queue.check_owner(job_id, client.tenant)  # NotFoundError for another tenant's job
    ctx.hub.subscribe(client.conn, job_id)
    info = ctx.queue.get(job_id, client.tenant)
    if info.status in FINISHED:  # nothing more will come
        ctx.hub.unsubscribe(client.conn, job_id)
    return state_frames(info)


def _message(ctx: ServerContext, client: Client, frame: Frame) -> Answer:
    session_id = str(_text(frame, "session_id", limit=64))
    text = _text(frame, "text")
    image_ids = frame.get("image_ids") or []
    if (
        not isinstance(image_ids, list)
        or not all(isinstance(i, str) for i in image_ids)
        or len(image_ids) > 3
    ):
        raise BadInputError("'image_ids' must be a list of at most 3 image ids.")
    from server.chat import submit_chat

    ctx.store.get_session(session_id, tenant=client.tenant)
    ctx.hub.join(client.conn, session_id)  # before the job exists: its first event is not missed
    info = submit_chat(ctx, client.tenant, session_id, str(text), image_ids)
    return job_frame(info)


def _edit(ctx: ServerContext, client: Client, frame: Frame) -> Answer:
    session_id = str(_text(frame, "session_id", limit=64))
    instruction = str(_text(frame, "instruction"))
    ctx.store.get_session(session_id, tenant=client.tenant)
    with answered_in(reply_language(instruction)):
        image = pick_image(ctx, session_id, _text(frame, "image_id", required=False, limit=64))
        head = ctx.store.head(image.id)
        seed = frame.get("seed")
        options = EditOptions(instruction=instruction, seed=seed if isinstance(seed, int) else None)
        session = SessionTarget(session_id, image.id, head.id, author=f"key:{client.who.key_id}")
        info = submit_edit(ctx, client.tenant, options, input_blob=head.blob, session=session)
    return _follow(ctx, client, info.id)


def _subscribe(ctx: ServerContext, client: Client, frame: Frame) -> Answer:
    return _follow(ctx, client, str(_text(frame, "job_id", limit=64)))


def _unsubscribe(ctx: ServerContext, client: Client, frame: Frame) -> Answer:
    job_id = str(_text(frame, "job_id", limit=64))
    ctx.hub.unsubscribe(client.conn, job_id)
    return {"type": "unsubscribed", "job_id": job_id}


def _join(ctx: ServerContext, client: Client, frame: Frame) -> Answer:
    session_id = str(_text(frame, "session_id", limit=64))
    ctx.store.get_session(session_id, tenant=client.tenant)
    ctx.hub.join(client.conn, session_id)
    active = [
        job_frame(j)
        for j in ctx.queue.list(client.tenant, active_only=True, limit=100)
        if j.params.get("session_id") == session_id
    ]
    return {"type": "joined", "session_id": session_id, "jobs": active}


def _leave(ctx: ServerContext, client: Client, frame: Frame) -> Answer:
    session_id = str(_text(frame, "session_id", limit=64))
    ctx.hub.leave(client.conn, session_id)
    return {"type": "left", "session_id": session_id}


def _jobs(ctx: ServerContext, client: Client, frame: Frame) -> Answer:
    return {"type": "jobs", "jobs": [job_frame(j) for j in ctx.queue.list(client.tenant, limit=50)]}


def _job_status(ctx: ServerContext, client: Client, frame: Frame) -> Answer:
    return job_frame(ctx.queue.get(str(_text(frame, "job_id", limit=64)), client.tenant))


def _cancel(ctx: ServerContext, client: Client, frame: Frame) -> Answer:
    return job_frame(ctx.queue.cancel(str(_text(frame, "job_id", limit=64)), client.tenant))


def _ping(ctx: ServerContext, client: Client, frame: Frame) -> Answer:
    return {"type": "pong"}


def _auth(ctx: ServerContext, client: Client, frame: Frame) -> Answer:
    return {"type": "ready", "tenant": client.tenant}


_HANDLERS: dict[str, Callable[[ServerContext, Client, Frame], Answer]] = {
    "message": _message,
    "edit": _edit,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "join": _join,
    "leave": _leave,
    "jobs": _jobs,
    "job_status": _job_status,
    "cancel": _cancel,
    "ping": _ping,
    "auth": _auth,
}

#: Frames answered on the event loop: in-memory work or one primary-key read, which costs less
#: there than the hop to a worker thread (~0.6 ms of CPU under load; server/deps.py). Frames that
#: write, or read lists, run in a worker thread.
_ON_THE_LOOP = frozenset({"subscribe", "unsubscribe", "leave", "job_status", "ping", "auth"})
