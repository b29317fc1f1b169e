"""Upload limits, enforced while the body streams in, before anything is parsed or decoded.

``UploadLimitMiddleware`` refuses a request whose ``Content-Length`` is over the limit at once
and counts the bytes of the others as they arrive, so a client cannot make the server spool a
huge body to disk by lying about (or omitting) its length. Pixel limits are then checked from
the image header by ``engine.imageio.decode_checked`` before any pixel is decoded, and the
decodes the server process does itself share one ``DecodeBudget``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from fastapi import HTTPException, UploadFile
from PIL import Image
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.imageio import decode_checked, encode_image
from imgedit.errors import BadInputError, InChinese
from server.errors import PayloadTooLargeError

T = TypeVar("T")

# Multipart framing and form fields around the file.
_FORM_OVERHEAD = 64 * 1024


class _TooLarge(HTTPException):
    """Raised from ``receive`` once a body passes the limit. An ``HTTPException``, because
    FastAPI turns any other error while it reads a form into "400 error parsing the body":
    a chunked body (no ``Content-Length``) over the limit must still be a 413."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(413, f"The upload is larger than the {limit_bytes / 1_000_000:g} MB limit.")


class UploadLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes + _FORM_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes - _FORM_OVERHEAD)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        limit_mb = (self.max_bytes - _FORM_OVERHEAD) / 1_000_000
        body = json.dumps(
            {
                "code": PayloadTooLargeError.code,
                "message": f"The upload is larger than the {limit_mb:g} MB limit.",
                "hint": "Send a smaller file, or raise IMGEDIT_MAX_UPLOAD_BYTES on the server.",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def read_upload(file: UploadFile, max_bytes: int) -> bytes:
    """The file's bytes, refusing files over ``max_bytes`` (read in chunks, never all at once)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(1024 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLargeError(
                f"{file.filename or 'The upload'} is larger than the {max_bytes / 1_000_000:g} MB limit."
            )
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        label = file.filename or "The uploaded file"
        raise BadInputError(f"{label} is empty.", zh=InChinese(f"{label} 是空文件。"))
    return data


class Decoder:
    """The thread on which the server process decodes images for requests, one at a time.

    Uploads are checked from their header before anything is decoded, but a small file may
    still decode into a large image (a 143 KB PNG of 7000x7000 pixels is 196 MB decoded), and
    eight such uploads at once took the server from 0.7 to 3.1 GB: each request thread decoded
    its own, side by side. Every full decode the server process does for a request (checking a
    session upload, drawing a thumbnail) runs here instead, so at most one image's pixels are
    held at a time. One thread rather than a pixel budget shared by many: the C allocator keeps
    a pool per thread, so memory freed by one thread's decode was not reused by the next
    thread's and the process grew by one image per thread that ever decoded. Jobs decode in
    their own bounded workers and do not come here.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imgedit-decode")

    def run(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the decoding thread and wait for its result (call from a worker thread)."""
        return self._pool.submit(work).result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def check_image(data: bytes, *, name: str, max_pixels: int, decoder: Decoder) -> None:
    """Check an upload that is stored as it is (a session image): format and size from the
    header, then every pixel decoded once on ``decoder``, so a truncated file is refused now
    rather than stored. Only the decoder's own buffer is held: no orientation, no copy."""
    label = name or "uploaded file"
    decode_checked(data, label, max_pixels=max_pixels, header_only=True).close()
    decoder.run(lambda: decode_checked(data, label, max_pixels=max_pixels).close())


def check_image_header(data: bytes, *, name: str, max_pixels: int) -> None:
    """Format and size from the header only, for uploads a job decodes later anyway.

    Decoding twice (here and in the worker) cost a third of the server's overhead in
    bench/server_load.py; a file whose pixels turn out unreadable fails its job with
    ``bad_input`` instead.
    """
    decode_checked(data, name or "uploaded file", max_pixels=max_pixels, header_only=True).close()


def thumbnail(data: bytes, fmt: str, max_side: int) -> tuple[bytes, str]:
    """``data`` scaled to fit ``max_side``, from a reduced decode where the format has one: a
    JPEG is decoded straight at the smallest scale (1/2 to 1/8) still larger than the thumbnail
    (``Image.draft``), a fraction of its pixels; other formats decode in full."""
    with Image.open(io.BytesIO(data)) as img:
        img.draft(None, (max_side, max_side))  # a no-op for formats without reduced decoding
        img.thumbnail((max_side, max_side))
        out = "JPEG" if fmt == "JPEG" else "PNG"
        return encode_image(img.convert("RGBA") if out == "PNG" else img.convert("RGB"), out), out
