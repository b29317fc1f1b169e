"""HTTP answers for stored bytes (job results): from memory, streamed, or a presigned redirect.

One place decides how a blob leaves the server, whichever store holds it: a small blob is sent
from memory; a large one (a deck) is streamed, from its file or in chunks from S3, never read
whole into memory; and with ``IMGEDIT_PRESIGNED_RESULTS`` on an S3 store the client is
redirected to a presigned URL and fetches the bytes from the store itself.
"""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from imgedit.config import Settings
from sessions.blobs import BlobStore, FileBlobStore

#: Blobs up to this size are sent from memory, larger ones streamed.
INLINE_BYTES = 8 * 1024 * 1024


async def blob_response(
    blobs: BlobStore,
    digest: str,
    settings: Settings,
    *,
    media_type: str,
    headers: dict[str, str],
) -> Response:
    """The blob as an HTTP answer; ``NotFoundError`` (a 404) when it is missing."""
    if settings.presigned_results:
        url = blobs.presigned_url(
            digest,
            media_type=media_type,
            disposition=headers.get("Content-Disposition", "inline"),
            seconds=settings.presigned_seconds,
        )
        if url is not None:
            return RedirectResponse(url, status_code=307)
    if isinstance(blobs, FileBlobStore):
        # A page-cache read costs less on the event loop than the hop to a worker thread.
        path = blobs.path(digest)
        if path.is_file() and path.stat().st_size > INLINE_BYTES:
            return FileResponse(path, media_type=media_type, headers=headers)
        return Response(blobs.get(digest), media_type=media_type, headers=headers)
    # A remote store: every call is a network round trip, so it runs off the event loop.
    size = await run_in_threadpool(blobs.size, digest)
    if size > INLINE_BYTES:
        return StreamingResponse(
            blobs.stream(digest), media_type=media_type, headers={**headers, "Content-Length": str(size)}
        )
    return Response(await run_in_threadpool(blobs.get, digest), media_type=media_type, headers=headers)
