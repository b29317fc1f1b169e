"""``/v1/figma``: the Figma bridge's WebSocket, and its image uploads and downloads over HTTP.

The protocol is plugins/figma_bridge/PROTOCOL.md. A restyle of many fills is one job on the
scheduler (kind ``figma``, see ``jobs/figma.py``). The socket does not relay job events
one by one: each event only marks its job "dirty", and one task per connection then compares
the job's state in the database (status, finished images) with what this connection has
already sent, and sends the difference. That makes the frames right however events race with
submission, and makes a resume after reconnecting the same code path as a live job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from imgedit.errors import BadInputError, ImgEditError, NotFoundError
from jobs.figma import (
    FIGMA,
    JOB_KIND,
    FigmaItem,
    figma_params,
    image_header,
    job_results,
    missing_uploads,
    record_upload,
    result_bytes,
)
from server.auth import Principal
from server.context import ServerContext, ws_ctx
from server.deps import Caller, Ctx, client_address, login, login_close_code
from server.events import MAX_FOLLOWED
from server.figma_protocol import (
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    Cancel,
    Hello,
    Restyle,
    Resume,
    describe_validation,
    error_frame,
    item_frame,
    job_status_frame,
    welcome_frame,
)
from server.scheduler import JobEvent, JobInfo
from server.sockets import (
    KEY_REVOKED,
    UNAUTHORIZED,
    FrameError,
    SendQueue,
    parse_frame,
    receive_text,
    send_loop,
    watch_key,
    wind_up,
)
from server.uploads import read_upload

__all__ = ["router"]

log = logging.getLogger("imgedit.server.figma")
router = APIRouter(tags=["figma"])

HELLO_TIMEOUT = 10.0
CLOSE_BAD_PROTOCOL = 4400
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}


# -- HTTP: images up and down ---------------------------------------------------------------------


@router.post("/v1/figma/uploads", summary="Upload one image of a Figma fill (multipart `file`)")
async def upload(
    ctx: Ctx, who: Caller, file: Annotated[UploadFile, File(description="PNG or JPEG.")]
) -> dict[str, Any]:
    """Returns ``{"upload_id"}`` (the sha256 of the bytes) to name the image in a ``restyle`` frame."""
    data = await read_upload(file, ctx.settings.max_upload_bytes)

    def store() -> dict[str, Any]:
        fmt, width, height = image_header(data, max_pixels=ctx.settings.max_image_pixels)
        blob = ctx.store.blobs.put(data)
        record_upload(ctx.db, who.tenant, blob, fmt, width, height)
        return {"upload_id": blob, "width": width, "height": height, "format": fmt, "bytes": len(data)}

    return await run_in_threadpool(store)


@router.get(
    "/v1/figma/jobs/{job_id}/results/{upload_id}",
    summary="The edited image for one upload of a job",
    response_class=Response,
    responses={200: {"content": {media_type: {} for media_type in MEDIA_TYPES.values()}}},
)
def result(ctx: Ctx, who: Caller, job_id: str, upload_id: str) -> Response:
    info = ctx.queue.get(job_id, who.tenant)  # 404 for another tenant's job
    if info.kind != JOB_KIND:
        raise NotFoundError(f"No Figma job '{job_id}'.")
    data, fmt = result_bytes(ctx.db, ctx.store, job_id, upload_id)
    return Response(data, media_type=MEDIA_TYPES.get(fmt, "application/octet-stream"))


# -- the WebSocket --------------------------------------------------------------------------------


@dataclass
class _Followed:
    """One job this connection reports on, and what it has already sent about it."""

    items: list[dict[str, Any]]
    sent: set[str] = field(default_factory=set)
    done: int = -1
    status: str | None = None


class _Rejected(Exception):
    """The client broke the protocol in a way that ends the connection (bad key or version)."""

    def __init__(self, frame: dict[str, Any], close_code: int) -> None:
        self.frame = frame
        self.close_code = close_code


class FigmaConnection:
    """One plugin panel's socket: reads its frames, follows its jobs, writes frames in order.

    Reading, the bounded send queue, its writer and the key watch are the connection core it
    shares with ``/v1/ws`` (server/sockets.py).
    """

    def __init__(self, websocket: WebSocket, ctx: ServerContext) -> None:
        self.websocket = websocket
        self.ctx = ctx
        self.who: Principal | None = None
        self.out = SendQueue()
        self.followed: dict[str, _Followed] = {}
        self.dirty: set[str] = set()
        self.wake = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    # -- lifecycle -----------------------------------------------------------------------------

    async def run(self) -> None:
        token = self.websocket.query_params.get("token")
        await self.websocket.accept()
        try:
            if token is not None:
                await self._login(token)
            else:
                await self._await_hello()
        except WebSocketDisconnect:
            return
        except _Rejected as rejected:
            await self.websocket.send_json(rejected.frame)
            await self.websocket.close(code=rejected.close_code)
            return
        assert self.who is not None
        unsubscribe = self.ctx.queue.subscribe(self._on_event)
        sender = asyncio.create_task(send_loop(self.websocket, self.out))
        watcher = asyncio.create_task(watch_key(self.ctx.keys, self.who, self.out))
        syncer = asyncio.create_task(self._sync_loop())
        try:
            await self._receive_loop()
        finally:
            unsubscribe()
            await wind_up(self.out, sender, watcher, syncer)

    async def _await_hello(self) -> None:
        try:
            frame: dict[str, Any] | None = parse_frame(
                await asyncio.wait_for(receive_text(self.websocket), HELLO_TIMEOUT), MAX_FRAME_BYTES
            )
        except (TimeoutError, FrameError):
            frame = None
        if frame is None or frame["type"] not in ("hello", "auth"):
            raise _Rejected(
                error_frame(
                    "unauthorized",
                    'Say hello first: {"type": "hello", "protocol": 1, "token": KEY}.',
                    hint="Create a key with `imgedit keys create --tenant NAME`.",
                ),
                UNAUTHORIZED,
            )
        hello = self._hello(frame)
        await self._login(hello.token)

    def _hello(self, frame: dict[str, Any]) -> Hello:
        try:
            hello = Hello.model_validate(frame)
        except ValidationError as exc:
            raise _Rejected(
                error_frame("unauthorized", f"The hello frame is not valid: {describe_validation(exc)}."),
                UNAUTHORIZED,
            ) from None
        if hello.protocol != PROTOCOL_VERSION:
            raise _Rejected(
                error_frame(
                    "unsupported_protocol",
                    f"This service speaks protocol {PROTOCOL_VERSION}, not {hello.protocol}.",
                    hint="Update the Figma plugin or the service so that both speak the same version.",
                ),
                CLOSE_BAD_PROTOCOL,
            )
        return hello

    async def _login(self, token: str | None) -> None:
        try:
            who = await run_in_threadpool(login, self.ctx, token, client_address(self.websocket))
        except ImgEditError as exc:
            hint = "Create a key with `imgedit keys create --tenant NAME` and paste it in the panel."
            message = "The API key is missing, unknown or revoked."
            if exc.code != "unauthorized":
                message, hint = exc.message, exc.hint or hint
            raise _Rejected(error_frame(exc.code, message, hint=hint), login_close_code(exc)) from None
        self.who = who
        await self.websocket.send_json(welcome_frame(who.tenant))

    async def _receive_loop(self) -> None:
        # Once the send queue is closing (client too slow, key revoked) nothing more is read.
        while self.out.closing is None:
            try:
                text = await receive_text(self.websocket)
            except WebSocketDisconnect:
                return
            try:
                frame = parse_frame(text, MAX_FRAME_BYTES)
            except FrameError as exc:
                self.send(_frame_error(exc))
                continue
            await self._dispatch(frame)

    async def _dispatch(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        handler = _HANDLERS.get(kind)
        request_id = frame.get("request_id") if isinstance(frame.get("request_id"), str) else None
        if handler is None:
            self.send(
                error_frame(
                    "unknown_type",
                    f"Unknown frame type '{kind}'.",
                    hint="Protocol 1 knows: " + ", ".join(sorted(_HANDLERS)) + ".",
                    request_id=request_id,
                )
            )
            return
        who = self.who
        assert who is not None
        if kind not in ("ping", "hello", "auth") and not self.ctx.keys.still_active(who):
            self.out.close(KEY_REVOKED, "API key revoked")
            return
        try:
            await handler(self, frame)
        except ValidationError as exc:
            self.send(
                error_frame(
                    "invalid_message",
                    f"The '{kind}' frame is not valid: {describe_validation(exc)}.",
                    request_id=request_id,
                )
            )
        except _Rejected as rejected:
            self.send(rejected.frame)
        except ImgEditError as exc:
            frame = {"type": "error", **exc.to_dict()}
            if request_id:
                frame["request_id"] = request_id
            self.send(frame)
        except Exception:
            log.exception("figma frame %s failed", kind)
            self.send(error_frame("internal_error", "Something went wrong on our side; it has been logged."))

    # -- frames in ------------------------------------------------------------------------------

    async def on_hello(self, frame: dict[str, Any]) -> None:
        self._hello(frame)
        assert self.who is not None
        self.send(welcome_frame(self.who.tenant))

    async def on_ping(self, frame: dict[str, Any]) -> None:
        self.send({"type": "pong"})

    async def on_restyle(self, frame: dict[str, Any]) -> None:
        request = Restyle.model_validate(frame)
        who = self.who
        assert who is not None
        self.ctx.limiter.check(who.key_id)
        self._check_room(None)
        info = await run_in_threadpool(self._submit, who, request)
        items = [item.model_dump() for item in request.items]
        # A request_id seen before names a job that may have finished: then replay it in full.
        self.followed[info.id] = _Followed(items=items, status=None if info.finished else info.status)
        self.send(
            {
                "type": "accepted",
                "request_id": request.request_id,
                "job_id": info.id,
                "items": len(items),
                "images": len({item["upload_id"] for item in items}),
                "status": info.status,
            }
        )
        self._mark_dirty(info.id)

    def _submit(self, who: Principal, request: Restyle) -> JobInfo:
        missing = missing_uploads(self.ctx.db, who.tenant, (item.upload_id for item in request.items))
        if missing:
            raise NotFoundError(
                f"Unknown upload id(s): {', '.join(m[:12] + '…' for m in missing[:5])}.",
                hint="Upload each image with POST /v1/figma/uploads first and use the upload_id it returns.",
            )
        params = figma_params(
            self.ctx.editors,
            engine=request.engine or self.ctx.settings.engine,
            theme=request.theme,
            instruction=request.instruction,
            seed=request.seed,
            items=[FigmaItem.model_validate(item.model_dump()) for item in request.items],
        )
        return self.ctx.queue.submit_job(
            FIGMA, params, tenant=who.tenant, idempotency_key=f"figma:{request.request_id}"
        )

    async def on_cancel(self, frame: dict[str, Any]) -> None:
        request = Cancel.model_validate(frame)
        who = self.who
        assert who is not None
        self.ctx.limiter.check(who.key_id)
        info = await run_in_threadpool(self._figma_job, request.job_id, who.tenant)
        info = await run_in_threadpool(self.ctx.queue.cancel, info.id, who.tenant)
        if info.id in self.followed:
            self._mark_dirty(info.id)  # the final "job" frame comes from the sync loop
        else:
            total = len(FIGMA.parse(info.params).items)
            self.send(job_status_frame(info, info.progress_done, total))

    async def on_resume(self, frame: dict[str, Any]) -> None:
        request = Resume.model_validate(frame)
        who = self.who
        assert who is not None
        self.ctx.limiter.check(who.key_id)
        self._check_room(request.job_id)
        info = await run_in_threadpool(self._figma_job, request.job_id, who.tenant)
        items = [item.model_dump() for item in FIGMA.parse(info.params).items]
        known = {item["item_id"] for item in items}
        results = await run_in_threadpool(job_results, self.ctx.db, info.id)
        done = _items_done(items, results)
        self.followed[info.id] = _Followed(items=items, sent=set(request.have) & known, done=done)
        self.send(
            {"type": "resumed", "job_id": info.id, "status": info.status, "done": done, "total": len(items)}
        )
        self._mark_dirty(info.id)

    def _check_room(self, job_id: str | None) -> None:
        if job_id not in self.followed and len(self.followed) >= MAX_FOLLOWED:
            raise BadInputError(
                f"A connection follows at most {MAX_FOLLOWED} jobs at once; wait for some to finish."
            )

    def _figma_job(self, job_id: str, tenant: str) -> JobInfo:
        info = self.ctx.queue.get(job_id, tenant)
        if info.kind != JOB_KIND:
            raise NotFoundError(f"No Figma job '{job_id}'.")
        return info

    # -- frames out -----------------------------------------------------------------------------

    def send(self, frame: dict[str, Any]) -> None:
        """Queue an answer; never blocks (a client that cannot take it is closed, 1013)."""
        self.out.offer(frame)

    def _on_event(self, event: JobEvent) -> None:
        """Called on a worker thread for every job event; only hands the job id to our loop."""
        if self.who is not None and event.job.tenant == self.who.tenant and event.job.kind == JOB_KIND:
            with contextlib.suppress(RuntimeError):  # our loop is closed: the socket is gone
                self.loop.call_soon_threadsafe(self._mark_dirty, event.job.id)

    def _mark_dirty(self, job_id: str) -> None:
        if job_id in self.followed:
            self.dirty.add(job_id)
            self.wake.set()

    async def _sync_loop(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.dirty:
                job_id = self.dirty.pop()
                followed = self.followed.get(job_id)
                if followed is not None:
                    await self._sync(job_id, followed)

    async def _sync(self, job_id: str, followed: _Followed) -> None:
        """Send what changed since the last sync: finished items, then progress, then status."""
        assert self.who is not None
        tenant = self.who.tenant

        def load() -> tuple[JobInfo, dict[str, Any]]:
            info = self.ctx.queue.get(job_id, tenant)  # status first: results are committed before it
            return info, job_results(self.ctx.db, job_id)

        info, results = await run_in_threadpool(load)
        for item in followed.items:
            if item["item_id"] not in followed.sent and item["upload_id"] in results:
                followed.sent.add(item["item_id"])
                await self.out.put(item_frame(job_id, item, results[item["upload_id"]]))
        done = _items_done(followed.items, results)
        total = len(followed.items)
        if done > max(followed.done, 0):
            followed.done = done
            self.out.offer({"type": "progress", "job_id": job_id, "done": done, "total": total})
        if info.status != followed.status:
            followed.status = info.status
            await self.out.put(job_status_frame(info, max(done, 0), total))
        if info.finished:
            self.followed.pop(job_id, None)


def _frame_error(exc: FrameError) -> dict[str, Any]:
    """The protocol's answer to a frame that cannot be read; the socket stays open."""
    if exc.kind == "too_large":
        return error_frame(
            "frame_too_large",
            exc.message,
            hint="Send image bytes over HTTP (POST /v1/figma/uploads) and their ids in frames, "
            "or split the selection into several requests.",
        )
    return error_frame("bad_json", exc.message)


def _items_done(items: list[dict[str, Any]], results: dict[str, Any]) -> int:
    return sum(1 for item in items if item["upload_id"] in results)


_HANDLERS = {
    "hello": FigmaConnection.on_hello,
    "auth": FigmaConnection.on_hello,
    "ping": FigmaConnection.on_ping,
    "restyle": FigmaConnection.on_restyle,
    "cancel": FigmaConnection.on_cancel,
    "resume": FigmaConnection.on_resume,
}


@router.websocket("/v1/figma")
async def figma_socket(websocket: WebSocket) -> None:
    await FigmaConnection(websocket, ws_ctx(websocket)).run()
