"""Warming the editor up when the server starts, and what ``/healthz`` says meanwhile.

Loading Qwen-Image-Edit (58 GB) and compiling its transformer takes minutes; done inside the first
request it made that user wait and held the load lock under every request behind it. The server
starts the editor's one warm-up entry point (``Editor.warm_up``) in a thread as it starts, keeps
answering HTTP, and ``/healthz`` answers 503 ``loading`` until the warm-up is over, so a load
balancer sends no traffic to a server that is not ready. Jobs accepted meanwhile wait for the
pipeline in the queue. Checks that need no weights (the model folder, the preset and its LoRA)
run in ``create_app``, before anything starts, so a wrong setting stops the start with its message.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Literal

from engine import Editor
from imgedit.errors import ImgEditError

#: uvicorn's own log (start-up lines, errors): where an operator watching the server looks.
log = logging.getLogger("uvicorn.error")

Readiness = Literal["ok", "loading", "failed"]


class WarmUpState:
    """Whether the server's editor is warm; ``ok`` when there is nothing to warm."""

    def __init__(self) -> None:
        self.status: Readiness = "ok"
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    def start(self, editor: Editor) -> None:
        """Warm ``editor`` up in a background thread (its settings were checked by ``create_app``)."""
        if not editor.warms_up():
            return
        self.status = "loading"
        self._thread = threading.Thread(target=self._run, args=(editor,), name="qwen-warm-up", daemon=True)
        self._thread.start()

    def _run(self, editor: Editor) -> None:
        started = time.perf_counter()
        log.info("Warming up the qwen model; /healthz says 'loading' until it is ready.")
        try:
            editor.warm_up(progress=lambda stage, message: log.info("qwen %s: %s", stage, message))
        except (ImgEditError, RuntimeError, OSError, ValueError) as exc:
            # Out of GPU memory is a RuntimeError; the server stays up to say so on /healthz.
            self.error = exc.message if isinstance(exc, ImgEditError) else f"{type(exc).__name__}: {exc}"
            self.status = "failed"
            log.error("qwen warm-up failed: %s", self.error)
            return
        self.status = "ok"
        log.info("qwen model ready after %.1fs", time.perf_counter() - started)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
