"""The WebSocket connection core that ``/v1/ws`` and ``/v1/figma`` share: frames in, frames out.

Both sockets had their own reading and writing code, and they drifted apart: one bounded its send
queue and the other grew without limit for a client that never read; one answered a binary frame
with an error and the other dropped the connection without a close frame. What every socket
needs is here, once:

- ``read_frame``: the next client frame as a JSON object, or a ``FrameError`` saying what was
  wrong with it (binary, too large, not JSON, nested too deep, a lone surrogate, not an object);
  the socket stays open and the endpoint answers in its own protocol's words.
- ``SendQueue`` and ``send_loop``: one bounded queue per socket and its only writer. ``offer``
  never blocks: when the queue is full the oldest ``progress`` frame goes (a newer one says
  more), and a client that cannot even take the other frames is closed with ``1013``.
  ``put`` waits for room instead, for a producer that can wait (the Figma socket's stream of
  finished items), so a large resume is paced by the client rather than refused.
- ``watch_key``: the key a socket logged in with is re-checked every ``KEY_RECHECK_SECONDS``;
  once revoked the socket is closed with ``KEY_REVOKED`` even if the client sends nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from server.auth import KEY_RECHECK_SECONDS, KeyStore, Principal

SEND_QUEUE_SIZE = 256
#: Close codes: the client is too slow to take its frames (RFC 6455 "try again later"); the key is
#: missing, unknown or revoked at login; the key was revoked while the socket was open.
TRY_AGAIN_LATER = 1013
UNAUTHORIZED = 4401
KEY_REVOKED = 4403
#: Deeper JSON than any protocol frame needs; deeper nesting is refused before it is parsed.
MAX_JSON_DEPTH = 32


class FrameError(Exception):
    """A client frame that cannot be read; ``kind`` is ``binary``, ``too_large`` or ``not_json``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


async def receive_text(websocket: WebSocket) -> str | None:
    """The next text frame, ``None`` for a binary one; raises ``WebSocketDisconnect`` when gone."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    return text if isinstance(text, str) else None


def parse_frame(text: str | None, max_bytes: int) -> dict[str, Any]:
    """``text`` as a JSON object with a string ``type``, or ``FrameError`` saying why not."""
    if text is None:
        raise FrameError("binary", "Frames are JSON text; this one was binary.")
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        raise FrameError("not_json", "The frame holds a lone surrogate; send valid UTF-8 text.") from None
    if size > max_bytes:
        raise FrameError("too_large", f"The frame is {size:,} bytes; the limit is {max_bytes:,}.")
    if _nesting(text) > MAX_JSON_DEPTH:
        raise FrameError("not_json", f"The frame nests deeper than {MAX_JSON_DEPTH} levels.")
    try:
        frame = json.loads(text)
    except ValueError:
        raise FrameError("not_json", 'Frames must be JSON objects with a "type".') from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameError("not_json", 'Frames must be JSON objects with a "type".')
    # A "\ud800" escape decodes to a lone surrogate, text no database or encoder takes.
    if _SURROGATE_ESCAPE.search(text) and _has_surrogate(frame):
        raise FrameError("not_json", "The frame holds a lone surrogate (\\ud800-\\udfff); send valid text.")
    return frame


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _nesting(text: str) -> int:
    """How deep arrays and objects nest in the JSON ``text`` (brackets in strings do not count).

    The scan runs only on frames with many brackets (counted at C speed), so everyday frames
    pay nothing for it.
    """
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return 0
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A frame ready to send: its type (to know what may be dropped) and its JSON text."""

    type: str
    text: str

    @classmethod
    def of(cls, frame: dict[str, Any]) -> Outgoing:
        # The same encoding as Starlette's ``send_json``.
        return cls(frame["type"], json.dumps(frame, ensure_ascii=False, separators=(",", ":")))


@dataclass(frozen=True, slots=True)
class Close:
    """Queued last: the sender closes the socket with ``code`` once it gets here."""

    code: int
    reason: str


class SendQueue:
    """One socket's outgoing frames, bounded; see the module docstring. Use on the socket's loop.

    ``put`` may fill the queue only up to ``size - RESERVED``: the rest is kept for ``offer``,
    so a client that asks something (a ping) while a long stream waits for it is answered
    rather than taken for too slow.
    """

    RESERVED = 64

    def __init__(self, size: int = SEND_QUEUE_SIZE) -> None:
        self.size = size
        self._items: deque[Outgoing | Close] = deque()
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self.closing: Close | None = None

    def __len__(self) -> int:
        return len(self._items)

    @property
    def too_slow(self) -> bool:
        return self.closing is not None and self.closing.code == TRY_AGAIN_LATER

    def offer(self, frame: dict[str, Any] | Outgoing) -> None:
        """Queue ``frame``; never blocks (drops a stale progress frame, or gives up on the client)."""
        if self.closing is not None:
            return
        item = frame if isinstance(frame, Outgoing) else Outgoing.of(frame)
        if len(self._items) >= self.size:
            if item.type == "progress":
                return
            if not self._drop_one_progress():
                self.close(TRY_AGAIN_LATER, "client too slow")
                return
        self._push(item)

    async def put(self, frame: dict[str, Any]) -> None:
        """Queue ``frame``, waiting for room: the producer goes at the pace of the client."""
        while self.closing is None and len(self._items) >= self.size - self.RESERVED:
            self._room.clear()
            await self._room.wait()
        if self.closing is None:
            self._push(Outgoing.of(frame))

    def close(self, code: int, reason: str) -> None:
        """Have the sender close the socket (at once: frames still queued are not sent)."""
        if self.closing is not None:
            return
        self.closing = Close(code, reason)
        self._items.clear()
        self._push(self.closing)
        self._room.set()  # a waiting ``put`` returns (and queues nothing)

    async def get(self) -> Outgoing | Close:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        item = self._items.popleft()
        if len(self._items) < self.size - self.RESERVED:
            self._room.set()
        return item

    def _push(self, item: Outgoing | Close) -> None:
        self._items.append(item)
        self._ready.set()

    def _drop_one_progress(self) -> bool:
        for index, item in enumerate(self._items):
            if isinstance(item, Outgoing) and item.type == "progress":
                del self._items[index]
                return True
        return False


async def send_loop(websocket: WebSocket, queue: SendQueue) -> None:
    """The only writer of the socket: sends the queue in order, and closes it when asked."""
    while True:
        item = await queue.get()
        if isinstance(item, Close):
            await websocket.close(code=item.code, reason=item.reason)
            return
        await websocket.send_text(item.text)  # encoded once per publish, in the hub


async def wind_up(queue: SendQueue, sender: asyncio.Task[None], *others: asyncio.Task[None]) -> None:
    """End a socket's tasks once its reading stopped. A close the queue asked for is sent first
    (websockets bounds how long that may take), so the client learns why."""
    if queue.closing is not None:
        await asyncio.gather(sender, return_exceptions=True)
    for task in (sender, *others):
        task.cancel()
    # A task that ended on its own (the client vanished mid-send) re-raises here: that is the
    # client leaving, not an error of ours.
    await asyncio.gather(sender, *others, return_exceptions=True)


async def watch_key(keys: KeyStore, who: Principal, queue: SendQueue) -> None:
    """Close the socket with ``KEY_REVOKED`` once ``who``'s key is revoked, even if it is idle."""
    while queue.closing is None:
        await asyncio.sleep(KEY_RECHECK_SECONDS)
        if not keys.still_active(who):
            queue.close(KEY_REVOKED, "API key revoked")
            return
